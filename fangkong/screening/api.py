"""Screening over JSON: trace tasks and their actions, control statuses, people found,
hand-overs, campaigns (coverage, the not-yet list, visits, a spreadsheet of answers),
venues and their codes, venue-scan batches, match runs and their contacts. Every page
action has its operation here, with the same service behind it."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import Http404
from django.utils import timezone
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from pydantic import BaseModel

from fangkong.areas.models import Area, Grid, Household, Level
from fangkong.core.api import MAX_PAGE, PageOut, QueryId, aware, errors, page_out, require
from fangkong.core.idnumbers import IdType
from fangkong.core.paging import paginate
from fangkong.core.shortcuts import get_scoped_or_404
from fangkong.labs import selectors as labs
from fangkong.people import selectors as people

from . import selectors, services
from .models import (
    AttemptChannel,
    Campaign,
    Category,
    ControlKind,
    ControlStatus,
    HandOver,
    MatchRun,
    Person,
    TaskState,
    TraceTask,
    Vaccination,
    Venue,
    VenueKind,
    VisitMethod,
    VisitOutcome,
)
from .permissions import (
    can_hand_over,
    can_import_answers,
    can_manage_venues,
    can_read_coverage,
    can_read_status,
    can_receive_hand_over,
    can_register_person,
    can_run_campaign,
    can_run_match,
    can_screen,
    can_send_scans,
    can_set_status,
    can_trace,
)

router = Router(tags=["screening"])
ID = Field(ge=1, le=2**63 - 1)
_CLIENT_ID: dict[str, Any] = {
    "min_length": 1,
    "max_length": 64,
    "pattern": r"^[A-Za-z0-9._:-]+$",
    "description": "made by the client (a UUID): a retry with it changes nothing",
}
CLIENT_ID = Field(**_CLIENT_ID)
OPTIONAL_CLIENT_ID = Field(None, **_CLIENT_ID)


# Tasks ----------------------------------------------------------------------------------


class TrackedPersonOut(Schema):
    id: int
    name: str
    id_number_masked: str
    phone_masked: str
    resident: int | None = Field(description="the roster record, or empty for a person found")
    area_code: str


def _person_out(p: Person) -> dict:
    return {
        "id": p.pk,
        "name": p.name,
        "id_number_masked": p.id_masked,
        "phone_masked": p.phone_masked,
        "resident": p.resident_id,
        "area_code": p.area_code,
    }


class TaskOut(Schema):
    id: int
    person: TrackedPersonOut
    area_code: str = Field(description="where it is assigned: a building, or where found")
    community: str
    category: Category
    degree: int
    state: TaskState
    source: str
    reason: str
    raised_at: dt.datetime
    deadline: dt.datetime
    seconds_left: int = Field(description="negative when overdue")
    deadline_version: int = Field(description="the '2+6' policy version it was raised under")
    measures_version: int
    escalated_at: dt.datetime | None
    attempts: int


class AttemptOut(Schema):
    at: dt.datetime
    channel: str
    note: str
    by: str


class TaskDetailOut(TaskOut):
    evidence: list[dict[str, Any]] = Field(description="why: venue, times, minutes apart …")
    attempt_log: list[AttemptOut]


def _task_out(t: TraceTask, now=None) -> dict:
    return {
        "id": t.pk,
        "person": _person_out(t.person),
        "area_code": t.area_code,
        "community": t.area_code[:12],
        "category": t.category,
        "degree": t.degree,
        "state": t.state,
        "source": t.source,
        "reason": t.reason,
        "raised_at": t.raised_at,
        "deadline": t.deadline,
        "seconds_left": t.seconds_left(now),
        "deadline_version": t.deadline_version,
        "measures_version": t.measures_version,
        "escalated_at": t.escalated_at,
        "attempts": t.attempts,
    }


def _task_detail(t: TraceTask) -> dict:
    return {
        **_task_out(t),
        "evidence": t.evidence,
        "attempt_log": [
            {"at": a.at, "channel": a.channel, "note": a.note, "by": a.by_name}
            for a in t.attempt_log.all()
        ],
    }


class TaskQuery(Schema):
    state: str = Field(
        "active", pattern=r"^(active|overdue|open|reached|controlled|unreachable|handed_over)$"
    )
    area: str = Field("", pattern=r"^\d{0,18}$")
    category: Category | None = None
    page: int = Field(1, ge=1, le=MAX_PAGE)


@router.get("/tasks", response={200: PageOut[TaskOut], **errors(403, 422)})
def task_list(request, query: Query[TaskQuery]):
    """Trace tasks of the caller's jurisdiction; unfinished ones least time left first."""
    require(can_trace(request.auth))
    tasks = selectors.tasks_for(
        request.auth,
        state=query.state,
        area=query.area,
        category=query.category.value if query.category else "",
    )
    tasks = (
        tasks.by_time_left()
        if query.state in ("active", "overdue")
        else tasks.order_by("-raised_at", "-id")
    )
    page = paginate(tasks, query.page, 100)
    now = timezone.now()
    return page_out(page, [_task_out(t, now) for t in page.items])


