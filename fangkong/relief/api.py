"""Relief over JSON: ask (idempotent by client_id), the queue, a need and its steps,
dispatch (one or a batch), the worker's tasks, supply points and stock, the numbers.
Every action calls the same service as the page; refusals come back in the API's one
error shape (fangkong/api.py), in Chinese and English."""

import datetime as dt
from typing import Annotated, Literal

from django.contrib.auth import get_user_model
from django.http import Http404, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from fangkong.areas.models import Area, Household
from fangkong.core.api import errors, require
from fangkong.core.errors import DomainError, NotFound
from fangkong.core.roles import Role
from fangkong.core.shortcuts import get_scoped_or_404

from . import selectors, services
from .models import (
    ACTIVE,
    DispatchTeam,
    Escalation,
    MovementKind,
    ReliefRequest,
    Stock,
    SupplyPoint,
)
from .permissions import (
    can_deliver,
    can_read_numbers,
    can_read_stock,
    can_register_for_resident,
    can_request_help,
    can_triage,
)

router = Router(tags=["relief"])
ID = Field(None, ge=1, le=2**63 - 1)
CLIENT_ID = Field(
    min_length=1,
    max_length=64,
    pattern=r"^[A-Za-z0-9._:-]+$",
    description="made by the device for this ask (a UUID): sending it again changes nothing",
)


class CategoryOut(Schema):
    code: str
    name: str
    kind: str
    urgency: str


class NeedOut(Schema):
    id: int
    status: str
    urgency: str
    category: str
    category_name: str
    kind: str
    household: int
    address: str
    area_code: str
    detail: str
    channel: str
    registered_at: dt.datetime
    deadline: dt.datetime
    overdue: bool
    sla_version: int
    assignee: str | None
    team: str | None
    repeats: int
    reopened: int
    problem: str
    contact_phone_masked: str
    delivered_at: dt.datetime | None
    confirm_code: str | None = Field(
        None, description="only for the household itself: what it tells the volunteer at the door"
    )


def need_out(need: ReliefRequest, user) -> dict:
    own = user.role == Role.RESIDENT and need.status in ACTIVE
    return {
        "id": need.pk,
        "status": need.status,
        "urgency": need.urgency,
        "category": need.category.code,
        "category_name": need.category.name,
        "kind": need.kind,
        "household": need.household_id,
        "address": str(need.household),
        "area_code": need.area_code,
        "detail": need.detail,
        "channel": need.channel,
        "registered_at": need.registered_at,
        "deadline": need.deadline,
        "overdue": need.is_overdue,
        "sla_version": need.sla_version,
        "assignee": need.assignee.username if need.assignee is not None else None,
        "team": need.team.name if need.team is not None else None,
        "repeats": need.repeats,
        "reopened": need.reopened,
        "problem": need.problem,
        "contact_phone_masked": need.contact_phone_masked,
        "delivered_at": need.delivered_at,
        "confirm_code": need.confirm_code if own else None,
    }


def _need(request, pk: int) -> ReliefRequest:
    return get_scoped_or_404(
        ReliefRequest.objects.select_related(
            "category", "household__building__parent", "assignee", "team"
        ),
        request.auth,
        pk=pk,
    )


@router.get("/categories", response={200: list[CategoryOut], **errors(403, 404, 422)})
def categories(request, area: str = Query("", pattern=r"^\d{0,18}$")):
    """The categories of need offered in an area (a resident: their own household's)."""
    user = request.auth
    if user.role == Role.RESIDENT:
        require(can_request_help(user))
        if user.resident is None:
            raise Http404
        code, residents = user.resident.area_code, True
    else:
        require(can_register_for_resident(user) or can_triage(user))
        code, residents = area or (user.scope_prefixes() or [""])[0], False
        if not code or not user.may_see_area(code):
            raise Http404
    return [
        {"code": c.code, "name": c.name, "kind": c.kind, "urgency": c.urgency}
        for c in selectors.categories_for(code, residents=residents)
    ]


class AskIn(Schema):
    client_id: str = CLIENT_ID
    category: str = Field(max_length=40)
    household: int | None = Field(None, ge=1, le=2**63 - 1, description="staff: the household")
    resident: int | None = Field(None, ge=1, le=2**63 - 1, description="who it is for")
    urgency: Literal["critical", "urgent", "normal"] | None = None
    detail: str = Field("", max_length=1000)
    contact_phone: str = Field("", max_length=20)


class AskOut(Schema):
    outcome: str = Field(description="created, merged (into the household's open need) or repeat")
    message: str
    message_zh: str
    need: NeedOut


