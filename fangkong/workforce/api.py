"""The workforce over JSON (/api/v1/workforce/...), for the phone pages and for an
organ's own HR system: register, report in, requests, allocation runs and their results,
check-in and out (batch, idempotent), call-outs and answers, the numbers.

Every operation needs a token or a session (as the whole API does): a worker registers
themself on the public page (/workforce/register/); offices, liaisons and HR systems
register workers here.

The same services as the pages; the one error shape of fangkong/api.py. See docs/api.md.
"""

import dataclasses
import datetime as dt
from typing import BinaryIO, cast

from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from fangkong.areas.models import Area, Level
from fangkong.core import signing
from fangkong.core.api import MAX_PAGE, JsonId, PageOut, QueryId, aware, errors, page_out, require
from fangkong.core.errors import DomainError, NotFound
from fangkong.core.paging import paginate
from fangkong.core.phones import mask_phone
from fangkong.core.shortcuts import get_scoped_or_404

from . import bulk, selectors, services
from .jurisdiction import worker_of
from .models import (
    AllocationRun,
    CallOut,
    CallOutResponse,
    Enrollment,
    ProposedSeat,
    Skill,
    StaffingRequest,
    Worker,
)
from .permissions import (
    can_allocate,
    can_call_out,
    can_check_in,
    can_confirm_enrollment,
    can_read_numbers,
    can_read_workers,
    can_request_staff,
)

router = Router(tags=["workforce"])
CLIENT_ID = Field(
    min_length=1,
    max_length=64,
    pattern=r"^[A-Za-z0-9._:-]+$",
    description="made on the device (a UUID); the key of idempotency",
)
CODE = Field("", max_length=1500, description="a signed code as scanned, FK2.…")


def _area(request, code: str, *levels) -> Area:
    areas = Area.objects.filter(level__in=levels) if levels else Area.objects
    return get_scoped_or_404(areas, request.auth, code=code)


def _skill(code: str | None) -> Skill | None:
    if not code:
        return None
    skill = Skill.objects.filter(code=code).first()
    if skill is None:
        raise DomainError(f"技能{code}不存在", f"unknown skill {code}", field="skill")
    return skill


# Keys and the worker's own record ---------------------------------------------------------


class KeysOut(Schema):
    keys: dict[str, str] = Field(description="key id -> raw Ed25519 public key, base64url")


@router.get("/keys", response={200: KeysOut, **errors()}, summary="Keys to check codes offline")
def keys(request):
    """Every verifying key by id: a phone checks a community's or a post's printed code
    (FK2, docs/api.md) with these, without the network."""
    return {"keys": signing.public_keys()}


class WorkerIn(Schema):
    name: str = Field(max_length=100)
    id_type: str = Field("ID", max_length=2, description="ID, PP, HM or TW")
    id_number: str = Field(max_length=40)
    phone: str = Field(max_length=30)
    home_community: str = Field(pattern=r"^\d{12}$", description="the community's area code")
    organ: JsonId | None = Field(None, description="organ id; none: a volunteer")
    party_member: bool = False
    skills: list[str] = Field(default_factory=list, max_length=30, description="skill codes")
    days: int = Field(127, ge=1, le=127, description="weekdays as bits: Monday 1 … Sunday 64")
    day_from: dt.time = dt.time(7)
    day_until: dt.time = dt.time(22)
    nights: bool = False
    enrol_at: str = Field("", pattern=r"^(\d{12})?$", description="stranded: report in here")
    password: str = Field("", max_length=128, description="make a login (user name: the phone)")
    client_id: str = Field("", max_length=64)


class WorkerOut(Schema):
    id: int
    name: str
    kind: str
    organ: str | None
    phone_masked: str
    id_masked: str
    party_member: bool
    skills: list[str]
    home_community: str
    area_code: str = Field(description="where the worker serves now")
    status: str
    status_until: dt.datetime | None
    resident_linked: bool
    username: str | None = Field(
        description="the login; a phone number is masked (in full only to its worker and "
        "in the answer to the registration)"
    )


