from django.utils.translation import gettext_lazy as _

from fangkong.core.registry import FangkongApp, Nav
from fangkong.core.roles import Role

from .permissions import can_read_coverage, can_run_match, can_screen, can_trace


class ScreeningConfig(FangkongApp):
    name = "fangkong.screening"
    label = "screening"
    verbose_name = _("Screening and exposure")
    url_prefix = "screening/"
    api_prefix = "/screening"
    nav = (
        Nav(
            _("Trace tasks"),
            "screening:tasks",
            "screening.trace",
            order=35,
        ),
        Nav(
            _("Household screening"),
            "screening:campaigns",
            lambda user: can_screen(user) or can_read_coverage(user),
            order=36,
        ),
        Nav(
            _("Exposure"),
            "screening:exposure",
            lambda user: can_run_match(user) or (can_trace(user) and user.role == Role.COMMAND),
            order=37,
        ),
    )
    # A person's control status on the people app's resident page (fangkong/core/registry.py
    # `panels`): people never imports screening; the page asks the registry for its panels.
    panels = {"people.resident": "fangkong.screening.panels.resident_status"}
    demo_steps = (("demo_screening", "--if-empty"),)
