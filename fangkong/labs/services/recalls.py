"""Recalls and positive cases by hand: arranging a resample, cancelling a recall, ruling
out a case.
"""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from fangkong.core.actors import user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import DomainError
from fangkong.core.guards import require, require_area, required_reason
from fangkong.labs.permissions import can_manage_recalls, can_rule_out_cases
from fangkong.testing import services as testing_services
from fangkong.testing.models import (
    SamplingSite,
    TaskKind,
    TaskStatus,
)

from ..models import (
    CaseStatus,
    PositiveCase,
    Recall,
    RecallStatus,
    ResampleVia,
)

# Recalls by hand ----------------------------------------------------------------------


@transaction.atomic
def recalls_arrange(
    *, actor, recalls: Iterable[Recall], via: str, site: SamplingSite | None = None
) -> int:
    """Arrange open recalls' resamples: at home (a door-to-door task) or at a site."""
    require(can_manage_recalls(actor))
    if via not in (ResampleVia.HOME, ResampleVia.SITE):
        raise DomainError("请选择上门或到采样点", "choose at home or at a site", field="via")
    if via == ResampleVia.SITE:
        if site is None:
            raise DomainError("请选择采样点", "choose a sampling site", field="site")
        require_area(actor, site.area_code)
    recalls = [r for r in recalls if r.is_open]
    now = timezone.now()
    for recall in recalls:
        require_area(actor, recall.area_code)
        recall.via, recall.site = via, site if via == ResampleVia.SITE else None
        recall.arranged_at, recall.arranged_by = now, user_of(actor)
        if via == ResampleVia.HOME and recall.resident is not None:
            # The testing app's own service makes (or finds) the door-to-door task.
            task = testing_services.home_task_create(
                actor=actor,
                round=recall.round,
                resident=recall.resident,
                kind=TaskKind.RESAMPLE,
                note=f"单管复采 / single-tube resample (recall {recall.pk})",
            )
            recall.home_task = task if task.status == TaskStatus.OPEN else None
        recall.save(update_fields=["via", "site", "arranged_at", "arranged_by", "home_task"])
    if recalls:
        audit_record(
            actor=actor,
            event="labs.recall_arrange",
            target_label=f"{len(recalls)} recalls",
            area_code=min(r.area_code for r in recalls),
            detail={
                "recalls": [r.pk for r in recalls],
                "via": via,
                "site": getattr(site, "pk", None),
            },
        )
    return len(recalls)


@transaction.atomic
def recall_cancel(*, actor, recall: Recall, reason: str) -> Recall:
    """Close a recall without a resample (moved away, tested in hospital), with a reason."""
    require(can_manage_recalls(actor))
    require_area(actor, recall.area_code)
    reason = required_reason(reason)
    if not recall.is_open:
        raise DomainError("该召回已关闭", "this recall is already closed")
    recall.status, recall.closed_at, recall.closed_by = (
        RecallStatus.CANCELLED,
        timezone.now(),
        actor,
    )
    recall.close_reason = reason
    recall.save(update_fields=["status", "closed_at", "closed_by", "close_reason"])
    audit_record(
        actor=actor,
        event="labs.recall_cancel",
        target=recall,
        area_code=recall.area_code,
        reason=reason,
        detail={"tube": recall.tube_id, "resident": recall.resident_id},
    )
    return recall


@transaction.atomic
def case_rule_out(*, actor, case: PositiveCase, reason: str) -> PositiveCase:
    """复核排除: turn a positive case back, only with a reason on record."""
    require(can_rule_out_cases(actor))
    require_area(actor, case.area_code)
    reason = required_reason(reason)
    if case.status != CaseStatus.CONFIRMED:
        raise DomainError("该病例已排除", "this case is already ruled out")
    case.status, case.ruled_out_at, case.ruled_out_by = CaseStatus.RULED_OUT, timezone.now(), actor
    case.rule_out_reason = reason
    case.save(update_fields=["status", "ruled_out_at", "ruled_out_by", "rule_out_reason"])
    audit_record(
        actor=actor,
        event="labs.case_rule_out",
        target=case,
        area_code=case.area_code,
        reason=reason,
        detail={"resident": case.resident_id, "tube": case.tube_id},
    )
    return case
