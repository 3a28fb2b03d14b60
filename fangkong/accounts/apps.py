from django.utils.translation import gettext_lazy as _

from fangkong.core.registry import FangkongApp, Nav


class AccountsConfig(FangkongApp):
    name = "fangkong.accounts"
    label = "accounts"
    verbose_name = _("Accounts")
    url_prefix = "accounts/"
    api_prefix = "/me"
    # Every device may ask who it is.
    token_scopes = {"upload": [("GET", "api/v1/me")], "results": [("GET", "api/v1/me")]}
    api_routers = (("/users", "fangkong.accounts.api_users.router"),)
    admin = (
        Nav(
            _("Users and roles"),
            "accounts:users",
            "accounts.manage_users",
            order=20,
            hint=_("Accounts of the roles below yours: areas, passwords, tokens, disabling"),
        ),
    )

    def ready(self):
        super().ready()
        from . import throttle  # noqa: F401  (connects the failed-login counter)