@router.post(
    "/requests",
    response={201: AskOut, 200: AskOut, **errors(400, 403, 404, 409, 422)},
    summary="Ask for help (idempotent by client_id)",
)
def ask(request, payload: AskIn):
    """Register a need: a resident for their household, a worker for a household of their
    jurisdiction. 201 when a need was made; 200 when it was merged into the household's
    open need of the same category, or when this client_id was sent before (nothing
    changes)."""
    done = services.request_register(actor=request.auth, **payload.dict())
    if not ReliefRequest.household.is_cached(done.request):  # a new need: its address
        done.request.household = Household.objects.select_related("building__parent").get(
            pk=done.request.household_id
        )
    zh, en = done.message
    body = {
        "outcome": done.outcome,
        "message": en,
        "message_zh": zh,
        "need": need_out(done.request, request.auth),
    }
    return Status(201 if done.outcome == "created" else 200, body)


class QueueOut(Schema):
    items: list[NeedOut]
    next_cursor: str = Field(description="pass as `after` for the next page; empty: the last")


@router.get("/requests", response={200: QueueOut, **errors(403, 422)})
def needs(
    request,
    area: str = Query("", pattern=r"^\d{0,18}$"),
    category: str = Query("", max_length=40),
    urgency: str = Query("", pattern=r"^(critical|urgent|normal)?$"),
    after: str = Query("", max_length=60),
):
    """A resident: their household's needs, newest first. Triage staff: the open needs of
    their jurisdiction by deadline, overdue first (keyset pages)."""
    user = request.auth
    if user.role == Role.RESIDENT:
        require(can_request_help(user))
        rows = list(selectors.household_needs(user))
        return {"items": [need_out(n, user) for n in rows], "next_cursor": ""}
    require(can_triage(user))
    page = selectors.queue(user, area=area, category=category, urgency=urgency, after=after)
    return {"items": [need_out(n, user) for n in page.items], "next_cursor": page.next_cursor}


@router.get("/requests/{int:pk}", response={200: NeedOut, **errors(404)})
def need(request, pk: int):
    return need_out(_need(request, pk), request.auth)


class EventOut(Schema):
    at: dt.datetime
    kind: str
    status: str
    by: str
    note: str


@router.get("/requests/{int:pk}/history", response={200: list[EventOut], **errors(404)})
def history(request, pk: int):
    """Every step of a need, time-stamped and attributed (reopened needs keep theirs)."""
    found = _need(request, pk)
    return [
        {"at": e.at, "kind": e.kind, "status": e.status, "by": e.actor_name, "note": e.note}
        for e in found.events.all()
    ]


class SuggestionOut(Schema):
    user_id: int
    username: str
    name: str
    role: str
    open_tasks: int
    nearness: int
    skill: bool | None
    on_shift: bool | None


@router.get(
    "/requests/{int:pk}/suggestions", response={200: list[SuggestionOut], **errors(403, 404)}
)
def suggestions(request, pk: int):
    require(can_triage(request.auth))
    found = _need(request, pk)
    if not request.auth.may_see_area(found.area_code):
        raise Http404
    return [
        {
            "user_id": s.user.pk,
            "username": s.user.username,
            "name": str(s.user),
            "role": s.user.role,
            "open_tasks": s.open_tasks,
            "nearness": s.nearness,
            "skill": s.skill,
            "on_shift": s.on_shift,
        }
        for s in selectors.suggest_assignees(found)
    ]


class DispatchIn(Schema):
    assignee: int | None = ID
    team: int | None = ID


def _taker(request, payload) -> tuple:
    assignee = team = None
    if payload.assignee:
        assignee = get_user_model().objects.filter(pk=payload.assignee, is_active=True).first()
        if assignee is None:
            raise NotFound("没有这位人员", "no such person", field="assignee")
    if payload.team:
        team = DispatchTeam.objects.for_user(request.auth).filter(pk=payload.team).first()
        if team is None:
            raise NotFound("没有这个小组", "no such team", field="team")
    return assignee, team


@router.post("/requests/{int:pk}/dispatch", response={200: NeedOut, **errors(400, 403, 404, 422)})
def dispatch(request, pk: int, payload: DispatchIn):
    found = _need(request, pk)
    assignee, team = _taker(request, payload)
    done = services.request_dispatch(
        actor=request.auth, request=found, assignee=assignee, team=team
    )
    return need_out(done, request.auth)


NeedId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class BatchIn(DispatchIn):
    requests: list[NeedId] = Field(min_length=1, max_length=500)
    note: str = Field("", max_length=200)


class BatchOut(Schema):
    batch: int
    size: int


