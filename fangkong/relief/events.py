"""The audit event types this app records (fangkong/core/audit.py)."""

from django.utils.translation import gettext_lazy as _

from fangkong.core.audit import event_type

# Needs
REQUEST_REGISTER = event_type("relief.request_register", _("Need registered"))
REQUEST_MERGE = event_type("relief.request_merge", _("Need asked again (merged)"))
REQUEST_DISPATCH = event_type("relief.request_dispatch", _("Need dispatched"))
BATCH_DISPATCH = event_type("relief.batch_dispatch", _("Needs dispatched as a batch"))
REQUEST_ACCEPT = event_type("relief.request_accept", _("Task accepted"))
REQUEST_PICK_UP = event_type("relief.request_pick_up", _("Goods picked up"))
REQUEST_DELIVER = event_type("relief.request_deliver", _("Need delivered"))
CODE_REFUSE = event_type("relief.code_refuse", _("Wrong confirmation code"))
REQUEST_REPORT_PROBLEM = event_type("relief.request_report_problem", _("Problem reported"))
REQUEST_CONFIRM = event_type("relief.request_confirm", _("Delivery confirmed by the resident"))
REQUEST_COMPLAIN = event_type("relief.request_complain", _("Complaint about a delivery"))
REQUEST_REOPEN = event_type("relief.request_reopen", _("Need opened again"))
REQUEST_CANCEL = event_type("relief.request_cancel", _("Need cancelled"))
REQUEST_SET_URGENCY = event_type("relief.request_set_urgency", _("Urgency of a need changed"))
CONTACT_REVEAL = event_type("relief.contact_reveal", _("Contact phone shown"))
NEEDS_ESCALATE = event_type("relief.needs_escalate", _("Overdue needs escalated"))
ESCALATION_ACKNOWLEDGE = event_type("relief.escalation_acknowledge", _("Escalation taken in hand"))
TEAM_CREATE = event_type("relief.team_create", _("Delivery team made"))
CATEGORY_ADD = event_type("relief.category_add", _("Category of need added"))
NUMBERS_EXPORT = event_type("relief.numbers_export", _("Relief numbers exported"))
# Proactive care
CARE_SYNC = event_type("relief.care_sync", _("Check-in schedules made from the roster"))
CARE_ASSIGN = event_type("relief.care_assign", _("Check-ins assigned"))
CHECKIN_RECORD = event_type("relief.checkin_record", _("Check-in recorded"))
CHECKIN_MISS = event_type("relief.checkin_miss", _("Check-in missed"))
TREATMENT_PLAN_CREATE = event_type("relief.treatment_plan_create", _("Treatment plan made"))
TRANSPORT_SCHEDULE = event_type("relief.transport_schedule", _("Treatment transport made"))
PACKAGES_PLAN = event_type("relief.packages_plan", _("Care packages planned"))
PACKAGE_DELIVER = event_type("relief.package_deliver", _("Care package delivered"))
# Supplies
POINT_CREATE = event_type("relief.point_create", _("Supply point opened"))
STOCK_RECEIVE = event_type("relief.stock_receive", _("Stock arrived or donated"))
STOCK_DRAW = event_type("relief.stock_draw", _("Stock drawn"))
STOCK_ADJUST = event_type("relief.stock_adjust", _("Stock count corrected"))
# Hotline
HOTLINE_STAFF_ADD = event_type("relief.hotline_staff_add", _("Hotline counsellor or lead named"))
HOTLINE_SHIFT = event_type("relief.hotline_shift", _("Hotline shift started or ended"))
TICKET_OPEN = event_type("relief.ticket_open", _("Hotline call logged"))
TICKET_READ = event_type("relief.ticket_read", _("Hotline ticket read"))
TICKET_NOTE = event_type("relief.ticket_note", _("Hotline follow-up recorded"))
TICKET_SET_RISK = event_type("relief.ticket_set_risk", _("Hotline risk changed"))
TICKET_ESCALATE = event_type("relief.ticket_escalate", _("High-risk call escalated"))
TICKET_ASSIGN = event_type("relief.ticket_assign", _("Hotline ticket handed over"))
TICKET_CLOSE = event_type("relief.ticket_close", _("Hotline ticket closed"))
