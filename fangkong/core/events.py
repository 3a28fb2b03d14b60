"""The audit event types this app records (fangkong/core/audit.py)."""

from django.utils.translation import gettext_lazy as _

from fangkong.core.audit import event_type

POLICY_SET = event_type("core.policy_set", _("Policy changed"))
