from django.utils.translation import gettext_lazy as _

from fangkong.core.registry import FangkongApp, Nav
from fangkong.core.roles import Role

from .permissions import can_close_home_task, can_read_coverage, can_run_round

# Those who knock on doors but do not plan them: their own tasks are a menu entry.
_DOOR_KNOCKERS = frozenset({Role.SAMPLER, Role.WORKER, Role.BUILDING, Role.GRID})


class TestingConfig(FangkongApp):
    name = "fangkong.testing"
    label = "testing"
    verbose_name = _("Mass testing")
    url_prefix = "testing/"
    api_prefix = "/testing"
    nav = (
        Nav(
            _("Testing rounds"),
            "testing:rounds",
            lambda user: can_read_coverage(user) or can_run_round(user),
            order=40,
        ),
        Nav(
            _("Sampling"),
            "testing:sampler",
            "testing.sample",
            order=45,
            home_for=frozenset({Role.SAMPLER}),
        ),
        Nav(
            _("My door-to-door tasks"),
            "testing:my_tasks",
            lambda user: user.role in _DOOR_KNOCKERS and can_close_home_task(user),
            order=46,
        ),
    )
    demo_steps = (("demo_round", "--if-empty"),)
    token_scopes = {
        "upload": [
            ("POST", "api/v1/testing/uploads"),
            ("GET", "api/v1/testing/sampler-config"),
        ]
    }