def _task(request, task_id: int) -> TraceTask:
    return get_scoped_or_404(TraceTask.objects.select_related("person"), request.auth, pk=task_id)


@router.get("/tasks/{task_id}", response={200: TaskDetailOut, **errors(403, 404)})
def task_detail(request, task_id: int):
    require(can_trace(request.auth))
    return _task_detail(_task(request, task_id))


class TaskIn(Schema):
    person: int = ID
    category: Category
    reason: str = Field(max_length=300)
    client_id: str | None = OPTIONAL_CLIENT_ID


@router.post("/tasks", response={200: TaskDetailOut, **errors(400, 403, 404, 422)})
def task_create(request, payload: TaskIn):
    """A task entered by hand; merged into the person's active task if they have one."""
    require(can_trace(request.auth))
    p = get_scoped_or_404(Person.objects, request.auth, pk=payload.person)
    t, _made = services.task_create(
        actor=request.auth,
        person=p,
        category=payload.category.value,
        reason=payload.reason,
        client_id=payload.client_id,
    )
    return _task_detail(_task(request, t.pk))


class NoteIn(Schema):
    note: str = Field("", max_length=300)


@router.post("/tasks/{task_id}/reach", response={200: TaskDetailOut, **errors(403, 404, 409, 422)})
def task_reach(request, task_id: int, payload: NoteIn):
    require(can_trace(request.auth))
    services.task_reach(actor=request.auth, task=_task(request, task_id), note=payload.note)
    return _task_detail(_task(request, task_id))


class AttemptIn(Schema):
    channel: AttemptChannel
    note: str = Field("", max_length=300)


@router.post(
    "/tasks/{task_id}/attempts", response={200: TaskDetailOut, **errors(400, 403, 404, 409, 422)}
)
def task_attempt(request, task_id: int, payload: AttemptIn):
    """An attempt that did not reach the person; the task turns unreachable."""
    require(can_trace(request.auth))
    services.task_attempt(
        actor=request.auth,
        task=_task(request, task_id),
        channel=payload.channel.value,
        note=payload.note,
    )
    return _task_detail(_task(request, task_id))


class ControlIn(Schema):
    kind: ControlKind
    reason: str = Field(max_length=2000)


@router.post(
    "/tasks/{task_id}/control", response={200: TaskDetailOut, **errors(400, 403, 404, 409, 422)}
)
def task_control(request, task_id: int, payload: ControlIn):
    """Under control: sets the person's control status (planned end by the policy)."""
    require(can_trace(request.auth))
    services.task_control(
        actor=request.auth,
        task=_task(request, task_id),
        kind=payload.kind.value,
        reason=payload.reason,
    )
    return _task_detail(_task(request, task_id))


class TaskHandOverIn(Schema):
    to_district: str = Field(pattern=r"^\d{6}$")
    where_now: str = Field(max_length=200)
    reason: str = Field(max_length=2000)


class TaskHandOverOut(Schema):
    id: int
    to_district: str
    from_district: str
    name: str
    id_number_masked: str
    phone_masked: str
    category: Category
    exposed_on: dt.date | None
    where_now: str
    reason: str
    sent_at: dt.datetime
    accepted_at: dt.datetime | None
    accepted_task: int | None


def _hand_over_out(h: HandOver) -> dict:
    """What the receiver sees: who, how to reach them, why, from which district."""
    return {
        "id": h.pk,
        "to_district": h.to_district,
        "from_district": h.from_area_code[:6],
        "name": h.name,
        "id_number_masked": h.id_masked,
        "phone_masked": h.phone_masked,
        "category": h.category,
        "exposed_on": h.exposed_on,
        "where_now": h.where_now,
        "reason": h.reason,
        "sent_at": h.sent_at,
        "accepted_at": h.accepted_at,
        "accepted_task": h.accepted_task_id,
    }


