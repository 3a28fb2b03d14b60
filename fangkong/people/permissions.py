"""What the people app lets roles do."""

from fangkong.core.permissions import permission
from fangkong.core.roles import Role

_ROSTER_KEEPERS = {Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.GRID}
_RESIDENT_EDITORS = _ROSTER_KEEPERS | {Role.BUILDING}

can_read_residents = permission(
    "people.read_residents",
    _RESIDENT_EDITORS | {Role.INSPECTOR, Role.SAMPLER},
    "List and search the residents of one's jurisdiction, numbers masked.",
)
can_edit_residents = permission(
    "people.edit_residents",
    _RESIDENT_EDITORS,
    "Register and edit residents and households; print their codes.",
)
can_reveal_pii = permission(
    "people.reveal_pii",
    {Role.COMMAND, Role.STREET, Role.COMMUNITY},
    "See a full ID or phone number, with a reason; each view is audited.",
)
can_import_roster = permission(
    "people.import_roster", _ROSTER_KEEPERS, "Import a household roster from a spreadsheet."
)
can_export_roster = permission(
    "people.export_roster", _ROSTER_KEEPERS, "Export the roster of one's jurisdiction."
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
    {Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.GRID, Role.BUILDING, Role.INSPECTOR}
    | {Role.SAMPLER, Role.RESIDENT},
    "List and search residents: the roster's readers; a resident, their own household.",
)
