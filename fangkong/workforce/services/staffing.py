"""Staffing requests, and their allocation by the command centre: the optimal
assignment (fangkong/workforce/allocation) under the app's hard constraints and cost
terms, a proposal a person adjusts and confirms; substitutes for opened shifts by the
same allocation."""

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from fangkong.areas.models import Area, Level
from fangkong.core.actors import user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict, DomainError
from fangkong.core.guards import authorize, required_reason
from fangkong.core.notifications import Recipient, notify

from .. import costing
from ..models import (
    AllocationRun,
    Assignment,
    PostKind,
    ProposedSeat,
    RequestStatus,
    RunStatus,
    Shift,
    ShiftStatus,
    Skill,
    StaffingRequest,
    Unfilled,
    Worker,
)
from ..permissions import can_allocate, can_request_staff
from .workers import point_for

# Requests ------------------------------------------------------------------------------------


@transaction.atomic
def request_file(
    *,
    actor,
    area: Area,
    count: int,
    post_kind: str,
    first_day: dt.date,
    last_day: dt.date,
    hours_from: dt.time,
    hours_until: dt.time,
    required_skill: Skill | None = None,
    preferred_skill: Skill | None = None,
    note: str = "",
    client_id: str = "",
) -> StaffingRequest:
    """A community or street asks for people (a replayed client id changes nothing)."""
    authorize(actor, can_request_staff, area=area.code)
    if client_id:
        stored = StaffingRequest.objects.filter(client_id=client_id).first()
        if stored is not None:
            if stored.filed_by_id != getattr(actor, "pk", None):
                raise Conflict("客户端编号已被占用", "client_id is taken", field="client_id")
            return stored
    if area.level not in (Level.STREET, Level.COMMUNITY):
        raise DomainError(
            "需求由社区或街道提出", "a community or street files requests", field="area"
        )
    if not 1 <= count <= 5000:
        raise DomainError("人数应为1至5000", "1 to 5000 people", field="count")
    if post_kind not in PostKind.values:
        raise DomainError("岗位类型无效", "unknown post kind", field="post_kind")
    if last_day < first_day:
        raise DomainError(
            "结束日期早于开始日期", "the last day is before the first", field="last_day"
        )
    if (last_day - first_day).days > 92:
        raise DomainError("需求最长三个月", "a request spans at most 3 months", field="last_day")
    if hours_from == hours_until:
        raise DomainError("时段不能为空", "the hours are empty", field="hours_until")
    if point_for(area.code) is None:
        raise DomainError(
            "该区域尚无地图位置，请联系指挥部", "this area has no map point yet", field="area"
        )
    request = StaffingRequest.objects.create(
        area=area,
        area_code=area.code,
        count=count,
        post_kind=post_kind,
        required_skill=required_skill,
        preferred_skill=preferred_skill,
        first_day=first_day,
        last_day=last_day,
        hours_from=hours_from,
        hours_until=hours_until,
        note=note.strip()[:200],
        client_id=client_id or None,
        filed_by=user_of(actor),
    )
    audit_record(
        actor=actor,
        event="workforce.request_file",
        target=request,
        area_code=request.area_code,
        detail={"count": count, "post_kind": post_kind},
    )
    return request


@transaction.atomic
def request_cancel(*, actor, request: StaffingRequest, reason: str) -> StaffingRequest:
    authorize(actor, can_request_staff, area=request.area_code)
    reason = required_reason(reason)
    if request.status == RequestStatus.CANCELLED:
        return request
    request.status = RequestStatus.CANCELLED
    request.save(update_fields=["status"])
    ended = Assignment.objects.filter(request=request, ended_at__isnull=True).update(
        ended_at=timezone.now(), end_reason=reason[:200]
    )
    audit_record(
        actor=actor,
        event="workforce.request_cancel",
        target=request,
        area_code=request.area_code,
        reason=reason,
        detail={"assignments_ended": ended},
    )
    return request


# Allocation ------------------------------------------------------------------------------------


def _open_requests(area: Area):
    return (
        StaffingRequest.objects.within(area)
        .filter(status__in=[RequestStatus.OPEN, RequestStatus.PARTLY], filled__lt=F("count"))
        .select_related("required_skill", "preferred_skill")
        .order_by("created_at", "id")
    )


@transaction.atomic
def allocation_run(*, actor, area: Area) -> AllocationRun:
    """Propose who goes where for the open requests under `area`: the most seats filled
    and, among those fillings, the least total cost (costing.py); every seat left empty
    says why. Nothing is decided until a person confirms the run."""
    authorize(actor, can_allocate, area=area.code)
    requests = list(_open_requests(area))
    if not requests:
        raise DomainError("没有待分配的需求", "no open requests to allocate", field="area")
    problem = costing.request_problem(area.code, requests)
    return _store_run(actor, area.code, problem, purpose="requests")


