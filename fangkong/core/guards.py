"""The one gate at the top of every service: who acts, may their role do it, does the
place lie in their jurisdiction; and a reason on record where one is required."""

from collections.abc import Callable

from .actors import is_system
from .errors import DomainError, PermissionDenied


def require(permitted: bool) -> None:
    """The actor's role may do this, or PermissionDenied (403 in the API)."""
    if not permitted:
        raise PermissionDenied("您的角色无权进行此操作", "your role may not do this")


def require_actor(actor) -> None:
    """Services act for someone: a user or the named system, never nobody."""
    if actor is None:
        raise TypeError("actor is required: a user, or fangkong.core.actors.SYSTEM")


def require_area(actor, code: str) -> None:
    """The area lies in the actor's jurisdiction."""
    require_actor(actor)
    if not actor.may_see_area(code):
        raise PermissionDenied("该区域不在您的辖区内", "this area is outside your jurisdiction")


def authorize(actor, permission: Callable[..., bool] | None = None, *, area: str = "") -> None:
    """The gate: an actor is given, holds `permission` (a `core.permissions.Permission`
    or any check of a user), and, if `area` is given, that area lies in their
    jurisdiction. The system passes every check."""
    require_actor(actor)
    if is_system(actor):
        return
    if permission is not None:
        require(permission(actor))
    if area:
        require_area(actor, area)


def required_reason(reason: str) -> str:
    """Status changes need a reason on record: the stripped reason, or DomainError."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("必须填写理由", "a reason is required", field="reason")
    return reason
