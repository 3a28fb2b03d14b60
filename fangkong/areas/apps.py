from django.utils.translation import gettext_lazy as _

from fangkong.core.registry import FangkongApp, Nav
from fangkong.core.roles import STAFF_ROLES, Role


class AreasConfig(FangkongApp):
    name = "fangkong.areas"
    label = "areas"
    verbose_name = _("Areas")
    url_prefix = "areas/"
    api_prefix = "/areas"
    nav = (
        Nav(
            _("Areas"),
            "areas:browse",
            "areas.browse",
            order=10,
            home_for=STAFF_ROLES - {Role.SAMPLER},
        ),
    )
