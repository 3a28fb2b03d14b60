"""The one way to write an audit record. Call it inside the service's transaction.

Every record names who acted: a user, or the system under its name ("cli:<os user>" for
an operator's command, `core.actors.command_line()`; "system" for the application's own
work, `core.actors.SYSTEM`).
"""

import re
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils import timezone

from .models import AuditEvent

# Event types: `<app label>.<object>_<verb>` ("areas.zone_declare"), declared with a label
# by each app in its `events.py`, so the audit page speaks Chinese and a typo fails.
_NAME = re.compile(r"^[a-z]+\.[a-z]+(_[a-z]+)+$")
_EVENTS: dict[str, Any] = {}


def event_type(code: str, label) -> str:
    """Declare an audit event type (in an app's events.py); returns its code."""
    if not _NAME.match(code):
        raise ImproperlyConfigured(f"audit event {code!r} is not named <app>.<object>_<verb>")
    if code in _EVENTS:
        raise ImproperlyConfigured(f"audit event {code} is declared twice")
    _EVENTS[code] = label
    return code


def event_label(code: str) -> str:
    """The event's label in the current language; its code if it is not declared."""
    return str(_EVENTS.get(code, code))


def event_types() -> dict[str, Any]:
    return dict(sorted(_EVENTS.items()))


def _shows_full_numbers(event: str, detail: dict[str, Any] | None) -> bool:
    """A reveal (`<app>.<object>_reveal`) or a full export (`detail={"full": True}`)."""
    return event.endswith("_reveal") or bool((detail or {}).get("full"))


def audit_record(
    *,
    actor,
    event: str,
    target: models.Model | None = None,
    target_label: str = "",
    area_code: str = "",
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    record = audit_prepare(
        actor=actor,
        event=event,
        target=target,
        target_label=target_label,
        area_code=area_code,
        reason=reason,
        detail=detail,
    )
    record.save()
    return record


def audit_prepare(
    *,
    actor,
    event: str,
    target: models.Model | None = None,
    target_label: str = "",
    area_code: str = "",
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """The record `audit_record` writes, checked and not yet saved: for a busy path that
    writes it in a statement of its own with the target it inserts in the same
    statement (relief's ask: the target's id and label then come from that statement)."""
    if actor is None:
        raise TypeError("audit needs an actor: a user, or fangkong.core.actors.SYSTEM")
    if event not in _EVENTS:
        raise ImproperlyConfigured(
            f"audit event {event} is not declared: add it to its app's events.py"
        )
    if _shows_full_numbers(event, detail) and not (reason or "").strip():
        # Every full view and every full export has a reason on record (DESIGN): a
        # service that forgot to ask for one fails here, before anything is shown.
        raise ValueError(f"audit event {event} shows full numbers and needs a reason")
    return AuditEvent(
        at=timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=actor.username[:150],
        event=event,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=(target_label or (str(target) if target is not None else ""))[:200],
        area_code=area_code,
        reason=reason,
        detail=detail or {},
    )
