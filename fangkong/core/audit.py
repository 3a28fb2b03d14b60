"""The one way to write an audit record. Call it inside the service's transaction.

Every record names who acted: a user, or the system under its name ("cli:<os user>" for
an operator's command, `core.actors.command_line()`; "system" for the application's own
work, `core.actors.SYSTEM`).
"""

from typing import Any

from django.db import models

from .models import AuditEvent


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
    if actor is None:
        raise TypeError("audit needs an actor: a user, or fangkong.core.actors.SYSTEM")
    return AuditEvent.objects.create(
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
