from django.utils.translation import gettext_lazy as _

from .registry import FangkongApp, Nav, may_administer


class CoreConfig(FangkongApp):
    name = "fangkong.core"
    label = "core"
    verbose_name = _("Core")
    url_prefix = ""
    api_prefix = "/audit"
    api_routers = (
        ("/notifications", "fangkong.core.api_notifications.router"),
        ("/policies", "fangkong.core.api_policies.router"),
    )
    nav = (
        Nav(_("Administration"), "core:administration", may_administer, order=850),
        Nav(_("Audit log"), "core:audit", "core.read_audit", order=900),
    )
    admin = (
        Nav(
            _("Policies"),
            "core:policies",
            "core.manage_policies",
            order=90,
            hint=_("Pool sizes, deadlines, SLAs, quotas: the value in force and its history"),
        ),
    )

    def ready(self):
        super().ready()
        from . import lookups  # noqa: F401  (registers field lookups)
