"""The roles a user may hold: the bottom of the permission vocabulary (see permissions.py)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COMMAND = "command", _("Command centre")
    STREET = "street", _("Street office")
    COMMUNITY = "community", _("Community worker")
    GRID = "grid", _("Grid worker")
    BUILDING = "building", _("Building leader")
    WORKER = "worker", _("Cadre / volunteer")
    SAMPLER = "sampler", _("Sampler")
    LAB = "lab", _("Lab")
    INSPECTOR = "inspector", _("Inspector")
    RESIDENT = "resident", _("Resident")


STAFF_ROLES = frozenset(Role) - {Role.RESIDENT}


def holds_role(user, roles) -> bool:
    """Whether `user` is the system, or an active, logged-in user of one of `roles`: the
    test behind every permission (permissions.py) and every data kind (sight.py)."""
    if getattr(user, "is_system", False) is True:  # fangkong.core.actors.System
        return True
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", True)
        and user.role in roles
    )


def roles_table(intro: list[str], columns: list[str], rows) -> str:
    """A markdown table with a column a role: `rows` are (cells, roles) pairs, a ✓ under
    each role of `roles`. docs/permissions.md and docs/roles.md are made by it."""
    roles = list(Role)
    lines = [
        *intro,
        "| " + " | ".join([*columns, *(r.value for r in roles)]) + " |",
        "|" + "---|" * (len(columns) + len(roles)),
    ]
    for cells, held in rows:
        marks = ["✓" if r in held else "" for r in roles]
        lines.append("| " + " | ".join([*cells, *marks]) + " |")
    return "\n".join(lines) + "\n"