@router.post(
    "/tasks/{task_id}/hand-over", response={200: TaskHandOverOut, **errors(400, 403, 404, 409, 422)}
)
def task_hand_over(request, task_id: int, payload: TaskHandOverIn):
    """Out of jurisdiction: hand the task to the district where the person is."""
    require(can_hand_over(request.auth))
    h = services.task_hand_over(
        actor=request.auth,
        task=_task(request, task_id),
        to_district=payload.to_district,
        where_now=payload.where_now,
        reason=payload.reason,
    )
    return _hand_over_out(h)


@router.get("/hand-overs", response={200: list[TaskHandOverOut], **errors(403)})
def hand_over_list(request):
    """Hand-overs addressed to the caller's district(s), those not taken on first."""
    require(can_receive_hand_over(request.auth))
    return [_hand_over_out(h) for h in selectors.hand_overs_received(request.auth)[:200]]


class AcceptIn(Schema):
    area: str = Field(pattern=r"^\d{12,18}$", description="where the person is now")


@router.post(
    "/hand-overs/{hand_over_id}/accept",
    response={200: TaskDetailOut, **errors(400, 403, 404, 409, 422)},
)
def hand_over_accept(request, hand_over_id: int, payload: AcceptIn):
    require(can_receive_hand_over(request.auth))
    h = selectors.hand_overs_received(request.auth).filter(pk=hand_over_id).first()
    if h is None:
        raise Http404
    area = get_scoped_or_404(Area.objects, request.auth, code=payload.area)
    t = services.hand_over_accept(actor=request.auth, hand_over=h, area=area)
    return _task_detail(_task(request, t.pk))


# Statuses and people ---------------------------------------------------------------


class StatusSpanOut(Schema):
    id: int
    kind: ControlKind
    starts_at: dt.datetime
    planned_end: dt.datetime | None
    then_kind: str
    then_days: int
    ended_at: dt.datetime | None
    category: str
    policy_version: int | None
    reason: str
    set_by: str


class StatusOut(Schema):
    person: TrackedPersonOut | None
    current: StatusSpanOut | None
    history: list[StatusSpanOut]


def _span_out(s: ControlStatus) -> dict:
    return {
        "id": s.pk,
        "kind": s.kind,
        "starts_at": s.starts_at,
        "planned_end": s.planned_end,
        "then_kind": s.then_kind,
        "then_days": s.then_days,
        "ended_at": s.ended_at,
        "category": s.category,
        "policy_version": s.policy_version,
        "reason": s.reason,
        "set_by": s.set_by_name,
    }


def _status_out(view) -> dict:
    return {
        "person": _person_out(view.person) if view.person else None,
        "current": _span_out(view.current) if view.current else None,
        "history": [_span_out(s) for s in view.history],
    }


@router.get("/residents/{resident_id}/status", response={200: StatusOut, **errors(403, 404)})
def resident_status(request, resident_id: int):
    """A resident's current control status and its history."""
    require(can_read_status(request.auth))
    if not people.residents_for(request.auth).filter(pk=resident_id).exists():
        raise Http404
    return _status_out(selectors.status_of_resident(resident_id, history=100))


def _person(request, person_id: int) -> Person:
    return get_scoped_or_404(Person.objects, request.auth, pk=person_id)


@router.get("/people/{person_id}/status", response={200: StatusOut, **errors(403, 404)})
def person_status(request, person_id: int):
    require(can_read_status(request.auth))
    return _status_out(selectors.status_of_person(_person(request, person_id), history=100))


class ControlStatusIn(Schema):
    kind: ControlKind
    reason: str = Field(max_length=2000)
    category: Category | None = Field(None, description="sets the planned end by the policy")
    planned_end: dt.datetime | None = None


@router.post("/people/{person_id}/status", response={200: StatusOut, **errors(400, 403, 404, 422)})
def person_status_set(request, person_id: int, payload: ControlStatusIn):
    """Change a person's control status; the reason is required and audited."""
    require(can_set_status(request.auth))
    p = _person(request, person_id)
    services.status_set(
        actor=request.auth,
        person=p,
        kind=payload.kind.value,
        reason=payload.reason,
        category=payload.category.value if payload.category else "",
        planned_end=aware(payload.planned_end),
    )
    return _status_out(selectors.status_of_person(p, history=100))


class FoundIn(Schema):
    id_type: IdType = IdType.MAINLAND
    id_number: str = Field(max_length=40)
    name: str = Field(max_length=100)
    phone: str = Field("", max_length=30)
    area: str = Field(pattern=r"^\d{12,18}$", description="where found: a community or below")
    note: str = Field("", max_length=200)
    category: Category | None = Field(None, description="raise a trace task as this")
    reason: str = Field("", max_length=300)
    client_id: str | None = OPTIONAL_CLIENT_ID


