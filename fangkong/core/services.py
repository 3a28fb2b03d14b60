"""Core's own writes: new versions of the policies the apps declare."""

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from .actors import user_of
from .audit import audit_record
from .errors import Conflict, DomainError
from .guards import authorize, required_reason
from .models import PolicyVersion
from .permissions import can_manage_policies
from .policies import forget_cached, get

# A version may start a little before it is saved (a form filled in a minute ago), never
# further back: what was decided under the old rule stays decided under it.
BACKDATE_SLACK = dt.timedelta(minutes=5)


def policy_set(
    *,
    actor,
    key: str,
    value: Any,
    reason: str,
    effective_from: dt.datetime | None = None,
    area_code: str = "",
) -> PolicyVersion:
    """Make a new version of a policy, in force from `effective_from` (default now) in
    `area_code`'s subtree (empty: everywhere)."""
    authorize(actor, can_manage_policies, area=area_code)
    declared = get(key)
    reason = required_reason(reason)
    checked = declared.validate(value).model_dump(mode="json")
    now = timezone.now()
    effective_from = effective_from or now
    if effective_from < now - BACKDATE_SLACK:
        raise DomainError(
            "策略不能追溯生效", "a policy cannot take effect in the past", field="effective_from"
        )
    try:
        with transaction.atomic():
            last = PolicyVersion.objects.filter(key=key).aggregate(n=Max("version"))["n"] or 0
            row = PolicyVersion.objects.create(
                key=key,
                version=last + 1,
                area_code=area_code,
                value=checked,
                effective_from=effective_from,
                set_by=user_of(actor),
                set_by_name=actor.username,
                reason=reason,
            )
            transaction.on_commit(forget_cached)
            audit_record(
                actor=actor,
                event="core.policy_set",
                target=row,
                target_label=f"{key} v{row.version}",
                area_code=area_code,
                reason=reason,
                detail={"value": checked, "effective_from": effective_from.isoformat()},
            )
    except IntegrityError:
        raise Conflict(
            "该策略刚被他人修改，请刷新后重试",
            "someone changed this policy a moment ago; reload and try again",
        ) from None
    return row