def _login(w: Worker, *, in_full: bool) -> str | None:
    """A worker's login. It is usually their phone number, which is personal data: shown
    masked as the phone is (the full number needs `reveal`, audited), except to the
    worker themself and to whoever has just registered them with that number."""
    if w.user is None:
        return None
    name = w.user.username
    return name if in_full or not name.isdigit() else mask_phone(name)


def _worker_out(w: Worker, *, login_in_full: bool = False) -> dict:
    return {
        "id": w.pk,
        "name": w.name,
        "kind": w.kind,
        "organ": w.organ.name if w.organ is not None else None,
        "phone_masked": w.phone_masked,
        "id_masked": w.id_masked,
        "party_member": w.party_member,
        "skills": sorted(s.code for s in w.skills.all()),
        "home_community": w.home_code,
        "area_code": w.area_code,
        "status": w.status,
        "status_until": w.status_until,
        "resident_linked": w.resident_id is not None,
        "username": _login(w, in_full=login_in_full),
    }


def _register(actor, payload: WorkerIn) -> Worker:
    data = services.worker_validate(
        **payload.dict(
            include={
                "name",
                "id_type",
                "id_number",
                "phone",
                "home_community",
                "organ",
                "party_member",
                "skills",
                "days",
                "day_from",
                "day_until",
                "nights",
            }
        )
    )
    enrol_at = None
    if payload.enrol_at and payload.enrol_at != data.home_community.code:
        enrol_at = Area.objects.filter(code=payload.enrol_at, level=Level.COMMUNITY).first()
        if enrol_at is None:
            raise DomainError("所在社区不存在", "no such community", field="enrol_at")
    return services.worker_register(
        actor=actor,
        data=data,
        enrol_at=enrol_at,
        password=payload.password,
        client_id=payload.client_id,
    )


@router.post("/workers", response={201: WorkerOut, **errors(400, 403, 409, 422)})
def worker_create(request, payload: WorkerIn):
    """An office or an organ's liaison (its own staff) registers a worker."""
    return Status(201, _worker_out(_register(request.auth, payload), login_in_full=True))


class BulkOut(Schema):
    id: int
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    rejections: list[dict] = Field(
        description="[{row, column, reason_zh, reason_en, problems: "
        "[{column, reason_zh, reason_en}]}]: every column at fault in the row"
    )


@router.post("/workers/bulk", response={200: BulkOut, **errors(400, 403, 422)})
def workers_bulk(request, file: File[UploadedFile], organ: QueryId | None = None):
    """Enrol an organ's staff from an .xlsx or .csv (see docs/workforce.md for the
    columns). Bad rows are listed with row, column and reason; the good ones go in; the
    same file again changes nothing."""
    job = bulk.bulk_enrol(
        actor=request.auth,
        file_name=file.name or "",
        # An upload reads, seeks and tells like an open binary file.
        stream=cast(BinaryIO, file),
        organ_id=organ,
    )
    return {
        "id": job.pk,
        **{k: getattr(job, k) for k in ("rows", "created", "updated", "unchanged", "rejected")},
        "rejections": job.rejections,
    }


class WorkerFilters(Schema):
    q: str = Field("", max_length=50, description="start of the name")
    status: str = Field("", max_length=20)
    organ: QueryId | None = None
    page: int = Field(1, ge=1, le=MAX_PAGE)


@router.get("/workers", response={200: PageOut[WorkerOut], **errors(403, 422)})
def workers(request, filters: Query[WorkerFilters]):
    """The workers the caller may see (an office: enrolled with, living in or assigned to
    its areas; a liaison: the organ's staff; a worker: themself and their team)."""
    require(can_read_workers(request.auth))
    found = Worker.objects.for_user(request.auth).select_related("organ", "user")
    if filters.q:
        found = found.filter(name__startswith=filters.q)
    if filters.status:
        found = found.filter(status=filters.status)
    if filters.organ:
        found = found.filter(organ_id=filters.organ)
    page = paginate(found.prefetch_related("skills").order_by("id"), filters.page, 100)
    return page_out(page, [_worker_out(w) for w in page.items])


@router.get("/workers/{int:pk}", response={200: WorkerOut, **errors(403, 404)})
def worker(request, pk: int):
    require(can_read_workers(request.auth))
    return _worker_out(get_scoped_or_404(Worker.objects, request.auth, pk=pk))


