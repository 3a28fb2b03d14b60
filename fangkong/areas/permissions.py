"""What the areas app lets roles do."""

from fangkong.core.permissions import permission
from fangkong.core.roles import STAFF_ROLES, Role
from fangkong.core.sight import sight

# What the roles may see here (core.sight). The tree itself (names, codes, counts, zones)
# is not personal; a building's doors are, with the roster that says who lives there.
AREA_TREE = sight(
    "areas.tree",
    STAFF_ROLES,
    "The area tree of one's jurisdiction: names, codes, counts of households and "
    "residents, zones in force",
    where="/areas/, GET /api/v1/areas/",
)
HOUSEHOLDS = sight(
    "areas.households",
    {Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.GRID, Role.BUILDING, Role.INSPECTOR},
    "A building's households room by room (unit, room, how many live there)",
    where="/areas/<building>/, GET /api/v1/areas/{building}",
)

can_browse_areas = permission(
    "areas.browse", AREA_TREE.roles, "Browse the area tree of one's jurisdiction."
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