def _store_run(actor, area_code: str, problem, *, purpose: str) -> AllocationRun:
    outcome = costing.solve(problem)
    weights = costing.weights_rule(area_code)
    run = AllocationRun.objects.create(
        area_code=area_code,
        seats=len(problem.seats),
        filled=outcome.optimal.filled,
        cost=outcome.optimal.cost,
        greedy_cost=outcome.greedy.cost,
        greedy_filled=outcome.greedy.filled,
        seconds=outcome.seconds,
        stats=outcome.optimal.stats,
        weights_version=weights.version,
        purpose=purpose,
        by=user_of(actor),
    )
    rows = []
    unfilled = {u.seat_id: u for u in outcome.optimal.unfilled}
    placed = outcome.optimal.assignment
    pairs = [(problem.by_id[placed[s.seat_id]], s) for s in problem.seats if s.seat_id in placed]
    costs, distances = problem.costs(pairs)
    priced = {seat.seat_id: i for i, (_, seat) in enumerate(pairs)}
    for seat in problem.seats:
        request_pk, number, shift_pk = problem.seat_keys[seat.seat_id]
        row = ProposedSeat(
            run=run,
            request_id=request_pk,
            area_code=problem.seat_area[seat.seat_id],
            number=number,
            shift_id=shift_pk,
            worker_id=None,
            cost=None,
            distance_km=None,
            unfilled="",
            with_skill=0,
            candidates=0,
            adjusted=False,
        )
        i = priced.get(seat.seat_id)
        if i is not None:
            row.worker_id = int(placed[seat.seat_id])
            row.cost, row.distance_km = costs[i], distances[i]
        else:
            why = unfilled[seat.seat_id]
            row.unfilled = Unfilled(str(why.reason))
            row.with_skill, row.candidates = why.with_skill, why.candidates
        rows.append(row)
    ProposedSeat.objects.bulk_create(rows, batch_size=2000)
    audit_record(
        actor=actor,
        event="workforce.allocation_run",
        target=run,
        area_code=area_code,
        detail={
            "purpose": purpose,
            "seats": run.seats,
            "filled": run.filled,
            "cost": round(run.cost, 3),
            "greedy_cost": round(run.greedy_cost or 0, 3),
            "greedy_filled": run.greedy_filled,
        },
    )
    return run


@transaction.atomic
def seat_adjust(
    *, actor, seat: ProposedSeat, worker: Worker | None, reason: str = ""
) -> ProposedSeat:
    """A person changes a proposed seat: another worker (who must meet the hard
    constraints), or nobody. A worker moved from another seat of the run leaves it empty."""
    run = AllocationRun.objects.select_for_update().get(pk=seat.run_id)
    authorize(actor, can_allocate, area=run.area_code)
    if run.status != RunStatus.PROPOSED:
        raise Conflict("该分配方案已处理", "this run has been decided", field="run")
    if worker is not None:
        verdict = costing.judge_seat(seat, worker)
        if verdict.refusal:
            raise DomainError(*verdict.refusal, field="worker")
        ProposedSeat.objects.filter(run=run, worker=worker).exclude(pk=seat.pk).update(
            worker=None, cost=None, distance_km=None, unfilled="", adjusted=True
        )
        seat.cost, seat.distance_km = verdict.cost, verdict.distance_km
        seat.unfilled = ""
    else:
        seat.cost = seat.distance_km = None
    before = seat.worker_id
    seat.worker = worker
    seat.adjusted = True
    seat.save()
    audit_record(
        actor=actor,
        event="workforce.allocation_adjust",
        target=run,
        area_code=seat.area_code,
        reason=reason,
        detail={"seat": seat.pk, "from": before, "to": worker.pk if worker else None},
    )
    return seat