class WorkforceReasonIn(Schema):
    reason: str = Field(max_length=500)


class WorkerRevealOut(Schema):
    id_number: str
    phone: str


@router.post("/workers/{int:pk}/reveal", response={200: WorkerRevealOut, **errors(400, 403, 404)})
def worker_reveal(request, pk: int, payload: WorkforceReasonIn):
    """The full numbers, with a reason; each call is audited."""
    w = get_scoped_or_404(Worker.objects, request.auth, pk=pk)
    return services.worker_reveal(actor=request.auth, worker=w, reason=payload.reason)


class StatusIn(Schema):
    status: str = Field(description="available, sick, close_contact, secondary_contact, other")
    reason: str = Field(max_length=500)
    until: dt.datetime | None = Field(None, description="required unless available")


@router.post("/workers/{int:pk}/status", response={200: WorkerOut, **errors(400, 403, 404, 422)})
def worker_status(request, pk: int, payload: StatusIn):
    w = get_scoped_or_404(Worker.objects, request.auth, pk=pk)
    from .models import WorkerStatus

    if payload.status not in WorkerStatus.values:
        raise DomainError("状态无效", "unknown status", field="status")
    services.worker_set_status(
        actor=request.auth,
        worker=w,
        status=payload.status,
        reason=payload.reason,
        until=aware(payload.until),
    )
    w.refresh_from_db()
    return _worker_out(w)


class ShiftOut(Schema):
    id: int
    post: str
    starts_at: dt.datetime
    ends_at: dt.datetime


class WorkerMeOut(Schema):
    worker: WorkerOut
    enrollment: dict | None
    shifts: list[ShiftOut]
    hours_7d: float
    callouts: list[dict]


@router.get("/me", response={200: WorkerMeOut, **errors(403, 404)})
def me(request):
    """A worker's own record: where they reported in, their shifts, hours, call-outs."""
    require(can_check_in(request.auth))
    w = worker_of(request.auth)
    if w is None:
        raise NotFound("账号未关联人员登记", "your login is not linked to a worker record")
    e = w.enrollments.open().select_related("community").first()
    return {
        "worker": _worker_out(w, login_in_full=True),
        "enrollment": {
            "id": e.pk,
            "community": e.area_code,
            "community_name": e.community.name,
            "status": e.status,
        }
        if e
        else None,
        "shifts": [
            {"id": s.pk, "post": s.post.name, "starts_at": s.starts_at, "ends_at": s.ends_at}
            for s in selectors.my_shifts(w)
        ],
        "hours_7d": round(selectors.worker_hours(w), 2),
        "callouts": [
            {
                "id": c.pk,
                "place": c.place,
                "needed": c.needed,
                "status": c.status,
                "answer": r.answer,
            }
            for c, r in selectors.my_callouts(w)
        ],
    }


# Reporting in -----------------------------------------------------------------------------


class ReportInIn(Schema):
    client_id: str = CLIENT_ID
    code: str = CODE
    community: str = Field("", pattern=r"^(\d{12})?$", description="chosen instead of a code")
    at: dt.datetime | None = Field(None, description="when, on the phone (kept if plausible)")


class EnrollmentOut(Schema):
    id: int
    worker: int
    community: str
    community_name: str
    status: str
    via: str
    reported_at: dt.datetime
    created: bool = Field(False, description="false: a replay or already reported in there")


def _enrollment_out(e: Enrollment, created: bool = False) -> dict:
    return {
        "id": e.pk,
        "worker": e.worker_id,
        "community": e.area_code,
        "community_name": e.community.name,
        "status": e.status,
        "via": e.via,
        "reported_at": e.reported_at,
        "created": created,
    }


