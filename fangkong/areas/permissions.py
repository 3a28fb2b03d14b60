"""What the areas app lets roles do."""

from fangkong.core.permissions import permission
from fangkong.core.roles import STAFF_ROLES, Role

can_browse_areas = permission(
    "areas.browse", STAFF_ROLES, "Browse the area tree of one's jurisdiction."
)
can_declare_zone = permission(
    "areas.declare_zone",
    {Role.COMMAND},
    "Declare and lift sealed, controlled and prevention zones.",
)
can_manage_areas = permission(
    "areas.manage_areas",
    {Role.COMMAND, Role.STREET, Role.COMMUNITY},
    "Add, rename, move and retire areas under one's own jurisdiction.",
)
can_add_buildings = permission(
    "areas.add_buildings",
    {Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.GRID},
    "Add a building or a household address met on a roster or a registration.",
)
can_manage_grids = permission(
    "areas.manage_grids",
    {Role.COMMAND, Role.STREET, Role.COMMUNITY},
    "Draw buildings into grids and name their keepers.",
)
