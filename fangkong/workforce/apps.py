from django.utils.translation import gettext_lazy as _

from fangkong.core.registry import FangkongApp, Nav
from fangkong.core.roles import Role


def _sees_workers(user) -> bool:
    from .permissions import can_read_workers

    return can_read_workers(user) and user.role != Role.WORKER


def _is_liaison(user) -> bool:
    from .jurisdiction import is_liaison

    return is_liaison(user)


class WorkforceConfig(FangkongApp):
    name = "fangkong.workforce"
    label = "workforce"
    verbose_name = _("Workforce")
    url_prefix = "workforce/"
    api_prefix = "/workforce"
    api_routers = (("/workforce", "fangkong.workforce.api_duty.router"),)
    nav = (
        Nav(
            _("My duty"),
            "workforce:me",
            "workforce.check_in",
            order=8,
            home_for=frozenset({Role.WORKER}),
        ),
        Nav(_("Workers"), "workforce:workers", _sees_workers, order=80),
        Nav(_("Organ staff"), "workforce:workers", _is_liaison, order=81),
        Nav(_("Staffing"), "workforce:requests", "workforce.request_staff", order=82),
        Nav(_("Posts and rota"), "workforce:posts", "workforce.manage_posts", order=83),
        Nav(_("Call-outs"), "workforce:callouts", "workforce.call_out", order=84),
        Nav(_("Workforce numbers"), "workforce:numbers", "workforce.read_numbers", order=85),
    )
    demo_steps = (("demo_workforce", "--if-empty"),)
