"""What the accounts app lets roles do (the vocabulary is in fangkong.core.permissions)."""

from fangkong.core.permissions import permission
from fangkong.core.roles import Role

can_manage_users = permission(
    "accounts.manage_users",
    {Role.COMMAND, Role.STREET, Role.COMMUNITY},
    "Create, change and disable accounts of the roles below one's own, inside one's "
    "jurisdiction; reset their passwords; issue and revoke their device tokens.",
)

# Each administrator manages only roles below their own (and, in the services, only
# users whose whole jurisdiction lies inside theirs).
_ADMIN_RANK = {Role.COMMAND: 0, Role.STREET: 1, Role.COMMUNITY: 2}
_BELOW_ADMINS = len(_ADMIN_RANK)


def may_grant_role(user, role: str) -> bool:
    """`user` may give (or take away) `role`: one strictly below their own."""
    if not can_manage_users(user):
        return False
    return _ADMIN_RANK.get(role, _BELOW_ADMINS) > _ADMIN_RANK[user.role]
