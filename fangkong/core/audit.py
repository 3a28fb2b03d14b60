"""The one way to write an audit record. Call it inside the service's transaction.

A record made with `actor=None` names where the action came from instead of a user:
"cli:<os user>" for an operator's command (`fangkong <command>` runs under
`acting_from(cli_origin())`), "system" for the application's own work.
"""

from typing import Any

from django.db import models

from .models import AuditEvent
from .origin import current_origin


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
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=(getattr(actor, "username", "") or current_origin())[:150],
        event=event,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=(target_label or (str(target) if target is not None else ""))[:200],
        area_code=area_code,
        reason=reason,
        detail=detail or {},
    )
