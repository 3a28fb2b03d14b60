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
