from django.utils.translation import gettext_lazy as _

from fangkong.core.registry import FangkongApp, Nav
from fangkong.core.roles import STAFF_ROLES, Role

from .permissions import can_manage_areas, can_manage_grids


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
    admin = (
        Nav(
            _("Areas and grids"),
            "areas:manage_home",
            lambda user: can_manage_areas(user) or can_manage_grids(user),
            order=10,
            hint=_("Add, rename, move and retire areas; draw grids and name their keepers"),
        ),
        Nav(
            _("Import a division list"),
            "areas:import",
            "areas.manage_areas",
            order=15,
            hint=_("Streets, communities, compounds and buildings from a spreadsheet"),
        ),
    )
