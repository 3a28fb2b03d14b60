from django.utils.translation import gettext_lazy as _

from fangkong.core.registry import FangkongApp, Nav


def _hotline_visible(user) -> bool:
    from .permissions import can_hotline_counts, hotline_role

    return can_hotline_counts(user) or hotline_role(user) is not None


class ReliefConfig(FangkongApp):
    name = "fangkong.relief"
    label = "relief"
    verbose_name = _("Relief")
    url_prefix = "relief/"
    api_prefix = "/relief"
    # Care and the hotline in a module of their own (fangkong/relief/api_care.py).
    api_routers = (("/relief", "fangkong.relief.api_care.router"),)
    nav = (
        Nav(_("Ask for help"), "relief:mine", "relief.request_help", order=6),
        Nav(_("Needs"), "relief:queue", "relief.triage", order=35),
        Nav(_("My deliveries"), "relief:tasks", "relief.deliver", order=36),
        Nav(_("Check-ins"), "relief:care", "relief.check_in", order=37),
        Nav(_("Supplies"), "relief:supplies", "relief.read_stock", order=38),
        Nav(_("Hotline"), "relief:hotline", _hotline_visible, order=39),
        Nav(_("Relief numbers"), "relief:numbers", "relief.read_numbers", order=75),
    )
    admin = (
        Nav(
            _("Supply points"),
            "relief:supplies",
            "relief.manage_stock",
            order=70,
            hint=_("Stock arrivals, donations and stocktakes; low levels by policy"),
        ),
        Nav(
            _("Plan care"),
            "relief:care_plan",
            "relief.plan_care",
            order=71,
            hint=_("Check-in schedules from the roster's tags; care packages"),
        ),
    )
    demo_steps = (("demo_relief", "--if-empty"),)
    # The worker's phone (workforce's "my duty" page): their open deliveries.
    panels = {"workforce.me": "fangkong.relief.panels.worker_tasks"}

    def ready(self) -> None:
        super().ready()
        from django.db.models.signals import post_delete, post_migrate, post_save

        from .categories import ensure_builtin, forget

        post_migrate.connect(ensure_builtin, sender=self, dispatch_uid="relief.builtin_categories")
        post_save.connect(forget, sender="relief.Category", dispatch_uid="relief.category_saved")
        post_delete.connect(forget, sender="relief.Category", dispatch_uid="relief.category_gone")
