"""What the accounts app lets roles do (the vocabulary is in fangkong.core.permissions)."""

from fangkong.core.permissions import permission
from fangkong.core.roles import Role

can_manage_users = permission(
    "accounts.manage_users",
    {Role.COMMAND, Role.STREET, Role.COMMUNITY},
    "Create, change and disable accounts of the roles below one's own, inside one's "
    "jurisdiction; reset their passwords; issue and revoke their device tokens.",
)
