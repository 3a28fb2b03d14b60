"""The audit event types this app records (fangkong/core/audit.py)."""

from django.utils.translation import gettext_lazy as _

from fangkong.core.audit import event_type

TOKEN_ISSUE = event_type("accounts.token_issue", _("Token issued"))
TOKEN_REVOKE = event_type("accounts.token_revoke", _("Token revoked"))
USER_CREATE = event_type("accounts.user_create", _("User created"))
USER_DISABLE = event_type("accounts.user_disable", _("User disabled"))
USER_ENABLE = event_type("accounts.user_enable", _("User enabled"))
USER_SET_AREAS = event_type("accounts.user_set_areas", _("User's areas changed"))
USER_SET_PASSWORD = event_type("accounts.user_set_password", _("Password set"))
USER_UPDATE = event_type("accounts.user_update", _("User changed"))
USER_IMPORT = event_type("accounts.user_import", _("Accounts imported"))