@router.post("/requests/dispatch-batch", response={200: BatchOut, **errors(400, 403, 404, 422)})
def dispatch_batch(request, payload: BatchIn):
    """Many needs to one person or team (all or none)."""
    require(can_triage(request.auth))
    visible = list(
        ReliefRequest.objects.in_jurisdiction(request.auth).filter(pk__in=payload.requests)
    )
    missing = set(payload.requests) - {n.pk for n in visible}
    if missing:
        raise NotFound(f"没有诉求#{min(missing)}", f"no need #{min(missing)}", field="requests")
    assignee, team = _taker(request, payload)
    batch = services.requests_dispatch_batch(
        actor=request.auth, requests=visible, assignee=assignee, team=team, note=payload.note
    )
    return {"batch": batch.pk, "size": batch.size}


class DrawIn(Schema):
    stock: int = Field(ge=1, le=2**63 - 1)
    quantity: int = Field(ge=1, le=1_000_000)


class StepIn(Schema):
    action: Literal[
        "accept",
        "pick_up",
        "deliver",
        "problem",
        "confirm",
        "complain",
        "cancel",
        "reopen",
        "urgency",
    ]
    code: str = Field("", max_length=6, description="deliver: the resident's confirmation code")
    reason: str = Field("", max_length=500)
    urgency: Literal["critical", "urgent", "normal"] | None = None
    draws: list[DrawIn] = Field(default_factory=list, max_length=50)
    client_id: str = Field("", max_length=64)


@router.post(
    "/requests/{int:pk}/status", response={200: NeedOut, **errors(400, 403, 404, 409, 422)}
)
def step(request, pk: int, payload: StepIn):
    """A status change: the worker's accept, pick_up (drawing stock), deliver (with the
    code; a photo is sent from the page), problem; the household's confirm, complain,
    cancel; triage's cancel, reopen, urgency. Reasons are required where a page asks one."""
    found = _need(request, pk)
    user, p = request.auth, payload
    if p.action == "deliver" and not p.code:
        raise DomainError(
            "接口送达须提供确认码（拍照请用页面）",
            "deliver over the API with the confirmation code (a photo goes through the page)",
            field="code",
        )
    draws = []
    for d in p.draws:
        stock = Stock.objects.select_related("point").filter(pk=d.stock).first()
        if stock is None:
            raise NotFound(f"没有库存{d.stock}", f"no stock {d.stock}", field="draws")
        draws.append((stock, d.quantity))
    calls = {
        "accept": lambda: services.request_accept(actor=user, request=found),
        "pick_up": lambda: services.request_pick_up(
            actor=user, request=found, draws=draws, client_id=p.client_id
        ),
        "deliver": lambda: services.request_deliver(actor=user, request=found, code=p.code),
        "problem": lambda: services.request_report_problem(
            actor=user, request=found, reason=p.reason
        ),
        "confirm": lambda: services.request_confirm(actor=user, request=found),
        "complain": lambda: services.request_complain(actor=user, request=found, reason=p.reason),
        "cancel": lambda: services.request_cancel(actor=user, request=found, reason=p.reason),
        "reopen": lambda: services.request_reopen(actor=user, request=found, reason=p.reason),
        "urgency": lambda: services.request_set_urgency(
            actor=user, request=found, urgency=p.urgency or "", reason=p.reason
        ),
    }
    calls[p.action]()
    return need_out(_need(request, pk), user)


@router.get("/tasks", response={200: list[NeedOut], **errors(403)})
def tasks(request):
    """The worker's tasks: open ones by deadline, then those delivered in two days."""
    require(can_deliver(request.auth))
    return [need_out(n, request.auth) for n in selectors.tasks_of(request.auth)[:200]]


class StockOut(Schema):
    id: int
    item: str
    unit: str
    quantity: int
    low: bool


class PointOut(Schema):
    id: int
    name: str
    area_code: str
    address: str
    keeper: str | None
    stock: list[StockOut]


def point_out(point: SupplyPoint) -> dict:
    return {
        "id": point.pk,
        "name": point.name,
        "area_code": point.area_code,
        "address": point.address,
        "keeper": point.keeper.username if point.keeper is not None else None,
        "stock": [
            {
                "id": s.pk,
                "item": s.item,
                "unit": s.unit,
                "quantity": s.quantity,
                "low": s.low_since is not None,
            }
            for s in point.stock.all()
        ],
    }


@router.get("/supply-points", response={200: list[PointOut], **errors(403)})
def supply_points(request):
    require(can_read_stock(request.auth))
    rows = selectors.points_for(request.auth).prefetch_related("stock")[:200]
    return [point_out(p) for p in rows]


class ReceiveIn(Schema):
    item: str = Field(min_length=1, max_length=60)
    quantity: int = Field(ge=1, le=1_000_000)
    kind: Literal["arrival", "donation"] = "arrival"
    source: str = Field("", max_length=100)
    unit: str = Field("", max_length=10)
    client_id: str = Field("", max_length=64)


class MovementOut(Schema):
    stock: int
    item: str
    kind: str
    quantity: int
    balance: int


