"""The permission vocabulary: named rights granted to roles, declared by each app in its
own `permissions.py` and collected here, so one table says what each role may do.

A permission is called with a user: `can_read_residents(user) -> bool`. `User.has_perm`
asks the same table, so templates write `{% if perms.people.read_residents %}`.
"""

from collections.abc import Iterable

from django.core.exceptions import ImproperlyConfigured

from .roles import Role, holds_role


class Permission:
    """A right, named `<app>.<verb_noun>`, held by the users of some roles."""

    def __init__(self, code: str, roles: Iterable[str], description: str):
        self.code = code
        self.roles = frozenset(Role(r) for r in roles)
        self.description = description

    def __call__(self, user) -> bool:
        return holds_role(user, self.roles)

    def __repr__(self) -> str:
        return f"<Permission {self.code}>"


_REGISTRY: dict[str, Permission] = {}


def permission(code: str, roles: Iterable[str], description: str) -> Permission:
    """Declare a permission (at import of an app's permissions module)."""
    if code in _REGISTRY:
        raise ImproperlyConfigured(f"permission {code} is declared twice")
    if code.count(".") != 1:
        raise ImproperlyConfigured(f"permission {code} must be named <app>.<name>")
    _REGISTRY[code] = perm = Permission(code, roles, description)
    return perm


def get(code: str) -> Permission:
    try:
        return _REGISTRY[code]
    except KeyError:
        raise ImproperlyConfigured(f"no permission {code} is declared") from None


def granted(user, code: str) -> bool:
    """Whether `user` holds the permission named `code` (unknown names hold for no one)."""
    perm = _REGISTRY.get(code)
    return perm is not None and perm(user)


def all_permissions() -> list[Permission]:
    return sorted(_REGISTRY.values(), key=lambda p: p.code)


# Core's own: the audit log.
can_read_audit = permission(
    "core.read_audit", {Role.COMMAND}, "Read the audit log of the whole jurisdiction."
)
can_manage_policies = permission(
    "core.manage_policies",
    {Role.COMMAND},
    "Set a new version of a policy (deadlines, SLAs, pool sizes, quotas, durations).",
)
can_read_policies = permission(
    "core.read_policies",
    {Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.INSPECTOR},
    "Read the policies in force and their history.",
)