@router.post(
    "/report-ins",
    response={200: EnrollmentOut, 201: EnrollmentOut, **errors(400, 403, 404, 409, 422)},
)
def report_in(request, payload: ReportInIn):
    """Report in at a community by its scanned code or its area code. Idempotent by
    `client_id`: a replay answers 200 with the stored report-in."""
    community = None
    if payload.community and not payload.code:
        community = Area.objects.filter(code=payload.community, level=Level.COMMUNITY).first()
        if community is None:
            raise NotFound("社区不存在", "no such community", field="community")
    at = aware(payload.at)
    now = timezone.now()
    if at is not None and not (now - dt.timedelta(days=1) <= at <= now + dt.timedelta(minutes=10)):
        at = None  # implausible: the server's receive time orders events
    enrollment, created = services.report_in(
        actor=request.auth,
        client_id=payload.client_id,
        community=community,
        code=payload.code,
        at=at,
    )
    return Status(201 if created else 200, _enrollment_out(enrollment, created))


class EnrollmentFilters(Schema):
    community: str = Field("", pattern=r"^(\d{12})?$")
    status: str = Field("pending", max_length=10)
    page: int = Field(1, ge=1, le=MAX_PAGE)


@router.get("/report-ins", response={200: PageOut[EnrollmentOut], **errors(403, 422)})
def report_ins(request, filters: Query[EnrollmentFilters]):
    require(can_confirm_enrollment(request.auth))
    found = Enrollment.objects.for_user(request.auth).select_related("community")
    if filters.community:
        found = found.filter(area_code=filters.community)
    if filters.status:
        found = found.filter(status=filters.status)
    page = paginate(found, filters.page, 100)
    return page_out(page, [_enrollment_out(e) for e in page.items])


class ReportInDecisionIn(Schema):
    confirm: bool
    reason: str = Field("", max_length=200)


@router.post(
    "/report-ins/{int:pk}/decision", response={200: EnrollmentOut, **errors(400, 403, 404, 409)}
)
def report_in_decide(request, pk: int, payload: ReportInDecisionIn):
    e = get_scoped_or_404(Enrollment.objects, request.auth, pk=pk)
    e = services.enrollment_decide(
        actor=request.auth, enrollment=e, confirm=payload.confirm, reason=payload.reason
    )
    return _enrollment_out(e)


# Requests and allocation --------------------------------------------------------------------


class RequestIn(Schema):
    area: str = Field(pattern=r"^\d{9}(\d{3})?$", description="a community's or street's code")
    count: int = Field(ge=1, le=5000)
    post_kind: str
    required_skill: str | None = None
    preferred_skill: str | None = None
    first_day: dt.date
    last_day: dt.date
    hours_from: dt.time
    hours_until: dt.time = Field(description="before hours_from: the shift ends next day")
    note: str = Field("", max_length=200)
    client_id: str = Field("", max_length=64)


class RequestOut(Schema):
    id: int
    area: str
    count: int
    filled: int
    post_kind: str
    required_skill: str | None
    preferred_skill: str | None
    first_day: dt.date
    last_day: dt.date
    hours_from: dt.time
    hours_until: dt.time
    status: str


def _request_out(r: StaffingRequest) -> dict:
    return {
        "id": r.pk,
        "area": r.area_code,
        "count": r.count,
        "filled": r.filled,
        "post_kind": r.post_kind,
        "required_skill": r.required_skill.code if r.required_skill is not None else None,
        "preferred_skill": r.preferred_skill.code if r.preferred_skill is not None else None,
        "first_day": r.first_day,
        "last_day": r.last_day,
        "hours_from": r.hours_from,
        "hours_until": r.hours_until,
        "status": r.status,
    }


@router.post("/requests", response={201: RequestOut, **errors(400, 403, 404, 409, 422)})
def request_file(request, payload: RequestIn):
    r = services.request_file(
        actor=request.auth,
        area=_area(request, payload.area, Level.STREET, Level.COMMUNITY),
        count=payload.count,
        post_kind=payload.post_kind,
        first_day=payload.first_day,
        last_day=payload.last_day,
        hours_from=payload.hours_from,
        hours_until=payload.hours_until,
        required_skill=_skill(payload.required_skill),
        preferred_skill=_skill(payload.preferred_skill),
        note=payload.note,
        client_id=payload.client_id,
    )
    return Status(201, _request_out(r))


class RequestFilters(Schema):
    status: str = Field("", max_length=10)
    page: int = Field(1, ge=1, le=MAX_PAGE)


