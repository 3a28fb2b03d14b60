"""What the screening app lets roles do. Trace tasks and control statuses are personal
data: every right below is exercised inside the holder's jurisdiction only."""

from fangkong.core.permissions import permission
from fangkong.core.roles import Role
from fangkong.core.sight import sight

_OFFICES = {Role.COMMAND, Role.STREET, Role.COMMUNITY}
_DOORSTEP = _OFFICES | {Role.GRID, Role.BUILDING}

# What the roles may see here (core.sight).
STATUS = sight(
    "screening.status",
    _OFFICES | {Role.GRID},
    "People's control statuses (sealed at home, centralised isolation …) and their history",
    where="the status panel of /people/<id>/, /screening/people/<id>/, "
    "GET /api/v1/screening/residents/{id}/status",
)
TRACE = sight(
    "screening.trace",
    _OFFICES | {Role.GRID},
    "Trace tasks: close contacts to reach, their numbers, attempts and deadlines",
    where="/screening/, /screening/tasks/<id>/, GET /api/v1/screening/tasks, "
    "GET /api/v1/screening/unidentified-contacts",
)

can_read_status = permission(
    "screening.read_status",
    STATUS.roles,
    "A person's control status and its history (residents and people found).",
)
can_set_status = permission(
    "screening.set_status",
    _OFFICES,
    "Change a person's control status, with a reason on record.",
)
can_register_person = permission(
    "screening.register_person",
    _DOORSTEP,
    "Register a person found who is not on a roster (visitor, traveller) where found.",
)
can_trace = permission(
    "screening.trace",
    TRACE.roles,
    "Work trace tasks: reach, control, log attempts; see them by time left.",
)
can_hand_over = permission(
    "screening.hand_over",
    _OFFICES,
    "Hand a trace task to another district (out of jurisdiction).",
)
can_receive_hand_over = permission(
    "screening.receive_hand_over",
    {Role.COMMAND, Role.STREET},
    "See hand-overs addressed to one's district and take them on as tasks.",
)
can_run_campaign = permission(
    "screening.run_campaign",
    {Role.COMMAND, Role.STREET},
    "Launch and close household screening campaigns (摸排).",
)
can_screen = permission(
    "screening.screen",
    _DOORSTEP,
    "Screen households of a campaign (door to door or by phone) and record answers.",
)
can_import_answers = permission(
    "screening.import_answers",
    _OFFICES,
    "Load a campaign's answers from a spreadsheet.",
)
can_read_coverage = permission(
    "screening.read_coverage",
    _DOORSTEP | {Role.INSPECTOR},
    "A campaign's coverage: households done, not yet, by whom; the not-yet list.",
)
can_manage_venues = permission(
    "screening.manage_venues",
    _OFFICES,
    "Register venues and print their signed venue codes.",
)
can_send_scans = permission(
    "screening.send_scans",
    {Role.COMMAND},
    "Send venue scans in batches or files (the place-code system's account).",
)
can_run_match = permission(
    "screening.run_match",
    {Role.COMMAND},
    "Run exposure matching for a case and turn its contacts into trace tasks.",
)
