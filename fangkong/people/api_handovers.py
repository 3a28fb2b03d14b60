"""Hand-overs of residents between communities over JSON: ask, decide, withdraw; the same
services as the hand-over pages. The asking side sees no name and no place until the
office above both communities approves."""

import datetime as dt

from ninja import Field, Query, Router, Schema, Status

from fangkong.core.api import MAX_PAGE, PageOut, errors, page_out, require
from fangkong.core.idnumbers import IdType
from fangkong.core.paging import paginate
from fangkong.core.shortcuts import get_scoped_or_404

from . import selectors, services
from .api import AddressOut, HouseholdIn, _household
from .models import HandOver, HandOverStatus
from .permissions import can_approve_handover, can_edit_residents

router = Router(tags=["hand-overs"])


class HandOverIn(Schema):
    id_type: IdType = IdType.MAINLAND
    id_number: str = Field(max_length=64)
    household: HouseholdIn = Field(description="the new address, in your jurisdiction")
    reason: str = Field(max_length=2000)


class HandOverOut(Schema):
    id: int
    status: HandOverStatus
    resident_id: int | None = Field(description="null while the person is not yet yours")
    name: str | None = Field(description="null while the person is not yet yours")
    id_number_masked: str
    from_community: str | None = Field(description="null while the person is not yet yours")
    to_community: str
    to_household: AddressOut
    approver: str = Field(description="the code of the office that decides")
    reason: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    decision_reason: str


class DecisionIn(Schema):
    reason: str = Field("", max_length=2000, description="required to decline")


def handover_out(user, h: HandOver) -> dict:
    visible = user.may_see_area(h.resident.area_code)
    building = h.to_household.building
    return {
        "id": h.pk,
        "status": h.status,
        "resident_id": h.resident_id if visible else None,
        "name": h.resident.name if visible else None,
        "id_number_masked": h.resident.id_masked,
        "from_community": h.from_code if visible else None,
        "to_community": h.to_code,
        "to_household": {
            "id": h.to_household_id,
            "building_code": building.code,
            "unit": h.to_household.unit,
            "room": h.to_household.room,
            "address": str(h.to_household),
        },
        "approver": h.approver_code,
        "reason": h.reason,
        "requested_at": h.requested_at,
        "decided_at": h.decided_at,
        "decision_reason": h.decision_reason,
    }


class HandOverFilters(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE)


def _handover(request, handover_id: int) -> HandOver:
    require(can_edit_residents(request.auth) or can_approve_handover(request.auth))
    return get_scoped_or_404(
        HandOver.objects.select_related("resident", "to_household__building"),
        request.auth,
        pk=handover_id,
    )


@router.get("/", response={200: PageOut[HandOverOut], **errors(403, 422)})
def handover_list(request, filters: Query[HandOverFilters]):
    """Hand-overs touching your jurisdiction, newest first."""
    require(can_edit_residents(request.auth) or can_approve_handover(request.auth))
    page = paginate(selectors.handovers_of(request.auth), filters.page, 50)
    return page_out(page, [handover_out(request.auth, h) for h in page.items])


@router.post("/", response={201: HandOverOut, **errors(400, 403, 409, 422)})
def handover_request(request, payload: HandOverIn):
    """Ask for a person registered in another community (a 409 `held_elsewhere` from
    `POST /residents/`) to move to an address of yours. Asking again joins the request."""
    require(can_edit_residents(request.auth))
    household = _household(request.auth, payload.household)
    handover = services.handover_request(
        actor=request.auth,
        household=household,
        id_type=payload.id_type,
        id_number=payload.id_number,
        reason=payload.reason,
    )
    return Status(201, handover_out(request.auth, _handover(request, handover.pk)))


@router.get("/{handover_id}", response={200: HandOverOut, **errors(403, 404)})
def handover_detail(request, handover_id: int):
    return handover_out(request.auth, _handover(request, handover_id))


def _decide(request, handover_id: int, action: str, reason: str) -> dict:
    handover = _handover(request, handover_id)
    if action == "cancel":
        services.handover_cancel(actor=request.auth, handover=handover, reason=reason)
    else:
        services.handover_decide(
            actor=request.auth, handover=handover, approve=action == "approve", reason=reason
        )
    return handover_out(request.auth, _handover(request, handover_id))


DECIDED = {200: HandOverOut, **errors(400, 403, 404, 409, 422)}


@router.post("/{handover_id}/approve", response=DECIDED)
def handover_approve(request, handover_id: int, payload: DecisionIn):
    """The office above both communities approves: the person moves to the new address."""
    return _decide(request, handover_id, "approve", payload.reason)


@router.post("/{handover_id}/decline", response=DECIDED)
def handover_decline(request, handover_id: int, payload: DecisionIn):
    """The office above both communities declines, with a reason."""
    return _decide(request, handover_id, "decline", payload.reason)


@router.post("/{handover_id}/cancel", response=DECIDED)
def handover_cancel(request, handover_id: int, payload: DecisionIn):
    """The asking community withdraws a request still waiting."""
    return _decide(request, handover_id, "cancel", payload.reason)