@router.get("/requests", response={200: PageOut[RequestOut], **errors(403, 422)})
def requests(request, filters: Query[RequestFilters]):
    require(can_request_staff(request.auth))
    found = StaffingRequest.objects.for_user(request.auth).select_related(
        "required_skill", "preferred_skill"
    )
    if filters.status:
        found = found.filter(status=filters.status)
    page = paginate(found, filters.page, 100)
    return page_out(page, [_request_out(r) for r in page.items])


@router.post("/requests/{int:pk}/cancel", response={200: RequestOut, **errors(400, 403, 404)})
def request_cancel(request, pk: int, payload: WorkforceReasonIn):
    r = get_scoped_or_404(StaffingRequest.objects, request.auth, pk=pk)
    return _request_out(
        services.request_cancel(actor=request.auth, request=r, reason=payload.reason)
    )


class RunIn(Schema):
    area: str = Field(
        pattern=r"^\d{6,12}$", description="allocate the open requests under this area"
    )


class SeatOut(Schema):
    id: int
    request: int | None
    shift: int | None
    area_code: str
    number: int
    worker: int | None
    worker_name: str | None
    cost: float | None
    distance_km: float | None
    unfilled: str = Field(description="no_skill, unavailable or all_taken; empty when filled")
    with_skill: int
    candidates: int
    adjusted: bool


class RunOut(Schema):
    id: int
    area_code: str
    status: str
    purpose: str
    seats: int
    filled: int
    cost: float
    greedy_cost: float | None
    greedy_filled: int | None
    seconds: float
    weights_version: int
    created_at: dt.datetime
    proposal: list[SeatOut]


def _seat_out(s: ProposedSeat) -> dict:
    return {
        "id": s.pk,
        "request": s.request_id,
        "shift": s.shift_id,
        "area_code": s.area_code,
        "number": s.number,
        "worker": s.worker_id,
        "worker_name": s.worker.name if s.worker is not None else None,
        "cost": s.cost,
        "distance_km": s.distance_km,
        "unfilled": s.unfilled,
        "with_skill": s.with_skill,
        "candidates": s.candidates,
        "adjusted": s.adjusted,
    }


RUN_FIELDS = (
    "id",
    "area_code",
    "status",
    "purpose",
    "seats",
    "filled",
    "cost",
    "greedy_cost",
    "greedy_filled",
    "seconds",
    "weights_version",
    "created_at",
)


def _run_out(run: AllocationRun, *, unfilled_only: bool = False, limit: int = 5000) -> dict:
    seats = ProposedSeat.objects.filter(run=run).select_related("worker")
    if unfilled_only:
        seats = seats.filter(worker__isnull=True)
    return {
        **{f: getattr(run, f) for f in RUN_FIELDS},
        "proposal": [_seat_out(s) for s in seats[:limit]],
    }


@router.post("/allocation-runs", response={201: RunOut, **errors(400, 403, 404, 422)})
def allocation_run(request, payload: RunIn):
    """Propose an allocation of the open requests under `area` (the command centre)."""
    run = services.allocation_run(actor=request.auth, area=_area(request, payload.area))
    return Status(201, _run_out(run))


@router.get("/allocation-runs/{int:pk}", response={200: RunOut, **errors(403, 404)})
def allocation_get(request, pk: int, unfilled: bool = False):
    """A run and its proposal (the first 5,000 seats; `unfilled=true`: the empty ones)."""
    require(can_allocate(request.auth))
    run = get_scoped_or_404(AllocationRun.objects, request.auth, pk=pk)
    return _run_out(run, unfilled_only=unfilled)


class SeatIn(Schema):
    worker: int | None = Field(description="a worker id, or null for nobody")
    reason: str = Field("", max_length=200)


@router.post(
    "/allocation-runs/{int:pk}/seats/{int:seat}",
    response={200: SeatOut, **errors(400, 403, 404, 409)},
)
def allocation_adjust(request, pk: int, seat: int, payload: SeatIn):
    require(can_allocate(request.auth))
    run = get_scoped_or_404(AllocationRun.objects, request.auth, pk=pk)
    row = get_object_or_404(ProposedSeat, run=run, pk=seat)
    w = (
        get_scoped_or_404(Worker.objects, request.auth, pk=payload.worker)
        if payload.worker
        else None
    )
    return _seat_out(
        services.seat_adjust(actor=request.auth, seat=row, worker=w, reason=payload.reason)
    )


