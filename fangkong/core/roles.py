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
