"""What the mass-testing app lets roles do."""

from fangkong.core.permissions import permission
from fangkong.core.roles import Role
from fangkong.core.sight import sight

_RESIDENT_EDITORS = {Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.GRID, Role.BUILDING}
_DOOR_TO_DOOR = {Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.GRID}

_SAMPLERS = {Role.SAMPLER, Role.COMMUNITY, Role.COMMAND}
_HOME_SAMPLERS = _DOOR_TO_DOOR | {Role.BUILDING, Role.SAMPLER, Role.WORKER}

# What the roles may see here (core.sight).
SCAN_CONFIRM = sight(
    "testing.scan_confirm",
    _SAMPLERS,
    "The one person a scanned code or typed number resolves to, as a sampler confirms them: "
    "masked name (张*三) and masked ID; never a list",
    where="POST /api/v1/testing/uploads (the answer), the sampler page",
)
HOME_TASKS = sight(
    "testing.home_tasks",
    _HOME_SAMPLERS,
    "Door-to-door sampling tasks of one's jurisdiction: the door (unit, room) and who is due there",
    where="GET /api/v1/testing/rounds/{id}/home-tasks, the home-task pages",
)

can_run_round = permission(
    "testing.run_round", {Role.COMMAND}, "Launch, edit and close testing rounds."
)
can_manage_sites = permission(
    "testing.manage_sites",
    {Role.COMMAND, Role.STREET, Role.COMMUNITY},
    "Create sampling sites and channels; open, pause and close them.",
)
can_sample = permission(
    "testing.sample",
    SCAN_CONFIRM.roles,
    "Upload scans from a sampling device (sites of one's jurisdiction only).",
)
can_read_coverage = permission(
    "testing.read_coverage",
    _RESIDENT_EDITORS | {Role.INSPECTOR},
    "Counts of expected, sampled and exempt residents; the not-yet-sampled lists.",
)
can_exempt = permission(
    "testing.exempt",
    _RESIDENT_EDITORS,
    "Record or end an exemption from a round (away, in hospital, isolated).",
)
can_plan_home_sampling = permission(
    "testing.plan_home_sampling", _DOOR_TO_DOOR, "Make and assign door-to-door tasks."
)
can_close_home_task = permission(
    "testing.close_home_task",
    HOME_TASKS.roles,
    "Close a door-to-door task with the tube used.",
)