class ConfirmOut(Schema):
    placed: int


@router.post(
    "/allocation-runs/{int:pk}/confirm", response={200: ConfirmOut, **errors(403, 404, 409)}
)
def allocation_confirm(request, pk: int):
    """Confirm the proposal: assignments made, each worker told by text message."""
    run = get_scoped_or_404(AllocationRun.objects, request.auth, pk=pk)
    return {"placed": services.allocation_confirm(actor=request.auth, run=run)}


@router.post(
    "/allocation-runs/{int:pk}/discard", response={200: RunOut, **errors(400, 403, 404, 409)}
)
def allocation_discard(request, pk: int, payload: WorkforceReasonIn):
    run = get_scoped_or_404(AllocationRun.objects, request.auth, pk=pk)
    return _run_out(
        services.allocation_discard(actor=request.auth, run=run, reason=payload.reason), limit=0
    )


# Attendance ---------------------------------------------------------------------------------


class DutyEventIn(Schema):
    client_id: str = CLIENT_ID
    type: str = Field(pattern=r"^(in|out)$")
    at: dt.datetime = Field(description="when it happened on the phone; no offset: local time")
    code: str = CODE
    ref: str = Field("", max_length=64, description="check-out: the client id of its check-in")


class AttendanceIn(Schema):
    device_time: dt.datetime | None = Field(None, description="the phone's clock when sending")
    events: list[DutyEventIn] = Field(max_length=500)


class DutyResultOut(Schema):
    client_id: str
    status: str = Field(description="accepted or rejected")
    code: str = Field(description="why it was rejected (stable), else empty")
    message: str
    message_zh: str
    attendance: int | None
    post: str
    shift: int | None
    flags: list[str] = Field(
        description="replay, already_in, already_out, closed_previous, no_shift, clock_skew"
    )


class AttendanceOut(Schema):
    results: list[DutyResultOut]
    server_time: dt.datetime


@router.post("/attendance", response={200: AttendanceOut, **errors(403, 404, 422)})
def attendance(request, payload: AttendanceIn):
    """Check-ins and check-outs from a phone, in the order they happened. Each answers
    on its own; replaying a client id answers what was stored and writes nothing."""
    events = [
        services.DutyEvent(
            client_id=e.client_id, type=e.type, at=aware(e.at), code=e.code, ref=e.ref
        )
        for e in payload.events
    ]
    results = services.attendance_upload(
        actor=request.auth, events=events, device_time=aware(payload.device_time)
    )
    return {"results": [r.as_dict() for r in results], "server_time": timezone.now()}


# Call-outs -----------------------------------------------------------------------------------


class CallOutIn(Schema):
    area: str = Field(pattern=r"^\d{12}$", description="the community")
    place: str = Field(max_length=200)
    lat: float | None = Field(None, ge=-90, le=90, description="default: the community's point")
    lon: float | None = Field(None, ge=-180, le=180)
    needed: int = Field(ge=1, le=1000)
    skill: str | None = None
    radius_km: float | None = Field(None, gt=0, le=200, description="default: the policy's")
    note: str = Field("", max_length=200)
    client_id: str = Field("", max_length=64)
    urgent: bool = Field(
        False, description="urgent to all: also call those whose shift starts soon"
    )


class CallOutOut(Schema):
    id: int
    area: str
    place: str
    needed: int
    accepted: int
    skill: str | None
    radius_km: float
    urgent: bool
    status: str
    notified: int
    created_at: dt.datetime
    closes_at: dt.datetime
    filled_at: dt.datetime | None
    fanout_seconds: float | None


def _callout_out(c: CallOut) -> dict:
    return {
        **{
            f: getattr(c, f)
            for f in (
                "id",
                "place",
                "needed",
                "accepted",
                "radius_km",
                "urgent",
                "status",
                "notified",
                "created_at",
                "closes_at",
                "filled_at",
                "fanout_seconds",
            )
        },
        "area": c.area_code,
        "skill": c.skill.code if c.skill is not None else None,
    }