class FoundOut(Schema):
    elsewhere: bool = Field(description="kept by another community: nothing more is told")
    person: TrackedPersonOut | None
    task: TaskOut | None


@router.post("/people", response={200: FoundOut, **errors(400, 403, 404, 422)})
def person_found(request, payload: FoundIn):
    """Register a person found who is on no roster (a visitor, a traveller), and raise
    their task. A person kept by another community: the answer says only that."""
    require(can_register_person(request.auth))
    area = get_scoped_or_404(Area.objects, request.auth, code=payload.area)
    reg, t = services.person_found(
        actor=request.auth,
        id_type=payload.id_type.value,
        id_number=payload.id_number,
        name=payload.name,
        phone=payload.phone,
        area=area,
        note=payload.note,
        category=payload.category.value if payload.category else "",
        reason=payload.reason,
        client_id=payload.client_id,
    )
    if reg.elsewhere:
        return {"elsewhere": True, "person": None, "task": None}
    return {
        "elsewhere": False,
        "person": _person_out(reg.person),
        "task": _task_out(t) if t is not None and request.auth.may_see_area(t.area_code) else None,
    }


# Campaigns ---------------------------------------------------------------------------


class CampaignCountsOut(Schema):
    households: int
    done: int
    open_visited: int = Field(description="visited: nobody home or refused")
    not_yet: int
    percent: float


class CampaignOut(Schema):
    id: int
    name: str
    status: str
    starts_at: dt.datetime
    deadline: dt.datetime
    areas: list[str]
    risk_places: list[str]
    coverage: CampaignCountsOut = Field(description="of the part the caller may see")


def _campaign_out(c: Campaign, user) -> dict:
    return {
        "id": c.pk,
        "name": c.name,
        "status": c.status,
        "starts_at": c.starts_at,
        "deadline": c.deadline,
        "areas": [a.area_code for a in c.campaign_areas.all()],
        "risk_places": [p.strip() for p in c.risk_places.splitlines() if p.strip()],
        "coverage": selectors.coverage_of_codes(c, selectors.campaign_scope(c, user)).as_dict(),
    }


def _may_see_campaigns(user) -> bool:
    return can_screen(user) or can_read_coverage(user)


@router.get("/campaigns", response={200: list[CampaignOut], **errors(403)})
def campaign_list(request):
    require(_may_see_campaigns(request.auth))
    return [_campaign_out(c, request.auth) for c in selectors.campaigns_for(request.auth)[:100]]


class CampaignIn(Schema):
    name: str = Field(max_length=100)
    areas: list[str] = Field(min_length=1, max_length=200)
    deadline: dt.datetime
    risk_places: list[str] = Field([], max_length=200)
    note: str = Field("", max_length=2000)


@router.post("/campaigns", response={200: CampaignOut, **errors(400, 403, 404, 422)})
def campaign_launch(request, payload: CampaignIn):
    require(can_run_campaign(request.auth))
    areas = [get_scoped_or_404(Area.objects, request.auth, code=code) for code in payload.areas]
    c = services.campaign_launch(
        actor=request.auth,
        name=payload.name,
        areas=areas,
        deadline=aware(payload.deadline),
        risk_places="\n".join(p.strip()[:100] for p in payload.risk_places),
        note=payload.note,
    )
    return _campaign_out(c, request.auth)


def _campaign(request, campaign_id: int) -> Campaign:
    return get_scoped_or_404(Campaign.objects, request.auth, pk=campaign_id)


class CampaignCloseIn(Schema):
    reason: str = Field(max_length=2000)


@router.post(
    "/campaigns/{campaign_id}/close", response={200: CampaignOut, **errors(400, 403, 404, 409, 422)}
)
def campaign_close(request, campaign_id: int, payload: CampaignCloseIn):
    require(can_run_campaign(request.auth))
    c = services.campaign_close(
        actor=request.auth, campaign=_campaign(request, campaign_id), reason=payload.reason
    )
    return _campaign_out(c, request.auth)


class CampaignCoverageRowOut(CampaignCountsOut):
    code: str
    name: str
    level: int


class ByWhomOut(Schema):
    by: str
    households: int


class CampaignCoverageOut(Schema):
    campaign: int
    area: str | None
    grid: int | None
    name: str
    totals: CampaignCountsOut
    rows: list[CampaignCoverageRowOut]
    by_whom: list[ByWhomOut]


