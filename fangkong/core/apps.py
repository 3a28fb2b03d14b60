from django.utils.translation import gettext_lazy as _

from .registry import FangkongApp, Nav


class CoreConfig(FangkongApp):
    name = "fangkong.core"
    label = "core"
    verbose_name = _("Core")
    url_prefix = ""
    api_prefix = "/audit"
    api_routers = (("/notifications", "fangkong.core.api_notifications.router"),)
    nav = (Nav(_("Audit log"), "core:audit", "core.read_audit", order=900),)

    def ready(self):
        super().ready()
        from . import lookups  # noqa: F401  (registers field lookups)
