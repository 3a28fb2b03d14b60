"""Proactive care: schedules from the roster's tags, check-ins, treatment plans, care
packages."""

import datetime as dt
from collections.abc import Iterable, Sequence

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from fangkong.areas.models import Area, Grid, Household
from fangkong.core.actors import is_system, user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.guards import authorize
from fangkong.core.roles import Role
from fangkong.people.selectors import care_candidates

from ..models import (
    CareOutcome,
    CarePackage,
    CarePackagePlan,
    CareSchedule,
    Category,
    CheckIn,
    CheckInKind,
    TreatmentPlan,
)
from ..models.requests import TRANSPORT_KINDS, Channel
from ..permissions import can_check_in, can_deliver, can_plan_care
from ..policies import CARE
from .requests import _resident_for, request_register
from .watch import due_after

CARERS = frozenset({Role.GRID, Role.BUILDING, Role.COMMUNITY})


def _first_due(now: dt.datetime, due_hour: int) -> dt.datetime:
    """Today at the due hour if that is still ahead, else tomorrow's."""
    today = due_after(now, 0, due_hour)
    return today if today > now else due_after(now, 1, due_hour)


def _default_carers(area_code: str) -> dict[str, int]:
    """Building code -> the user who checks on its vulnerable: the grid worker keeping
    it, else the building's leader."""
    carers: dict[str, int] = {}
    leaders = (
        get_user_model()
        .objects.filter(role=Role.BUILDING, is_active=True, areas__code__startswith=area_code)
        .values_list("areas__code", "id")
    )
    for code, pk in leaders:
        carers.setdefault(code, pk)
    grids = Grid.objects.filter(
        keeper__isnull=False, keeper__is_active=True, buildings__code__startswith=area_code
    ).values_list("buildings__code", "keeper_id")
    for code, pk in grids:
        carers[code] = pk  # the grid worker first
    return carers


@transaction.atomic
def care_schedules_sync(*, actor, area: Area) -> dict[str, int]:
    """Make (or bring up to date) the check-in schedules of every vulnerable resident
    under `area` from the roster's tags and the care policy in force; end those of
    residents no longer tagged. Returns counts: created, updated, ended."""
    authorize(actor, can_plan_care, area=area.code)
    now = timezone.now()
    rule = CARE.at(now, area.code)
    carers = _default_carers(area.code)
    existing = {
        (s.resident_id, s.kind): s
        for s in CareSchedule.objects.filter(area_code__startswith=area.code)
    }
    seen, created, updated = set(), [], 0
    for person in care_candidates(area.code):
        wanted: dict[CheckInKind, int] = {}
        for tag in person.tags:
            every = rule.value.tags.get(tag)
            if every is None:
                continue
            for kind, days in (
                (CheckInKind.CALL, every.call_days),
                (CheckInKind.VISIT, every.visit_days),
            ):
                if days and (kind not in wanted or days < wanted[kind]):
                    wanted[kind] = days
        for kind, days in wanted.items():
            key = (person.resident_id, kind)
            seen.add(key)
            tags = sorted(person.tags)
            row = existing.get(key)
            if row is None:
                created.append(
                    CareSchedule(
                        resident_id=person.resident_id,
                        household_id=person.household_id,
                        area_code=person.area_code,
                        kind=kind,
                        every_days=days,
                        tags=tags,
                        assignee_id=carers.get(person.area_code),
                        next_due_at=_first_due(now, rule.value.due_hour),
                        policy_version=rule.version,
                    )
                )
            elif (row.every_days, row.tags, row.active) != (days, tags, True):
                row.every_days, row.tags, row.active = days, tags, True
                row.policy_version = rule.version
                if row.next_due_at > due_after(now, days, rule.value.due_hour):
                    row.next_due_at = due_after(now, days, rule.value.due_hour)
                row.save(
                    update_fields=["every_days", "tags", "active", "policy_version", "next_due_at"]
                )
                updated += 1
    CareSchedule.objects.bulk_create(created, batch_size=1000)
    gone = [s.pk for key, s in existing.items() if key not in seen and s.active]
    CareSchedule.objects.filter(pk__in=gone).update(active=False)
    counts = {"created": len(created), "updated": updated, "ended": len(gone)}
    audit_record(
        actor=actor,
        event="relief.care_sync",
        target=area,
        area_code=area.code,
        detail={**counts, "policy_version": rule.version},
    )
    return counts


@transaction.atomic
def care_assign(*, actor, schedules: Sequence[CareSchedule], assignee) -> int:
    """Give check-in schedules to a grid worker, building leader or community worker."""
    authorize(actor, can_plan_care)
    if assignee is None or assignee.role not in CARERS or not assignee.is_active:
        raise DomainError(
            "关怀只能派给网格员、楼栋长或社区工作者",
            "check-ins go to a grid worker, building leader or community worker",
            field="assignee",
        )
    ids = [s.pk for s in schedules]
    for schedule in schedules:
        authorize(actor, area=schedule.area_code)
    changed = CareSchedule.objects.filter(pk__in=ids).update(assignee=assignee)
    audit_record(
        actor=actor,
        event="relief.care_assign",
        target_label=assignee.username,
        detail={"schedules": ids},
    )
    return changed


def _may_check(actor, schedule: CareSchedule) -> None:
    authorize(actor, can_check_in)
    if not (
        is_system(actor)
        or schedule.assignee_id == actor.pk
        or actor.may_see_area(schedule.area_code)
    ):
        raise PermissionDenied("这位居民不在您的关怀名单上", "this resident is not on your list")


