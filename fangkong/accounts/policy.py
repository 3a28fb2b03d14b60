"""What each role may do, in one place. Views and the API ask here, never inline."""

from .models import Role

STAFF_ROLES = frozenset(Role) - {Role.RESIDENT}
_ROSTER_KEEPERS = frozenset({Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.GRID})
_PII_REVEALERS = frozenset({Role.COMMAND, Role.STREET, Role.COMMUNITY})
_RESIDENT_EDITORS = frozenset({Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.GRID, Role.BUILDING})
_RESIDENT_READERS = _RESIDENT_EDITORS | {Role.INSPECTOR, Role.SAMPLER}


def is_staff_role(user) -> bool:
    return user.is_authenticated and user.role in STAFF_ROLES


def can_browse_areas(user) -> bool:
    return user.is_authenticated and user.role in STAFF_ROLES


def can_read_residents(user) -> bool:
    return user.is_authenticated and user.role in _RESIDENT_READERS


def can_search_residents(user) -> bool:
    """List and search residents: the roster's readers; a resident, their own household."""
    return can_read_residents(user) or (user.is_authenticated and user.role == Role.RESIDENT)


def can_edit_residents(user) -> bool:
    return user.is_authenticated and user.role in _RESIDENT_EDITORS


def can_reveal_pii(user) -> bool:
    """May see a full ID or phone number (each view is audited)."""
    return user.is_authenticated and user.role in _PII_REVEALERS


def can_import_roster(user) -> bool:
    return user.is_authenticated and user.role in _ROSTER_KEEPERS


def can_export_roster(user) -> bool:
    return user.is_authenticated and user.role in _ROSTER_KEEPERS


def can_declare_zone(user) -> bool:
    return user.is_authenticated and user.role == Role.COMMAND


def can_read_audit(user) -> bool:
    return user.is_authenticated and user.role == Role.COMMAND


# Mass testing (fangkong/testing).
_SITE_KEEPERS = frozenset({Role.COMMAND, Role.STREET, Role.COMMUNITY})
_SAMPLERS = frozenset({Role.SAMPLER, Role.COMMUNITY, Role.COMMAND})
_COVERAGE_READERS = _RESIDENT_EDITORS | {Role.INSPECTOR}
_DOOR_TO_DOOR = frozenset({Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.GRID})
_DOOR_KNOCKERS = _DOOR_TO_DOOR | {Role.BUILDING, Role.SAMPLER, Role.WORKER}


def can_run_round(user) -> bool:
    """Launch, edit and close testing rounds: the command centre."""
    return user.is_authenticated and user.role == Role.COMMAND


def can_manage_sites(user) -> bool:
    """Create sampling sites and channels; open, pause and close them."""
    return user.is_authenticated and user.role in _SITE_KEEPERS


def can_sample(user) -> bool:
    """Upload scans from a sampling device (sites of the user's jurisdiction only)."""
    return user.is_authenticated and user.role in _SAMPLERS


def can_read_coverage(user) -> bool:
    """Counts of expected, sampled and exempt residents; the not-yet-sampled lists."""
    return user.is_authenticated and user.role in _COVERAGE_READERS


def can_exempt(user) -> bool:
    """Record or end an exemption from a round (away, in hospital, isolated)."""
    return user.is_authenticated and user.role in _RESIDENT_EDITORS


def can_plan_home_sampling(user) -> bool:
    """Make and assign door-to-door tasks."""
    return user.is_authenticated and user.role in _DOOR_TO_DOOR


def can_close_home_task(user) -> bool:
    """Close a door-to-door task with the tube used."""
    return user.is_authenticated and user.role in _DOOR_KNOCKERS


# Lab results, recalls and the round report (fangkong/labs).
_RECALL_READERS = frozenset(
    {Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.GRID, Role.BUILDING, Role.LAB}
)
_RECALL_KEEPERS = frozenset({Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.GRID})
_REPORT_READERS = frozenset({Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.INSPECTOR})


def can_upload_results(user) -> bool:
    """Upload tube results (file or API): labs, for tubes within their jurisdiction."""
    return user.is_authenticated and user.role == Role.LAB


def can_read_recalls(user) -> bool:
    """Recalls and positive cases of the user's jurisdiction; marked buildings."""
    return user.is_authenticated and user.role in _RECALL_READERS


def can_manage_recalls(user) -> bool:
    """Arrange a recall's resample (at home or a site) or cancel it with a reason."""
    return user.is_authenticated and user.role in _RECALL_KEEPERS


def can_rule_out_cases(user) -> bool:
    """Turn a positive case back after review (复核排除), with a reason on record."""
    return user.is_authenticated and user.role == Role.COMMAND


def can_read_round_report(user) -> bool:
    """The round report, throughput and the pool-size advisor (scoped); .xlsx export."""
    return user.is_authenticated and user.role in _REPORT_READERS


def can_read_turnaround(user) -> bool:
    """Result turnaround and overdue tubes: the report's readers and the labs."""
    return user.is_authenticated and (user.role in _REPORT_READERS or user.role == Role.LAB)


# User administration (fangkong/accounts/services.py). Each administrator manages only
# roles below their own, and only users whose whole jurisdiction lies inside theirs.
_USER_ADMIN_RANK = {Role.COMMAND: 0, Role.STREET: 1, Role.COMMUNITY: 2}
_RANK_BELOW_ADMINS = len(_USER_ADMIN_RANK)


def can_manage_users(user) -> bool:
    """Create users; change their role, areas, password and tokens; disable them."""
    return user.is_authenticated and user.role in _USER_ADMIN_RANK


def may_grant_role(user, role: str) -> bool:
    """`user` may give (or take away) `role`: one strictly below their own."""
    if not can_manage_users(user):
        return False
    return _USER_ADMIN_RANK.get(role, _RANK_BELOW_ADMINS) > _USER_ADMIN_RANK[user.role]
