"""Checks at the top of a service: role, jurisdiction, a reason on record."""

from .errors import DomainError, PermissionDenied


def require(permitted: bool) -> None:
    """The actor's role may do this, or PermissionDenied (403 in the API)."""
    if not permitted:
        raise PermissionDenied("您的角色无权进行此操作", "your role may not do this")


def require_area(actor, code: str) -> None:
    """The area lies in the actor's jurisdiction (`actor=None` is the system)."""
    if actor is not None and not actor.may_see_area(code):
        raise PermissionDenied("该区域不在您的辖区内", "this area is outside your jurisdiction")


def required_reason(reason: str) -> str:
    """Status changes need a reason on record: the stripped reason, or DomainError."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("必须填写理由", "a reason is required", field="reason")
    return reason
