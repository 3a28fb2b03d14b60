"""The audit event types this app records (fangkong/core/audit.py)."""

from django.utils.translation import gettext_lazy as _

from fangkong.core.audit import event_type

AREA_CREATE = event_type("areas.area_create", _("Area added"))
GRID_CREATE = event_type("areas.grid_create", _("Grid drawn"))
ZONE_DECLARE = event_type("areas.zone_declare", _("Zone declared"))
ZONE_LIFT = event_type("areas.zone_lift", _("Zone lifted"))
