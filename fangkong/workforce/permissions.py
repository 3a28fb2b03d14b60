"""What the workforce app lets roles do.

An organ's liaison is a user of role WORKER whom the command centre links to an organ
(`OrganLiaison`): the role grants the rights below, and the services add the check that
the user is a liaison (fangkong/workforce/jurisdiction.py) where a right is a liaison's.
"""

from fangkong.core.permissions import permission
from fangkong.core.roles import Role
from fangkong.core.sight import sight

_CENTRE = {Role.COMMAND}
_OFFICES = {Role.COMMAND, Role.STREET, Role.COMMUNITY}

# What the roles may see here (core.sight).
WORKERS = sight(
    "workforce.workers",
    _OFFICES | {Role.GRID, Role.WORKER},
    "Workers' personal data: names, masked ID and phone numbers, employer, skills, status "
    "(offices: those enrolled with or assigned to their areas; a worker: themself, their "
    "team, and as an organ's liaison its staff)",
    where="/workforce/workers/, GET /api/v1/workforce/workers",
)
WORKER_NUMBERS = sight(
    "workforce.full_numbers",
    _OFFICES | {Role.WORKER},
    "A worker's full ID and phone number, with a reason, audited (a worker only as an organ "
    "liaison, for the organ's staff)",
    where="POST /api/v1/workforce/workers/{id}/reveal",
)

can_manage_registry = permission(
    "workforce.manage_registry",
    _CENTRE,
    "Keep the lists of organs, skills and map points; link organ liaisons.",
)
can_read_workers = permission(
    "workforce.read_workers",
    WORKERS.roles,
    "See workers: offices those enrolled with or assigned to their areas, a liaison the "
    "organ's staff, a worker themself and their team; numbers masked.",
)
can_reveal_worker_pii = permission(
    "workforce.reveal_pii",
    WORKER_NUMBERS.roles,
    "See a worker's full ID and phone number, with a reason, audited (a worker only as "
    "an organ liaison, for the organ's staff).",
)
can_enrol = permission(
    "workforce.enrol",
    _OFFICES | {Role.WORKER},
    "Register workers and bulk-enrol them from a spreadsheet (a worker only as an organ "
    "liaison, for the organ's staff).",
)
can_report_in = permission(
    "workforce.report_in",
    {Role.WORKER},
    "Report in at a community (scan its code or choose it); report oneself unavailable.",
)
can_confirm_enrollment = permission(
    "workforce.confirm_enrollment",
    _OFFICES,
    "Confirm or decline the workers who reported in at one's communities.",
)
can_manage_teams = permission(
    "workforce.manage_teams",
    _OFFICES,
    "Form teams and temporary party branches; name leaders and secretaries.",
)
can_request_staff = permission(
    "workforce.request_staff",
    _OFFICES,
    "File and cancel staffing requests for one's communities.",
)
can_allocate = permission(
    "workforce.allocate",
    _CENTRE,
    "Run an allocation of workers to staffing requests, adjust and confirm it.",
)
can_manage_posts = permission(
    "workforce.manage_posts",
    _OFFICES,
    "Create posts, print their codes, build and change rotas.",
)
can_check_in = permission(
    "workforce.check_in",
    {Role.WORKER},
    "Check in and out at a post by scanning its code; answer call-outs.",
)
can_call_out = permission(
    "workforce.call_out",
    _OFFICES | {Role.WORKER},
    "Post an urgent call-out (a worker only as a team leader, at their team's community).",
)
can_set_status = permission(
    "workforce.set_status",
    _OFFICES,
    "Record a worker unavailable (sick, quarantined) or available again, with a reason.",
)
can_substitute = permission(
    "workforce.substitute",
    _OFFICES | {Role.WORKER},
    "Confirm a replacement for an opened shift (a worker only as the team leader).",
)
can_read_numbers = permission(
    "workforce.read_numbers",
    _OFFICES,
    "The workforce numbers of one's jurisdiction, with charts, and their .xlsx export.",
)