class CampaignCoverageQuery(Schema):
    area: str = Field("", pattern=r"^\d{0,18}$")
    grid: int | None = Field(None, ge=1, le=2**63 - 1)


def _rows(rows) -> list[dict]:
    return [
        {"code": r.area.code, "name": r.area.name, "level": r.area.level, **r.coverage.as_dict()}
        for r in rows
    ]


@router.get(
    "/campaigns/{campaign_id}/coverage",
    response={200: CampaignCoverageOut, **errors(403, 404, 422)},
)
def campaign_coverage(request, campaign_id: int, query: Query[CampaignCoverageQuery]):
    """Households done, not yet, visited without an answer, by whom: for an area (its
    children as rows) or a grid (its buildings)."""
    require(_may_see_campaigns(request.auth))
    c = _campaign(request, campaign_id)
    user = request.auth
    if query.grid:
        g = Grid.objects.filter(pk=query.grid).select_related("community").first()
        if g is None or not (g.keeper_id == user.pk or user.may_see_area(g.community.code)):
            raise Http404
        totals, rows = selectors.grid_coverage(c, g)
        return {
            "campaign": c.pk,
            "area": None,
            "grid": g.pk,
            "name": g.name,
            "totals": totals.as_dict(),
            "rows": _rows(rows),
            "by_whom": [],
        }
    codes = [query.area] if query.area else selectors.campaign_scope(c, user)
    if len(codes) == 1:
        area = get_scoped_or_404(Area.objects, user, code=codes[0])
        totals, rows = (
            selectors.coverage_of_area(c, area.code),
            selectors.coverage_children(c, area),
        )
        name, code, whom = area.name, area.code, selectors.by_whom(c, area.code)
    else:
        totals = selectors.coverage_of_codes(c, codes)
        rows = [
            selectors.CoverageRow(a, selectors.coverage_of_area(c, a.code))
            for a in Area.objects.filter(code__in=codes).order_by("code")
        ]
        name, code, whom = c.name, None, []
    return {
        "campaign": c.pk,
        "area": code,
        "grid": None,
        "name": name,
        "totals": totals.as_dict(),
        "rows": _rows(rows),
        "by_whom": [{"by": w["by_name"], "households": w["n"]} for w in whom],
    }


class NotYetOut(Schema):
    household: int
    unit: str
    room: str
    last_outcome: str | None = Field(description="nobody_home, refused, or empty: not visited")
    tried_by: str | None
    tried_at: dt.datetime | None


class NotYetQuery(Schema):
    building: str = Field(pattern=r"^\d{18}$")
    page: int = Field(1, ge=1, le=MAX_PAGE)


@router.get(
    "/campaigns/{campaign_id}/not-yet", response={200: PageOut[NotYetOut], **errors(403, 404, 422)}
)
def not_yet(request, campaign_id: int, query: Query[NotYetQuery]):
    """A building's households not screened yet, by door."""
    require(_may_see_campaigns(request.auth))
    c = _campaign(request, campaign_id)
    b = get_scoped_or_404(Area.objects, request.auth, code=query.building, level=Level.BUILDING)
    page = paginate(selectors.not_yet_households(c, b), query.page, 100)
    return page_out(
        page,
        [
            {
                "household": h.pk,
                "unit": h.unit,
                "room": h.room,
                "last_outcome": h.outcome,
                "tried_by": h.tried_by,
                "tried_at": h.tried_at,
            }
            for h in page.items
        ],
    )


class ScreeningAnswerIn(Schema):
    resident: int | None = Field(None, ge=1, le=2**63 - 1, description="a member of the household")
    id_type: IdType = IdType.MAINLAND
    id_number: str = Field("", max_length=40, description="a person on no roster staying here")
    name: str = Field("", max_length=100)
    phone: str = Field("", max_length=30)
    travelled: bool = False
    travel_from: str = Field("", max_length=100)
    from_risk_area: bool = False
    symptoms: bool = False
    case_contact: bool = False
    vaccination: Vaccination = Vaccination.UNKNOWN


class VisitIn(Schema):
    household: int = ID
    outcome: VisitOutcome
    method: VisitMethod = VisitMethod.DOOR
    client_id: str = CLIENT_ID
    answers: list[ScreeningAnswerIn] = Field([], max_length=50)
    note: str = Field("", max_length=300)
    at: dt.datetime | None = None


