"""The audit event types this app records (fangkong/core/audit.py)."""

from django.utils.translation import gettext_lazy as _

from fangkong.core.audit import event_type

ANSWERS_IMPORT = event_type("screening.answers_import", _("Screening answers loaded from a file"))
CAMPAIGN_CLOSE = event_type("screening.campaign_close", _("Screening campaign closed"))
CAMPAIGN_LAUNCH = event_type("screening.campaign_launch", _("Screening campaign launched"))
HAND_OVER_ACCEPT = event_type("screening.hand_over_accept", _("Hand-over taken on"))
HAND_OVER_RECEIVE = event_type("screening.hand_over_receive", _("Hand-over received"))
HOUSEHOLD_SCREEN = event_type("screening.household_screen", _("Household screened or visited"))
MATCH_DONE = event_type("screening.match_done", _("Exposure match made into tasks"))
MATCH_RUN = event_type("screening.match_run", _("Exposure match started"))
PERSON_REGISTER = event_type("screening.person_register", _("Person found registered"))
STATUS_SET = event_type("screening.status_set", _("Control status changed"))
TASK_ATTEMPT = event_type("screening.task_attempt", _("Trace attempt logged"))
TASK_CONTROL = event_type("screening.task_control", _("Key person under control"))
TASK_ESCALATE = event_type("screening.task_escalate", _("Overdue trace task escalated"))
TASK_HAND_OVER = event_type("screening.task_hand_over", _("Trace task handed over"))
TASK_MERGE = event_type("screening.task_merge", _("Trace task merged"))
TASK_RAISE = event_type("screening.task_raise", _("Trace task raised"))
TASK_REACH = event_type("screening.task_reach", _("Key person reached"))
VENUE_CREATE = event_type("screening.venue_create", _("Venue registered"))
