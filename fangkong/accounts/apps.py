from django.utils.translation import gettext_lazy as _

from fangkong.core.registry import FangkongApp


class AccountsConfig(FangkongApp):
    name = "fangkong.accounts"
    label = "accounts"
    verbose_name = _("Accounts")
    url_prefix = "accounts/"
    api_prefix = "/me"

    def ready(self):
        super().ready()
        from . import throttle  # noqa: F401  (connects the failed-login counter)