class VisitOut(Schema):
    visit: int
    replayed: bool
    outcome: str
    tasks: list[TaskOut] = Field(description="tasks raised here (in the caller's community)")
    tasks_elsewhere: int = Field(description="flagged people kept by another community")


@router.post(
    "/campaigns/{campaign_id}/visits", response={200: VisitOut, **errors(400, 403, 404, 409, 422)}
)
def visit(request, campaign_id: int, payload: VisitIn):
    """A household screened (with everyone's answers), or nobody home, or refused. Safe
    to repeat with the same client id."""
    require(can_screen(request.auth))
    c = _campaign(request, campaign_id)
    h = get_scoped_or_404(
        Household.objects.select_related("building"), request.auth, pk=payload.household
    )
    result = services.household_screen(
        actor=request.auth,
        campaign=c,
        household=h,
        outcome=payload.outcome.value,
        method=payload.method.value,
        client_id=payload.client_id,
        answers=[
            services.AnswerIn(
                resident_id=a.resident,
                id_type=a.id_type.value,
                id_number=a.id_number,
                name=a.name,
                phone=a.phone,
                travelled=a.travelled,
                travel_from=a.travel_from,
                from_risk_area=a.from_risk_area,
                symptoms=a.symptoms,
                case_contact=a.case_contact,
                vaccination=a.vaccination.value,
            )
            for a in payload.answers
        ],
        note=payload.note,
        at=aware(payload.at),
    )
    mine = [t for t in result.tasks if request.auth.may_see_area(t.area_code)]
    return {
        "visit": result.visit.pk,
        "replayed": result.replayed,
        "outcome": result.visit.outcome,
        "tasks": [_task_out(t) for t in mine],
        "tasks_elsewhere": len(result.tasks) - len(mine),
    }


class ProblemOut(Schema):
    row: int
    field: str
    message: str
    message_zh: str


class SheetOut(Schema):
    rows: int
    households: int
    stored: int
    replayed: int
    tasks: int
    problems: list[ProblemOut]


@router.post(
    "/campaigns/{campaign_id}/answers-file", response={200: SheetOut, **errors(400, 403, 404, 422)}
)
def answers_file(request, campaign_id: int, file: File[UploadedFile]):
    """Answers from a spreadsheet (.xlsx, .csv); bad rows reported by row and field."""
    require(can_import_answers(request.auth))
    c = _campaign(request, campaign_id)
    out = services.answers_import(
        actor=request.auth, campaign=c, data=file.read(), file_name=file.name or ""
    )
    return out.as_dict()


# Venues and scans ----------------------------------------------------------------------


class VenueOut(Schema):
    id: int
    name: str
    kind: VenueKind
    area_code: str
    address: str
    code: str = Field(description="the venue_code its scans carry (opaque)")


def _venue_out(v: Venue) -> dict:
    return {
        "id": v.pk,
        "name": v.name,
        "kind": v.kind,
        "area_code": v.area_code,
        "address": v.address,
        "code": v.code,
    }


@router.get("/venues", response={200: list[VenueOut], **errors(403)})
def venue_list(request, area: str = Query("", pattern=r"^\d{0,18}$")):
    require(can_manage_venues(request.auth))
    return [_venue_out(v) for v in selectors.venues_for(request.auth, area=area)[:1000]]


class VenueIn(Schema):
    name: str = Field(max_length=100)
    kind: VenueKind
    area: str = Field(pattern=r"^\d{12,18}$")
    address: str = Field("", max_length=200)


@router.post("/venues", response={200: VenueOut, **errors(400, 403, 404, 409, 422)})
def venue_create(request, payload: VenueIn):
    require(can_manage_venues(request.auth))
    area = get_scoped_or_404(Area.objects, request.auth, code=payload.area)
    v = services.venue_create(
        actor=request.auth,
        area=area,
        name=payload.name,
        kind=payload.kind.value,
        address=payload.address,
    )
    return _venue_out(v)


class VenueCodeOut(Schema):
    venue: int
    code: str = Field(description="the signed QR's text (FK2 …, kind venue)")


@router.get("/venues/{venue_id}/code", response={200: VenueCodeOut, **errors(403, 404)})
def venue_code(request, venue_id: int):
    require(can_manage_venues(request.auth))
    v = get_scoped_or_404(Venue.objects, request.auth, pk=venue_id)
    return {"venue": v.pk, "code": services.venue_qr(v)}