@router.post("/callouts", response={201: CallOutOut, **errors(400, 403, 404, 409, 422)})
def callout_post(request, payload: CallOutIn):
    """Post a call-out: every available worker within reach is told at once (page, inbox,
    text message). Idempotent by `client_id`."""
    area = Area.objects.filter(code=payload.area, level=Level.COMMUNITY).first()
    if area is None:
        raise NotFound("社区不存在", "no such community", field="area")
    lat, lon = payload.lat, payload.lon
    if lat is None or lon is None:
        point = services.point_for(area.code)
        if point is None:
            raise DomainError("请给出地点坐标", "give the place's coordinates", field="lat")
        lat, lon = point
    c = services.callout_post(
        actor=request.auth,
        area=area,
        place=payload.place,
        lat=lat,
        lon=lon,
        needed=payload.needed,
        skill=_skill(payload.skill),
        radius_km=payload.radius_km,
        note=payload.note,
        client_id=payload.client_id,
        urgent=payload.urgent,
    )
    return Status(201, _callout_out(c))


@router.get("/callouts", response={200: list[CallOutOut], **errors(403)})
def callouts(request):
    """The latest call-outs the caller may see (a worker: those sent to them)."""
    require(can_call_out(request.auth) or can_check_in(request.auth))
    return [
        _callout_out(c)
        for c in CallOut.objects.for_user(request.auth).select_related("skill")[:100]
    ]


class ResponseOut(Schema):
    worker: int
    answer: str
    notified_at: dt.datetime
    answered_at: dt.datetime | None
    seconds: float | None


class CallOutDetailOut(CallOutOut):
    responses: list[ResponseOut] = Field(description="accepted ones (for whoever posted it)")


@router.get("/callouts/{int:pk}", response={200: CallOutDetailOut, **errors(403, 404)})
def callout(request, pk: int):
    require(can_call_out(request.auth) or can_check_in(request.auth))
    c = get_scoped_or_404(CallOut.objects.select_related("skill"), request.auth, pk=pk)
    mine = request.auth.role != "worker" or c.posted_by_id == request.auth.pk
    rows = (
        CallOutResponse.objects.filter(callout=c, answer="accepted").order_by("answered_at")
        if mine
        else []
    )
    return {
        **_callout_out(c),
        "responses": [
            {
                "worker": r.worker_id,
                "answer": r.answer,
                "notified_at": r.notified_at,
                "answered_at": r.answered_at,
                "seconds": r.seconds,
            }
            for r in rows
        ],
    }


class AnswerIn(Schema):
    accept: bool = True


class AnswerOut(Schema):
    answer: str = Field(description="accepted, too_late or declined (a repeat answers the first)")


@router.post("/callouts/{int:pk}/answer", response={200: AnswerOut, **errors(403, 404)})
def callout_answer(request, pk: int, payload: AnswerIn):
    """A notified worker accepts (the first N get it) or declines."""
    require(can_check_in(request.auth))
    c = get_scoped_or_404(CallOut.objects, request.auth, pk=pk)
    return {"answer": services.callout_answer(actor=request.auth, callout=c, accept=payload.accept)}


# Numbers ---------------------------------------------------------------------------------------


class WorkforceNumbersOut(Schema):
    area: str | None
    workers: int
    reported_today: int
    on_duty_now: int
    open_seats: int
    by_organ: list[dict]
    by_community: list[dict]
    hours_by_organ: list[dict]
    hours_by_team: list[dict]
    hours_by_branch: list[dict]
    hours_by_worker: list[dict]
    person_times_by_kind: list[dict]
    callouts: dict
    since: dt.datetime


@router.get("/numbers", response={200: WorkforceNumbersOut, **errors(403, 404)})
def numbers(request, area: str = ""):
    """The numbers of the caller's jurisdiction, or of one area in it (last 7 days)."""
    require(can_read_numbers(request.auth))
    where = get_scoped_or_404(Area.objects, request.auth, code=area) if area else None
    n = dataclasses.asdict(selectors.numbers(request.auth, where))
    n["area"] = where.code if where else None
    return n
