"""The audit event types this app records (fangkong/core/audit.py)."""

from django.utils.translation import gettext_lazy as _

from fangkong.core.audit import event_type

CHANNEL_ADD = event_type("testing.channel_add", _("Channel added"))
CHANNEL_STATUS = event_type("testing.channel_status", _("Channel opened, paused or closed"))
EXEMPTION_END = event_type("testing.exemption_end", _("Exemption ended"))
EXEMPTION_GRANT = event_type("testing.exemption_grant", _("Exemption granted"))
HOME_TASK_CANCEL = event_type("testing.home_task_cancel", _("Door-to-door task cancelled"))
HOME_TASK_CLOSE = event_type("testing.home_task_close", _("Door-to-door task done"))
HOME_TASK_CREATE = event_type("testing.home_task_create", _("Door-to-door task made"))
HOME_TASKS_ASSIGN = event_type("testing.home_tasks_assign", _("Door-to-door tasks assigned"))
HOME_TASKS_GENERATE = event_type("testing.home_tasks_generate", _("Door-to-door tasks generated"))
ROUND_CLOSE = event_type("testing.round_close", _("Round closed"))
ROUND_EDIT = event_type("testing.round_edit", _("Round changed"))
ROUND_LAUNCH = event_type("testing.round_launch", _("Round launched"))
SITE_CREATE = event_type("testing.site_create", _("Sampling site opened"))
SITE_STATUS = event_type("testing.site_status", _("Site opened, paused or closed"))