class ScanIn(BaseModel):
    """One scan. A plain pydantic model: a batch holds hundreds. Loose on purpose: a row
    that is wrong is refused on its own (by its number and field), not the batch."""

    venue_code: str = Field(max_length=200)
    scanned_at: str = Field(max_length=64, description="ISO 8601 with its offset")
    person_key: str = Field("", max_length=64, description="or the document number below")
    id_type: str = Field(IdType.MAINLAND, max_length=4)
    id_number: str = Field("", max_length=64)
    name: str = Field(
        "", max_length=200, description="optional, with id_number: a person perhaps on no roster"
    )
    phone: str = Field("", max_length=64, description="optional, with id_number and name")


def _when(text: str) -> dt.datetime | None:
    """A scan's time, or None (the store refuses that row, naming its field)."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


class ScanBatchIn(Schema):
    client_id: str = Field(
        min_length=1, max_length=200, description="the batch's id: a replay changes nothing"
    )
    scans: list[ScanIn] = Field(max_length=10_000)


class ScanProblemOut(Schema):
    row: int
    field: str
    message: str
    message_zh: str


class ScanBatchOut(Schema):
    client_id: str
    stored: int
    refused: int
    replayed: bool
    days: list[str]
    problems: list[ScanProblemOut]


@router.post("/scans", response={200: ScanBatchOut, **errors(400, 403, 409, 422)})
def scans(request, payload: ScanBatchIn):
    """A batch of venue scans from the place-code system: stored for analytics (Parquet
    by day). Replaying a batch (same client id, same scans) changes nothing; malformed
    rows are reported by their number in the batch (1 = first) and field, the rest go in."""
    require(can_send_scans(request.auth))
    from .analytics.store import ScanIn as StoreScan

    outcome = services.scans_receive(
        actor=request.auth,
        client_id=payload.client_id,
        scans=[
            StoreScan(
                venue_code=s.venue_code,
                scanned_at=_when(s.scanned_at),
                person_key=s.person_key,
                id_number=s.id_number,
                id_type=s.id_type,
                name=s.name,
                phone=s.phone,
            )
            for s in payload.scans
        ],
    )
    return {
        "client_id": outcome.client_id,
        "stored": outcome.rows,
        "refused": outcome.bad_rows,
        "replayed": outcome.replayed,
        "days": outcome.days,
        "problems": [
            {
                "row": p.row,
                "field": p.field,
                "message": f"row {p.row}, {p.field}: {p.en}",
                "message_zh": f"第 {p.row} 行「{p.field}」：{p.zh}",
            }
            for p in outcome.problems
        ],
    }


# Match runs -------------------------------------------------------------------------


class CaseOut(Schema):
    id: int
    resident: int
    name: str
    area_code: str
    recorded_at: dt.datetime


@router.get("/cases", response={200: list[CaseOut], **errors(403)})
def case_list(request):
    """Confirmed cases of the caller's jurisdiction (from the labs app)."""
    require(can_run_match(request.auth))
    cases = labs.cases_for(request.auth).filter(status="confirmed").order_by("-recorded_at")[:200]
    return [
        {
            "id": c.pk,
            "resident": c.resident_id,
            "name": c.resident.name,
            "area_code": c.area_code,
            "recorded_at": c.recorded_at,
        }
        for c in cases
    ]


class MatchRunIn(Schema):
    case: int = ID
    window_start: dt.datetime | None = Field(
        None, description="default: the policy's days before sampling"
    )
    window_end: dt.datetime | None = Field(None, description="default: when the case was confirmed")
    onset: dt.datetime | None = Field(
        None,
        description="onset of symptoms: the window starts the policy's days before it if earlier",
    )


class MatchRunOut(Schema):
    id: int
    case: int
    status: str
    window_start: dt.datetime
    window_end: dt.datetime
    margin_minutes: int
    second_degree: bool
    engine: str
    contacts: int
    tasks_created: int
    tasks_merged: int
    unknown: int = Field(
        description="contacts known by no roster and no detail (kept by key only, listed "
        "for the venue's community: GET /screening/unidentified-contacts)"
    )
    registered: int = Field(
        description="contacts on no roster registered from the details their scans gave"
    )
    companions: int = Field(description="time-space companions (from the run's location pings)")
    pings_rows: int = Field(description="location pings read from the run's file")
    pings_refused: int = Field(description="location pings left out (malformed)")
    pings_problems: list[dict[str, Any]] = Field(
        description='the first bad pings: [{"row", "field", "zh", "en"}] (spreadsheet rows)'
    )
    seconds: float
    error: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


