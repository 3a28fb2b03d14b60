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
