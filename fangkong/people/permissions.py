"""What the people app lets roles do."""

from fangkong.core.permissions import permission
from fangkong.core.roles import Role
from fangkong.core.sight import sight

_ROSTER_KEEPERS = {Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.GRID}
_RESIDENT_EDITORS = _ROSTER_KEEPERS | {Role.BUILDING}
_REVEALERS = {Role.COMMAND, Role.STREET, Role.COMMUNITY}

# What the roles may see of residents (core.sight). A sampler resolves the one person
# whose code or number it is handed (testing.scan_confirm); it does not browse the roster.
ROSTER = sight(
    "people.roster",
    _RESIDENT_EDITORS | {Role.INSPECTOR, Role.RESIDENT},
    "The residents: names, sex, age, households; listed, searched, one by one; their codes "
    "(a resident: their own household only)",
    where="/people/, /people/<id>/, /people/<id>/code/, GET /api/v1/residents/, "
    "GET /api/v1/residents/{id}; the unsampled lists of a round",
)
HEALTH_TAGS = sight(
    "people.health_tags",
    _RESIDENT_EDITORS | {Role.RESIDENT},
    "Residents' health and care tags (pregnant, disabled, bedridden, regular treatment, "
    "living alone …) and the key-population lists by tag",
    where="tags on /people/ pages and in /api/v1/residents/; ?tag= filters; /people/tags/, "
    "GET /api/v1/residents/tags",
)
MASKED_NUMBERS = sight(
    "people.masked_numbers",
    _RESIDENT_EDITORS | {Role.INSPECTOR, Role.RESIDENT},
    "Residents' ID and phone numbers masked (4311**********1234), and search by their last "
    "4 characters",
    where="/people/ pages, GET /api/v1/residents/, ?q= by the last 4",
)
FULL_NUMBERS = sight(
    "people.full_numbers",
    _REVEALERS,
    "Residents' full ID and phone numbers, with a reason, audited; whole-number search",
    where="POST /people/<id>/reveal/, POST /api/v1/residents/{id}/reveal; whole-number search",
)
ROSTER_EXPORT = sight(
    "people.roster_export",
    _ROSTER_KEEPERS,
    "The roster as a spreadsheet (masked, or full numbers with a reason for those who may "
    "reveal), audited",
    where="/people/export/",
)

can_read_residents = permission(
    "people.read_residents",
    ROSTER.roles - {Role.RESIDENT},
    "List and search the residents of one's jurisdiction, numbers masked.",
)
can_edit_residents = permission(
    "people.edit_residents",
    _RESIDENT_EDITORS,
    "Register and edit residents and households; print their codes.",
)
can_reveal_pii = permission(
    "people.reveal_pii",
    FULL_NUMBERS.roles,
    "See a full ID or phone number, with a reason; each view is audited.",
)
can_import_roster = permission(
    "people.import_roster", _ROSTER_KEEPERS, "Import a household roster from a spreadsheet."
)
can_export_roster = permission(
    "people.export_roster", ROSTER_EXPORT.roles, "Export the roster of one's jurisdiction."
)
can_see_own_household = permission(
    "people.see_own_household",
    {Role.RESIDENT},
    "A resident sees their own household, its members' codes and statuses.",
)
can_approve_handover = permission(
    "people.approve_handover",
    {Role.COMMAND, Role.STREET},
    "Approve or decline moving a resident between two communities below one's office.",
)
can_search_residents = permission(
    "people.search_residents",
    ROSTER.roles,
    "List and search residents: the roster's readers; a resident, their own household.",
)
