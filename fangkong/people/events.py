"""The audit event types this app records (fangkong/core/audit.py)."""

from django.utils.translation import gettext_lazy as _

from fangkong.core.audit import event_type

CODE_VIEW = event_type("people.code_view", _("Resident code shown"))
CODES_PRINT = event_type("people.codes_print", _("Resident codes printed"))
DEMO_SEED = event_type("people.demo_seed", _("Demo district loaded"))
RESIDENT_CREATE = event_type("people.resident_create", _("Resident registered"))
RESIDENT_REVEAL = event_type("people.resident_reveal", _("Full numbers shown"))
RESIDENT_SEARCH_NUMBER = event_type(
    "people.resident_search_number", _("Searched by a whole number")
)
RESIDENT_UPDATE = event_type("people.resident_update", _("Resident changed"))
ROSTER_EXPORT = event_type("people.roster_export", _("Roster exported"))
ROSTER_IMPORT = event_type("people.roster_import", _("Roster imported"))
ROSTER_REPORT = event_type("people.roster_report", _("Import report downloaded"))
HANDOVER_APPROVE = event_type("people.handover_approve", _("Hand-over approved"))
HANDOVER_CANCEL = event_type("people.handover_cancel", _("Hand-over withdrawn"))
HANDOVER_DECLINE = event_type("people.handover_decline", _("Hand-over declined"))
HANDOVER_REQUEST = event_type("people.handover_request", _("Hand-over asked for"))