def _run_out(r: MatchRun) -> dict:
    return {
        "id": r.pk,
        "case": r.case_id,
        **{
            k: getattr(r, k)
            for k in (
                "status",
                "window_start",
                "window_end",
                "margin_minutes",
                "second_degree",
                "engine",
                "contacts",
                "tasks_created",
                "tasks_merged",
                "unknown",
                "registered",
                "companions",
                "pings_rows",
                "pings_refused",
                "pings_problems",
                "seconds",
                "error",
                "created_at",
                "finished_at",
            )
        },
    }


@router.post("/match-runs", response={200: MatchRunOut, **errors(400, 403, 404, 422)})
def match_run(request, payload: MatchRunIn):
    """Queue exposure matching for a confirmed case; its contacts become trace tasks."""
    require(can_run_match(request.auth))
    r = services.match_run_start(
        actor=request.auth,
        case_id=payload.case,
        window_start=aware(payload.window_start),
        window_end=aware(payload.window_end),
        onset=aware(payload.onset),
    )
    return _run_out(r)


@router.post("/match-runs/with-pings", response={200: MatchRunOut, **errors(400, 403, 404, 422)})
def match_run_with_pings(request, case: Form[QueryId], file: File[UploadedFile]):
    """Queue exposure matching for a confirmed case with a location-ping file (CSV or
    Parquet: `person_id,lat,lon,at`, person ids being person keys): its venue contacts
    and its time-space companions (the companion rule in force) become trace tasks."""
    require(can_run_match(request.auth))
    r = services.match_run_start(actor=request.auth, case_id=case, pings=file)
    return _run_out(r)


def _run(request, run_id: int) -> MatchRun:
    return get_scoped_or_404(MatchRun.objects, request.auth, pk=run_id)


@router.get("/match-runs/{run_id}", response={200: MatchRunOut, **errors(403, 404)})
def match_run_detail(request, run_id: int):
    require(can_run_match(request.auth) or can_trace(request.auth))
    return _run_out(_run(request, run_id))


class ContactOut(Schema):
    person: TrackedPersonOut | None = Field(description="empty: on no roster (kept by key only)")
    category: Category
    degree: int
    venue_code: str = Field(description="empty: the case's household, or a time-space companion")
    case_scanned_at: dt.datetime
    contact_scanned_at: dt.datetime
    minutes_apart: Decimal
    task: int | None


@router.get(
    "/match-runs/{run_id}/contacts", response={200: PageOut[ContactOut], **errors(403, 404, 422)}
)
def match_run_contacts(request, run_id: int, page: int = Query(1, ge=1, le=MAX_PAGE)):
    """The run's contacts in the caller's jurisdiction, with why they were matched."""
    require(can_run_match(request.auth) or can_trace(request.auth))
    r = _run(request, run_id)
    rows = paginate(selectors.run_contacts(r, request.auth), page, 200)
    return page_out(
        rows,
        [
            {
                "person": _person_out(m.person) if m.person else None,
                "category": m.category,
                "degree": m.degree,
                "venue_code": m.venue_code,
                "case_scanned_at": m.case_scanned_at,
                "contact_scanned_at": m.contact_scanned_at,
                "minutes_apart": m.minutes_apart,
                "task": m.task_id,
            }
            for m in rows.items
        ],
    )


class UnidentifiedOut(Schema):
    run: int
    case: int
    person_key: str = Field(description="the key the place-code system sent: ask it who")
    category: Category
    area_code: str = Field(description="where found: the venue's area")
    venue_code: str
    case_scanned_at: dt.datetime
    contact_scanned_at: dt.datetime
    minutes_apart: Decimal


@router.get(
    "/unidentified-contacts",
    response={200: PageOut[UnidentifiedOut], **errors(403, 422)},
)
def unidentified_contacts(
    request,
    area: str = Query("", pattern=r"^\d{0,18}$"),
    page: int = Query(1, ge=1, le=MAX_PAGE),
):
    """Contacts matched on no roster and known by no detail, in the caller's
    jurisdiction (the community of the venue where each was found), newest run first."""
    require(can_trace(request.auth))
    rows = paginate(selectors.unidentified_for(request.auth, area=area), page, 200)
    return page_out(
        rows,
        [
            {
                "run": m.run_id,
                "case": m.run.case_id,
                "person_key": m.person_key,
                "category": m.category,
                "area_code": m.area_code,
                "venue_code": m.venue_code,
                "case_scanned_at": m.case_scanned_at,
                "contact_scanned_at": m.contact_scanned_at,
                "minutes_apart": m.minutes_apart,
            }
            for m in rows.items
        ],
    )
