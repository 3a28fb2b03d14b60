"""The audit event types this app records (fangkong/core/audit.py)."""

from django.utils.translation import gettext_lazy as _

from fangkong.core.audit import event_type

CASE_CONFIRM = event_type("labs.case_confirm", _("Positive case confirmed"))
CASE_RULE_OUT = event_type("labs.case_rule_out", _("Case ruled out after review"))
RECALL_ARRANGE = event_type("labs.recall_arrange", _("Recall resample arranged"))
RECALL_CANCEL = event_type("labs.recall_cancel", _("Recall cancelled"))
REPORT_EXPORT = event_type("labs.report_export", _("Round report exported"))
RESULT_CORRECT = event_type("labs.result_correct", _("Result corrected"))
RESULTS_UPLOAD = event_type("labs.results_upload", _("Results uploaded"))