def movement_out(m) -> dict:
    return {
        "stock": m.stock_id,
        "item": m.stock.item,
        "kind": m.kind,
        "quantity": m.quantity,
        "balance": m.balance,
    }


@router.post(
    "/supply-points/{int:pk}/stock", response={200: MovementOut, **errors(400, 403, 404, 422)}
)
def receive(request, pk: int, payload: ReceiveIn):
    """An arrival or a donation (with its source) at a supply point."""
    point = get_scoped_or_404(SupplyPoint.objects, request.auth, pk=pk)
    moved = services.stock_receive(
        actor=request.auth,
        point=point,
        kind=MovementKind(payload.kind),
        **payload.dict(exclude={"kind"}),
    )
    return movement_out(moved)


class DrawOneIn(Schema):
    quantity: int = Field(ge=1, le=1_000_000)
    request: int | None = ID
    client_id: str = Field("", max_length=64)


@router.post("/stock/{int:pk}/draw", response={200: MovementOut, **errors(400, 403, 404, 422)})
def draw(request, pk: int, payload: DrawOneIn):
    """Take stock out (refused, with what is left, if there is not enough)."""
    stock = get_scoped_or_404(Stock.objects.select_related("point"), request.auth, pk=pk)
    found = _need(request, payload.request) if payload.request else None
    moved = services.stock_draw(
        actor=request.auth,
        stock=stock,
        quantity=payload.quantity,
        request=found,
        client_id=payload.client_id,
    )
    return movement_out(moved)


class ReliefAdjustIn(Schema):
    counted: int = Field(ge=0, le=1_000_000, description="the quantity found")
    reason: str = Field(min_length=1, max_length=200)


@router.post("/stock/{int:pk}/adjust", response={200: MovementOut, **errors(400, 403, 404, 422)})
def adjust(request, pk: int, payload: ReliefAdjustIn):
    """A stocktake, as the supply point's page records it: the count found replaces the
    book count, with a reason."""
    stock = get_scoped_or_404(Stock.objects.select_related("point"), request.auth, pk=pk)
    moved = services.stock_adjust(
        actor=request.auth, stock=stock, counted=payload.counted, reason=payload.reason
    )
    return movement_out(moved)


class ReliefContactIn(Schema):
    reason: str = Field("", max_length=200, description="empty: the need's own purpose")


class ReliefContactOut(Schema):
    phone: str


@router.post(
    "/requests/{int:pk}/contact", response={200: ReliefContactOut, **errors(400, 403, 404, 422)}
)
def contact(request, pk: int, response: HttpResponse, payload: ReliefContactIn | None = None):
    """The contact's full number, to call (the page's call button): for the worker
    carrying the need while it is open, or triage staff of the area; audited."""
    found = _need(request, pk)
    reason = payload.reason if payload else ""
    phone = services.request_contact_reveal(actor=request.auth, request=found, reason=reason)
    response["Cache-Control"] = "no-store"
    return {"phone": phone}


class ReliefAckIn(Schema):
    note: str = Field("", max_length=300)


class ReliefEscalationOut(Schema):
    id: int
    acknowledged_at: dt.datetime | None
    note: str


@router.post(
    "/escalations/{int:pk}/ack",
    response={200: ReliefEscalationOut, **errors(403, 404, 422)},
)
def escalation_ack(request, pk: int, payload: ReliefAckIn | None = None):
    """Take an overdue need's escalation in hand, as the escalations page does."""
    require(can_triage(request.auth))
    row = get_scoped_or_404(Escalation.objects, request.auth, pk=pk)
    note = payload.note if payload else ""
    row = services.escalation_acknowledge(actor=request.auth, escalation=row, note=note)
    return {"id": row.pk, "acknowledged_at": row.acknowledged_at, "note": row.note}


class ReliefNumbersOut(Schema):
    area_code: str
    registered: int
    deliveries: int
    gas_cylinders: int
    medicine: int
    transports: int
    hotline_calls: int
    met: int
    late: int
    met_share: float | None
    median_minutes: float | None
    p90_minutes: float | None
    open_now: int
    overdue_now: int
    by_category: list[dict]
    by_area: list[dict]


@router.get("/numbers/{code}", response={200: ReliefNumbersOut, **errors(403, 404, 422)})
def numbers(request, code: str, since: dt.date | None = None):
    """The relief numbers of an area of the reader's jurisdiction (since a local day)."""
    require(can_read_numbers(request.auth))
    if not code.isdigit():
        raise Http404
    area = get_scoped_or_404(Area.objects, request.auth, code=code)
    start = selectors.day_bounds(since)[0] if since else None
    figures = selectors.relief_numbers(area.code, since=start)
    return {**figures.__dict__, "met_share": figures.met_share}
