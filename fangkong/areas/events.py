"""The audit event types this app records (fangkong/core/audit.py)."""

from django.utils.translation import gettext_lazy as _

from fangkong.core.audit import event_type

AREA_CREATE = event_type("areas.area_create", _("Area added"))
GRID_CREATE = event_type("areas.grid_create", _("Grid drawn"))
ZONE_DECLARE = event_type("areas.zone_declare", _("Zone declared"))
ZONE_LIFT = event_type("areas.zone_lift", _("Zone lifted"))
AREA_IMPORT = event_type("areas.area_import", _("Division list imported"))
AREA_MOVE = event_type("areas.area_move", _("Area moved"))
AREA_RENAME = event_type("areas.area_rename", _("Area renamed"))
AREA_RETIRE = event_type("areas.area_retire", _("Area retired"))
GRID_UPDATE = event_type("areas.grid_update", _("Grid changed"))
