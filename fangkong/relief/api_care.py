"""Proactive care and the psychological hotline over JSON: the twins of the care-plan,
check-in and hotline pages (issue 8, §5). Every operation calls the same service as the
page; refusals come back in the API's one error shape.

A hotline ticket's caller, content and notes are read only by its counsellor and the
hotline lead, as on the pages: for anyone else a ticket is missing (404), and no answer
but the audited read carries its words."""

import datetime as dt
from typing import Literal

from django.contrib.auth import get_user_model
from django.http import Http404, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.responses import Status

from fangkong.areas.models import Area
from fangkong.core.api import errors, require
from fangkong.core.errors import DomainError, NotFound
from fangkong.core.shortcuts import get_scoped_or_404

from . import selectors, services
from .models import CareSchedule, HotlineStaff, HotlineTicket
from .permissions import can_check_in, can_plan_care, hotline_role

router = Router(tags=["relief"])
AREA = Field(min_length=1, max_length=18, pattern=r"^\d+$", description="a community's code")


def _area(request, code: str) -> Area:
    return get_scoped_or_404(Area.objects, request.auth, code=code)


# Care plan (the page's "sync" and "packages" actions)


class ReliefCareSyncIn(Schema):
    area: str = AREA


class ReliefCareSyncOut(Schema):
    created: int
    updated: int
    ended: int


@router.post(
    "/care/schedules/sync", response={200: ReliefCareSyncOut, **errors(400, 403, 404, 422)}
)
def care_sync(request, payload: ReliefCareSyncIn):
    """Make (or bring up to date) the check-in schedules of an area's vulnerable residents
    from the roster's tags and the care policy; end those no longer tagged."""
    require(can_plan_care(request.auth))
    return services.care_schedules_sync(actor=request.auth, area=_area(request, payload.area))


class ReliefCarePackagesIn(Schema):
    area: str = AREA
    name: str = Field(min_length=1, max_length=60)
    contents: str = Field(min_length=1, max_length=300)
    planned_for: dt.date | None = Field(None, description="empty: today")


class ReliefCarePackagesOut(Schema):
    id: int
    name: str
    area_code: str
    contents: str
    planned_for: dt.date
    households: int


@router.post("/care/packages", response={201: ReliefCarePackagesOut, **errors(400, 403, 404, 422)})
def care_packages(request, payload: ReliefCarePackagesIn):
    """A round of care packages for the households of an area with a vulnerable member."""
    require(can_plan_care(request.auth))
    plan = services.care_packages_plan(
        actor=request.auth,
        area=_area(request, payload.area),
        name=payload.name,
        contents=payload.contents,
        planned_for=payload.planned_for or timezone.localdate(),
    )
    body = {
        "id": plan.pk,
        "name": plan.name,
        "area_code": plan.area.code,
        "contents": plan.contents,
        "planned_for": plan.planned_for,
        "households": plan.packages.count(),
    }
    return Status(201, body)


# Check-ins


class ReliefCheckInIn(Schema):
    outcome: Literal["well", "need", "unreached"]
    note: str = Field("", max_length=500)
    category: str = Field("", max_length=40, description="need: the category of need found")
    detail: str = Field("", max_length=1000)


class ReliefCheckInOut(Schema):
    id: int
    schedule: int
    outcome: str
    at: dt.datetime
    next_due_at: dt.datetime
    request: int | None = Field(description="the need registered on the spot, if any")


@router.post(
    "/care/schedules/{int:pk}/checkins",
    response={201: ReliefCheckInOut, **errors(400, 403, 404, 422)},
)
def checkin(request, pk: int, payload: ReliefCheckInIn):
    """A call or visit done on a schedule of the caller's jurisdiction."""
    require(can_check_in(request.auth))
    schedule = get_scoped_or_404(CareSchedule.objects, request.auth, pk=pk)
    row = services.checkin_record(actor=request.auth, schedule=schedule, **payload.dict())
    body = {
        "id": row.pk,
        "schedule": row.schedule_id,
        "outcome": row.outcome,
        "at": row.at,
        "next_due_at": row.schedule.next_due_at,
        "request": row.request_id,
    }
    return Status(201, body)


# Hotline


class ReliefShiftIn(Schema):
    on: bool


class ReliefShiftOut(Schema):
    on: bool
    posts: int = Field(description="the caller's hotline posts now on (or off) shift")


@router.post("/hotline/shift", response={200: ReliefShiftOut, **errors(403, 422)})
def hotline_shift(request, payload: ReliefShiftIn):
    """A counsellor goes on or off the hotline (new calls go to those on shift)."""
    changed = services.hotline_shift(actor=request.auth, on=payload.on)
    return {"on": payload.on, "posts": changed}


class ReliefTicketOut(Schema):
    id: int
    area_code: str
    topic: str
    risk: str
    status: str
    opened_at: dt.datetime
    assignee: str | None
    follow_up_at: dt.datetime | None
    closed_at: dt.datetime | None