@transaction.atomic
def checkin_record(
    *,
    actor,
    schedule: CareSchedule,
    outcome: str,
    note: str = "",
    category: str = "",
    detail: str = "",
    urgency: str | None = None,
) -> CheckIn:
    """A call or visit done. Reached: the next one is due `every_days` later. Not reached:
    it stays due (and becomes a missed check-in, with a task, past the grace). A need
    found on the spot is registered at once (`category`)."""
    _may_check(actor, schedule)
    if outcome not in (CareOutcome.WELL, CareOutcome.NEED, CareOutcome.UNREACHED):
        raise DomainError("请选择关怀结果", "choose the outcome of the check-in", field="outcome")
    if outcome == CareOutcome.NEED and not category:
        raise DomainError("请选择诉求类别", "choose the category of the need", field="category")
    row = CareSchedule.objects.select_for_update().get(pk=schedule.pk)
    now = timezone.now()
    need = None
    if category:
        need = request_register(
            actor=actor,
            household=row.household_id,
            resident=row.resident_id,
            category=category,
            detail=detail or note,
            urgency=urgency,
            channel=Channel.CARE,
        ).request
    checkin = CheckIn.objects.create(
        schedule=row,
        area_code=row.area_code,
        due_at=row.next_due_at,
        at=now,
        outcome=outcome,
        by=user_of(actor),
        by_name=actor.username,
        note=(note or "").strip()[:500],
        request=need,
    )
    if outcome != CareOutcome.UNREACHED:
        rule = CARE.at(now, row.area_code).value
        row.last_done_at = now
        row.next_due_at = due_after(now, row.every_days, rule.due_hour)
        row.save(update_fields=["last_done_at", "next_due_at"])
    audit_record(
        actor=actor,
        event="relief.checkin_record",
        target=row,
        area_code=row.area_code,
        detail={"outcome": outcome, "request": need.pk if need else None},
    )
    return checkin


@transaction.atomic
def treatment_plan_create(
    *,
    actor,
    resident: int,
    category: str,
    weekdays: Iterable[int],
    pickup_time: dt.time,
    destination: str,
    note: str = "",
) -> TreatmentPlan:
    """Regular treatment (dialysis Monday, Wednesday, Friday at 7:00): the watch makes its
    transports a week ahead."""
    authorize(actor, can_plan_care)
    contact = _resident_for(actor, resident)
    authorize(actor, area=contact.area_code)
    days = sorted({int(d) for d in weekdays})
    if not days or any(d < 0 or d > 6 for d in days):
        raise DomainError("请选择每周哪几天", "choose the weekdays (0 = Monday)", field="weekdays")
    found = Category.objects.for_area(contact.area_code).filter(code=category).first()
    if found is None or found.kind not in TRANSPORT_KINDS:
        raise DomainError("请选择一种转运类别", "choose a transport category", field="category")
    destination = (destination or "").strip()[:100]
    if not destination:
        raise DomainError("请填写目的地", "the destination is missing", field="destination")
    plan = TreatmentPlan.objects.create(
        resident_id=contact.resident_id,
        household_id=contact.household_id,
        area_code=contact.area_code,
        category=found,
        weekdays=days,
        pickup_time=pickup_time,
        destination=destination,
        note=(note or "").strip()[:200],
        created_by=user_of(actor),
    )
    audit_record(
        actor=actor,
        event="relief.treatment_plan_create",
        target=plan,
        area_code=plan.area_code,
        detail={"weekdays": days, "pickup": pickup_time.isoformat()},
    )
    return plan


@transaction.atomic
def care_packages_plan(
    *,
    actor,
    area: Area,
    name: str,
    contents: str,
    planned_for: dt.date,
    households: Iterable[Household] | None = None,
) -> CarePackagePlan:
    """A round of care packages for the households of `area` (by default those with a
    vulnerable member, from the roster's tags)."""
    authorize(actor, can_plan_care, area=area.code)
    name, contents = (name or "").strip()[:60], (contents or "").strip()[:300]
    if not name or not contents:
        raise DomainError("请填写名称和内容", "give the round a name and contents", field="name")
    if households is None:
        targets = {(c.household_id, c.area_code) for c in care_candidates(area.code)}
    else:
        targets = set()
        for h in households:
            authorize(actor, area=h.area_code)
            targets.add((h.pk, h.area_code))
    plan = CarePackagePlan.objects.create(
        name=name, area=area, contents=contents, planned_for=planned_for, created_by=user_of(actor)
    )
    CarePackage.objects.bulk_create(
        [CarePackage(plan=plan, household_id=h, area_code=code) for h, code in sorted(targets)],
        batch_size=1000,
    )
    audit_record(
        actor=actor,
        event="relief.packages_plan",
        target=plan,
        area_code=area.code,
        detail={"households": len(targets)},
    )
    return plan


@transaction.atomic
def care_package_deliver(*, actor, package: CarePackage) -> CarePackage:
    if not (can_deliver(actor) or can_check_in(actor)):
        authorize(actor, can_deliver)
    authorize(actor, area=package.area_code)
    row = CarePackage.objects.select_for_update().get(pk=package.pk)
    if row.delivered_at is not None:
        raise DomainError("这份爱心包已送达", "this package is delivered already", field="package")
    row.delivered_at, row.delivered_by = timezone.now(), user_of(actor)
    row.save(update_fields=["delivered_at", "delivered_by"])
    audit_record(actor=actor, event="relief.package_deliver", target=row, area_code=row.area_code)
    return row