@transaction.atomic
def allocation_confirm(*, actor, run: AllocationRun) -> int:
    """Confirm a run: its workers are assigned to the requests (or proposed for the
    opened shifts, for their team leader to confirm) and told by text message.

    Idempotent: the same actor confirming again (a retry after a lost answer) gets the
    first answer, the number placed, and nothing is done or told twice; a run discarded,
    or confirmed by someone else, is a Conflict."""
    run = AllocationRun.objects.select_for_update().get(pk=run.pk)
    authorize(actor, can_allocate, area=run.area_code)
    if _decided_alike(run, RunStatus.CONFIRMED, actor):
        return ProposedSeat.objects.filter(run=run, worker__isnull=False).count()
    if run.status != RunStatus.PROPOSED:
        raise _already_decided(run)
    seats = list(
        ProposedSeat.objects.filter(run=run, worker__isnull=False).select_related(
            "request__area", "worker__user", "shift__post"
        )
    )
    now = timezone.now()
    told: list[tuple[Worker, str, str]] = []
    if run.purpose == "substitution":
        for seat in seats:
            if seat.shift_id is None:  # (never: a substitution's seats are shifts)
                continue
            Shift.objects.filter(pk=seat.shift_id, status=ShiftStatus.OPEN).update(
                proposed=seat.worker, status=ShiftStatus.PROPOSED
            )
    else:
        by_request: dict[int, int] = defaultdict(int)
        rows = []
        for seat in seats:
            request, worker = seat.request, seat.worker
            if request is None or worker is None:  # (never: seats of requests, with workers)
                continue
            rows.append(
                Assignment(
                    worker=worker,
                    request=request,
                    area_code=request.area_code,
                    run=run,
                    first_day=request.first_day,
                    last_day=request.last_day,
                    confirmed_by=user_of(actor),
                    confirmed_at=now,
                )
            )
            by_request[request.pk] += 1
            span = f"{request.first_day:%m-%d}至{request.last_day:%m-%d} {request.hours_from:%H:%M}-{request.hours_until:%H:%M}"
            told.append(
                (
                    worker,
                    f"您已被调配到{request.area.name}（{request.get_post_kind_display()}），{span}，请按时报到",
                    f"You are allocated to {request.area.name} ({request.post_kind}), "
                    f"{request.first_day:%m-%d} to {request.last_day:%m-%d}; please report in",
                )
            )
        Assignment.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        for request in StaffingRequest.objects.filter(pk__in=by_request).select_for_update():
            request.filled = min(request.count, request.filled + by_request[request.pk])
            request.status = (
                RequestStatus.FILLED if request.filled >= request.count else RequestStatus.PARTLY
            )
            request.save(update_fields=["filled", "status"])
    run.status, run.decided_at, run.decided_by = RunStatus.CONFIRMED, now, user_of(actor)
    run.save(update_fields=["status", "decided_at", "decided_by"])
    audit_record(
        actor=actor,
        event="workforce.allocation_confirm",
        target=run,
        area_code=run.area_code,
        detail={"placed": len(seats), "purpose": run.purpose},
    )
    # One message each (their texts differ by request).
    for worker, zh, en in told:
        notify(
            recipients=[Recipient(worker.user, worker.phone())],
            kind="workforce.allocation",
            text_zh=zh,
            text_en=en,
            url="/workforce/me/",
            sms=True,
        )
    return len(seats)


def _decided_alike(run: AllocationRun, status: str, actor) -> bool:
    """The run was already decided this way by this actor: a retry, answered as first."""
    by = user_of(actor)
    return run.status == status and run.decided_by_id == (by.pk if by is not None else None)


def _already_decided(run: AllocationRun) -> Conflict:
    return Conflict("该分配方案已处理", f"this run has been decided ({run.status})", field="run")


@transaction.atomic
def allocation_discard(*, actor, run: AllocationRun, reason: str) -> AllocationRun:
    """Discard a proposal. The same actor discarding again gets the run as it was
    discarded; a run confirmed, or discarded by someone else, is a Conflict."""
    authorize(actor, can_allocate, area=run.area_code)
    reason = required_reason(reason)
    run = AllocationRun.objects.select_for_update().get(pk=run.pk)
    if _decided_alike(run, RunStatus.DISCARDED, actor):
        return run
    if run.status != RunStatus.PROPOSED:
        raise _already_decided(run)
    run.status, run.decided_at, run.decided_by = RunStatus.DISCARDED, timezone.now(), user_of(actor)
    run.save(update_fields=["status", "decided_at", "decided_by"])
    audit_record(
        actor=actor,
        event="workforce.allocation_discard",
        target=run,
        area_code=run.area_code,
        reason=reason,
    )
    return run


# Substitution --------------------------------------------------------------------------------


def substitutes_propose(*, actor, shifts: Sequence[Shift]) -> AllocationRun | None:
    """Replacements for opened shifts by the same allocation, confirmed at once as
    proposals: each shift names its proposed substitute for the team leader to confirm."""
    shifts = [s for s in shifts if s.status == ShiftStatus.OPEN]
    if not shifts:
        return None
    area_code = shifts[0].area_code[:9]
    problem = costing.shift_problem(area_code, shifts)
    run = _store_run(actor, area_code, problem, purpose="substitution")
    for seat in ProposedSeat.objects.filter(run=run, worker__isnull=False):
        if seat.shift_id is None:  # (never: a substitution's seats are shifts)
            continue
        Shift.objects.filter(pk=seat.shift_id, status=ShiftStatus.OPEN).update(
            proposed_id=seat.worker_id, status=ShiftStatus.PROPOSED
        )
    run.status, run.decided_at = RunStatus.CONFIRMED, timezone.now()
    run.save(update_fields=["status", "decided_at"])
    return run


@transaction.atomic
def substitute_confirm(*, actor, shift: Shift, worker: Worker | None = None) -> Shift:
    """The team leader (or the community) confirms the proposed substitute, or names
    another worker who meets the hard constraints."""
    from .duty import shift_assign

    shift = Shift.objects.select_for_update().select_related("post").get(pk=shift.pk)
    worker = worker or shift.proposed
    if worker is None:
        raise DomainError("没有替班人选", "no substitute proposed; name one", field="worker")
    if shift.status not in (ShiftStatus.OPEN, ShiftStatus.PROPOSED):
        raise Conflict("该班次已有人", "the shift is filled already", field="shift")
    verdict = costing.judge_shift(shift, worker)
    if verdict.refusal:
        raise DomainError(*verdict.refusal, field="worker")
    return shift_assign(actor=actor, shift=shift, worker=worker, reason="substitute")