def ticket_out(ticket: HotlineTicket) -> dict:
    """A ticket's facts, without its caller, content or notes."""
    return {
        "id": ticket.pk,
        "area_code": ticket.area_code,
        "topic": ticket.topic,
        "risk": ticket.risk,
        "status": ticket.status,
        "opened_at": ticket.opened_at,
        "assignee": ticket.assignee.username if ticket.assignee is not None else None,
        "follow_up_at": ticket.follow_up_at,
        "closed_at": ticket.closed_at,
    }


class ReliefTicketOpenIn(Schema):
    topic: str = Field(min_length=1, max_length=20)
    content: str = Field(min_length=1, max_length=4000)
    caller: str = Field("", max_length=100)
    risk: Literal["none", "elevated", "high"] = "none"
    client_id: str = Field("", max_length=64, pattern=r"^[A-Za-z0-9._:-]*$")
    area: str = Field(
        "", max_length=18, pattern=r"^\d*$", description="empty: the area of the caller's post"
    )


@router.post("/hotline/tickets", response={201: ReliefTicketOut, **errors(400, 403, 404, 409, 422)})
def ticket_open(request, payload: ReliefTicketOpenIn):
    """Log a call, as the hotline page does: a counsellor's own call stays with them; the
    lead's goes to the counsellor on shift with the fewest open tickets. Idempotent by
    `client_id`."""
    user = request.auth
    if hotline_role(user) is None:
        raise Http404
    posts = HotlineStaff.objects.filter(user=user, active=True).select_related("area")
    if payload.area:
        post = next((p for p in posts if payload.area.startswith(p.area_code)), None)
        area = Area.objects.filter(code=payload.area).first() if post else None
    else:
        area = next((p.area for p in posts), None)
    if area is None:
        raise Http404
    made = services.ticket_open(actor=user, area=area, **payload.dict(exclude={"area"}))
    return Status(201, ticket_out(made))


def _ticket(request, pk: int) -> HotlineTicket:
    """A ticket the caller may work (its counsellor or the lead), else 404: a refusal
    tells no more than a missing ticket (as on the page)."""
    found = selectors.workable_ticket(request.auth, pk)
    if found is None:
        raise Http404
    return found


class ReliefTicketNoteOut(Schema):
    at: dt.datetime
    by: str
    text: str


class ReliefTicketContentOut(ReliefTicketOut):
    caller: str
    content: str
    notes: list[ReliefTicketNoteOut]


@router.get("/hotline/tickets/{int:pk}", response={200: ReliefTicketContentOut, **errors(403, 404)})
def ticket(request, pk: int, response: HttpResponse):
    """A ticket with its caller, content and follow-ups: for its counsellor and the
    hotline lead only; audited."""
    found = _ticket(request, pk)
    try:
        read = services.ticket_read(actor=request.auth, ticket=found)
    except DomainError:
        raise Http404 from None
    response["Cache-Control"] = "no-store"
    notes = [{"at": at, "by": by, "text": text} for at, by, text in read["notes"]]
    return {
        **ticket_out(found),
        "caller": read["caller"],
        "content": read["content"],
        "notes": notes,
    }


class ReliefTicketStepIn(Schema):
    action: Literal["note", "risk", "assign", "close"]
    text: str = Field("", max_length=4000, description="note: the follow-up")
    follow_up_at: dt.datetime | None = Field(None, description="note: when to call back")
    risk: Literal["none", "elevated", "high"] | None = None
    reason: str = Field("", max_length=500, description="risk, close: why")
    counsellor: int | None = Field(None, ge=1, le=2**63 - 1, description="assign: to whom")


@router.post(
    "/hotline/tickets/{int:pk}/steps",
    response={200: ReliefTicketOut, **errors(400, 403, 404, 422)},
)
def ticket_step(request, pk: int, payload: ReliefTicketStepIn):
    """A step on a ticket, as the ticket page's forms: a follow-up note (and when to call
    back), a risk change (high alerts the lead), a hand-over (the lead), closing."""
    found = _ticket(request, pk)
    user, p = request.auth, payload
    if p.action == "note":
        when = p.follow_up_at
        if when is not None and timezone.is_naive(when):
            when = timezone.make_aware(when)
        services.ticket_note(actor=user, ticket=found, text=p.text, follow_up_at=when)
    elif p.action == "risk":
        services.ticket_set_risk(actor=user, ticket=found, risk=p.risk or "", reason=p.reason)
    elif p.action == "assign":
        counsellor = get_user_model().objects.filter(pk=p.counsellor or 0).first()
        if counsellor is None:
            raise NotFound("没有这位咨询员", "no such counsellor", field="counsellor")
        services.ticket_assign(actor=user, ticket=found, counsellor=counsellor)
    else:
        services.ticket_close(actor=user, ticket=found, reason=p.reason)
    return ticket_out(_ticket_row(pk))


def _ticket_row(pk: int) -> HotlineTicket:
    return HotlineTicket.objects.select_related("assignee").get(pk=pk)
