"""Mass testing over JSON: device uploads, the sampler's configuration, rounds,
coverage, the not-yet-sampled, door-to-door tasks. See docs/sampling-protocol.md."""

import datetime as dt

from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, JsonResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.decorators import decorate_view
from pydantic import BaseModel

from fangkong.areas.models import Area, Grid, Level
from fangkong.core.api import (
    MAX_PAGE,
    ErrorOut,
    IsoDateTime,
    JsonInt,
    PageOut,
    aware,
    errors,
    page_out,
    require,
)
from fangkong.core.paging import paginate
from fangkong.core.shortcuts import get_scoped_or_404
from fangkong.people.permissions import HEALTH_TAGS, can_read_residents
from fangkong.testing.permissions import (
    can_close_home_task,
    can_exempt,
    can_manage_sites,
    can_plan_home_sampling,
    can_read_coverage,
    can_run_round,
    can_sample,
)

from . import ingest, selectors, services
from .gate import busy_response, shed_load
from .models import (
    Channel,
    Exemption,
    ExemptReason,
    HomeSamplingTask,
    SamplingSite,
    SiteStatus,
    TaskKind,
    TaskStatus,
    TestingRound,
)

router = Router(tags=["testing"])


ID = Field(None, ge=1, le=2**63 - 1)


class EventIn(BaseModel):
    """One event. A plain pydantic model (not a ninja Schema): an upload holds hundreds,
    and ninja's per-object hooks would cost more than the rest of the parsing."""

    client_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="made on the device when the scan happens (a UUID); the key of idempotency",
    )
    type: str = Field(max_length=40, description="tube_open, sample or tube_seal")
    at: IsoDateTime = Field(
        description="when it happened on the device (the claimed time); no offset: local "
        "time. Outside FANGKONG_CLIENT_TIME_PAST_S before to FANGKONG_CLIENT_TIME_FUTURE_S "
        "after the server receives it (7 days, 10 minutes), the event is rejected (bad_time)"
    )
    round: JsonInt | None = ID
    site: JsonInt | None = ID
    channel: JsonInt | None = ID
    tube: str = Field("", max_length=64, description="the tube's barcode")
    pool_size: JsonInt | None = Field(
        None, ge=-32768, le=32767, description="on tube_open (or a sample)"
    )
    code: str = Field("", max_length=2000, description="sample: the resident's code, FK1.…")
    id_type: str = Field("", max_length=4, description="sample without a code: ID, PP, HM, TW")
    id_number: str = Field("", max_length=64, description="sample without a code: typed by hand")


class UploadIn(Schema):
    device_id: str = Field("", max_length=64)
    device_time: IsoDateTime | None = Field(
        None,
        description="the device's clock as it sends the upload; further than "
        "FANGKONG_CLIENT_CLOCK_SKEW_S (3 minutes) from the server's, the samples are "
        "flagged clock_skew",
    )
    events: list[EventIn] = Field(max_length=100_000)


class PersonOut(Schema):
    name: str
    id_masked: str


class EventResultOut(Schema):
    client_id: str
    status: str = Field(description="accepted or rejected")
    flags: list[str] = Field(
        description="repeat_in_round, outside_round, over_pool, unknown_person, clock_skew"
    )
    code: str | None = Field(None, description="why it was rejected: stable, machine-readable")
    message: str | None = None
    message_zh: str | None = None
    resident: PersonOut | None = None


class UploadOut(Schema):
    results: list[EventResultOut]
    server_time: dt.datetime


@router.post(
    "/uploads",
    response={200: UploadOut, **errors(400, 403, 422), 503: ErrorOut},
    summary="Upload sampling events (idempotent by client_id)",
)
@decorate_view(shed_load)
def upload(request, payload: UploadIn):
    """Store a batch of scans. Each event answers `accepted` or `rejected`; replaying an
    event (same `client_id`) answers its stored result and changes nothing. 503 with
    `Retry-After` when the server sheds load: keep the events and send them again."""
    require(can_sample(request.auth))
    # A validated model keeps its fields in __dict__: read there, not via model_dump().
    # Times are checked against the receive time by the upload path (core.clock).
    events = [ingest.Event(**e.__dict__) for e in payload.events]
    try:
        results = services.samples_upload(
            actor=request.auth,
            device_id=payload.device_id,
            events=events,
            device_time=payload.device_time,
        )
    except services.Busy:
        return busy_response()
    # Built here rather than validated against UploadOut again: the results are made by
    # the service in exactly that shape, and a large upload's answer is large.
    return JsonResponse(
        {"results": [r.as_dict() for r in results], "server_time": timezone.now()},
        encoder=DjangoJSONEncoder,
        json_dumps_params={"ensure_ascii": False},
    )


class ChannelOut(Schema):
    id: int
    name: str
    status: str


class SiteOut(Schema):
    id: int
    name: str
    area_code: str
    address: str
    status: str = Field(description="open or paused (closed sites are left out)")
    opens_at: dt.time | None
    closes_at: dt.time | None
    pool_size: int = Field(description="people per tube here, by the zone in force")
    channels: list[ChannelOut]


class PoolSizesOut(Schema):
    sealed: int
    controlled: int
    prevention: int


class SamplerRoundOut(Schema):
    id: int
    name: str
    starts_at: dt.datetime
    deadline: dt.datetime
    areas: list[str]
    pool_sizes: PoolSizesOut
    sites: list[SiteOut]


class SamplerConfigOut(Schema):
    rounds: list[SamplerRoundOut]
    code_public_key: str = Field(description="Ed25519 public key, raw 32 bytes, base64url")
    code_version: str
    server_time: dt.datetime


@router.get("/sampler-config", response={200: SamplerConfigOut, **errors(403)})
def sampler_config(request):
    """Everything a sampling device needs to work offline."""
    require(can_sample(request.auth))
    return {**selectors.sampler_config(request.auth), "server_time": timezone.now()}


class RoundOut(Schema):
    id: int
    name: str
    status: str
    starts_at: dt.datetime
    deadline: dt.datetime
    closed_at: dt.datetime | None
    areas: list[str]
    pool_sizes: PoolSizesOut


def _round_out(rnd: TestingRound) -> dict:
    return {
        "id": rnd.pk,
        "name": rnd.name,
        "status": rnd.status,
        "starts_at": rnd.starts_at,
        "deadline": rnd.deadline,
        "closed_at": rnd.closed_at,
        "areas": [ra.area_code for ra in rnd.round_areas.all()],
        "pool_sizes": {
            "sealed": rnd.pool_sealed,
            "controlled": rnd.pool_controlled,
            "prevention": rnd.pool_prevention,
        },
    }


def _may_see_rounds(user) -> bool:
    return can_read_coverage(user) or can_sample(user)


@router.get("/rounds", response={200: list[RoundOut], **errors(403)})
def round_list(request, status: str = ""):
    """Rounds that touch the caller's jurisdiction, newest first."""
    require(_may_see_rounds(request.auth))
    rounds = selectors.rounds_for_user(request.auth)
    if status:
        rounds = rounds.filter(status=status)
    return [_round_out(r) for r in rounds[:200]]


def _round(request, round_id: int) -> TestingRound:
    return get_scoped_or_404(TestingRound.objects, request.auth, pk=round_id)


def _resident(request, resident_id: int):
    from fangkong.people.models import Resident

    return get_scoped_or_404(Resident.objects, request.auth, pk=resident_id)


class CountsOut(Schema):
    expected: int = Field(description="residents living there when the round was launched")
    sampled: int
    exempt: int = Field(description="away, in hospital, already isolated")
    unsampled: int
    percent: float = Field(description="sampled ÷ (expected − exempt)")


class CoverageRowOut(CountsOut):
    code: str
    name: str
    level: int


class CoverageOut(Schema):
    round: int
    area: str | None
    grid: int | None
    name: str
    totals: CountsOut
    rows: list[CoverageRowOut] = Field(description="the areas below (or a grid's buildings)")


class CoverageQuery(Schema):
    area: str = Field("", pattern=r"^\d{0,18}$", description="an area code at any level")
    grid: int | None = ID


def _rows(rows) -> list[dict]:
    return [
        {"code": r.area.code, "name": r.area.name, "level": r.area.level, **r.coverage.as_dict()}
        for r in rows
    ]


@router.get("/rounds/{round_id}/coverage", response={200: CoverageOut, **errors(403, 404, 422)})
def coverage(request, round_id: int, query: Query[CoverageQuery]):
    """Expected, sampled, exempt and not-yet-sampled for an area or a grid."""
    require(can_read_coverage(request.auth))
    rnd = _round(request, round_id)
    user = request.auth
    if query.grid:
        grid = get_scoped_or_404(Grid.objects.select_related("community"), user, pk=query.grid)
        rows = selectors.grid_buildings_coverage(rnd, grid)
        totals = selectors.coverage_of_grid(rnd, grid)
        return {
            "round": rnd.pk,
            "area": None,
            "grid": grid.pk,
            "name": grid.name,
            "totals": totals.as_dict(),
            "rows": _rows(rows),
        }
    codes = [query.area] if query.area else user.scope_prefixes()
    if len(codes) == 1:
        area = get_scoped_or_404(Area.objects, user, code=codes[0])
        totals = selectors.coverage_of_area(rnd, area.code)
        rows = selectors.coverage_children(rnd, area)
        name, code = area.name, area.code
    else:
        totals = selectors.coverage_of_codes(rnd, codes)
        roots = Area.objects.filter(code__in=codes).order_by("code")
        rows = [selectors.CoverageRow(a, selectors.coverage_of_area(rnd, a.code)) for a in roots]
        name, code = "", None
    return {
        "round": rnd.pk,
        "area": code,
        "grid": None,
        "name": name,
        "totals": totals.as_dict(),
        "rows": _rows(rows),
    }


class UnsampledOut(Schema):
    id: int
    name: str
    id_number_masked: str
    phone_masked: str
    unit: str
    room: str
    age: int | None
    tags: list[str]


class UnsampledQuery(Schema):
    building: str = Field(pattern=r"^\d{18}$", description="the building's area code")
    page: int = Field(1, ge=1, le=MAX_PAGE)


@router.get(
    "/rounds/{round_id}/unsampled",
    response={200: PageOut[UnsampledOut], **errors(403, 404, 422)},
)
def unsampled(request, round_id: int, query: Query[UnsampledQuery]):
    """Residents of one building not yet sampled in the round and not exempt, by door."""
    require(can_read_coverage(request.auth) and can_read_residents(request.auth))
    rnd = _round(request, round_id)
    building = get_scoped_or_404(
        Area.objects, request.auth, code=query.building, level=Level.BUILDING
    )
    page = paginate(selectors.unsampled_residents(rnd, building), query.page, 100)
    show_tags = HEALTH_TAGS(request.auth)
    return page_out(
        page,
        [
            {
                "id": r.pk,
                "name": r.name,
                "id_number_masked": r.id_masked,
                "phone_masked": r.phone_masked,
                "unit": r.household.unit,
                "room": r.household.room,
                "age": r.age,
                "tags": r.tag_labels() if show_tags else [],
            }
            for r in page.items
        ],
    )


class HomeTaskOut(Schema):
    id: int
    round: int
    kind: TaskKind
    status: TaskStatus
    building_code: str
    household: int
    unit: str
    room: str
    resident: int | None = Field(description="empty: the whole household")
    resident_name: str
    team: str
    assignee: int | None = Field(description="the user the task is given to")
    due_at: dt.datetime | None
    tube: str | None
    closed_at: dt.datetime | None


def _task_out(t: HomeSamplingTask) -> dict:
    return {
        "id": t.pk,
        "round": t.round_id,
        "kind": t.kind,
        "status": t.status,
        "building_code": t.area_code,
        "household": t.household_id,
        "unit": t.household.unit,
        "room": t.household.room,
        "resident": t.resident_id,
        "resident_name": t.resident.name if t.resident_id else "",
        "team": t.team_name or (str(t.team) if t.team_id else ""),
        "assignee": t.team_id,
        "due_at": t.due_at,
        "tube": t.tube.barcode if t.tube_id else None,
        "closed_at": t.closed_at,
    }


class HomeTaskQuery(Schema):
    area: str = Field("", pattern=r"^\d{0,18}$")
    status: TaskStatus | None = None
    page: int = Field(1, ge=1, le=MAX_PAGE)


@router.get(
    "/rounds/{round_id}/home-tasks",
    response={200: PageOut[HomeTaskOut], **errors(403, 404, 422)},
)
def home_task_list(request, round_id: int, query: Query[HomeTaskQuery]):
    """Door-to-door tasks of the caller's jurisdiction, by building and door."""
    require(can_close_home_task(request.auth))
    rnd = _round(request, round_id)
    tasks = selectors.home_tasks(
        rnd, request.auth, area=query.area, status=query.status.value if query.status else ""
    )
    page = paginate(tasks, query.page, 100)
    return page_out(page, [_task_out(t) for t in page.items])


class HomeTaskIn(Schema):
    resident: JsonInt = Field(ge=1, le=2**63 - 1)
    kind: TaskKind = Field(TaskKind.ISOLATED, description="isolated (at home) or bedridden")
    note: str = Field("", max_length=500)


@router.post(
    "/rounds/{round_id}/home-tasks",
    response={200: HomeTaskOut, **errors(400, 403, 404, 422)},
)
def home_task_create(request, round_id: int, payload: HomeTaskIn):
    """A door-to-door task for one person (isolated at home, bedridden). Safe to repeat."""
    require(can_plan_home_sampling(request.auth))
    rnd = _round(request, round_id)
    person = _resident(request, payload.resident)
    task = services.home_task_create(
        actor=request.auth, round=rnd, resident=person, kind=payload.kind, note=payload.note
    )
    return _task_out(
        HomeSamplingTask.objects.select_related("household", "resident", "team", "tube").get(
            pk=task.pk
        )
    )


class HomeTaskCloseIn(Schema):
    tube: str = Field(min_length=1, max_length=40)
    residents: list[JsonInt] | None = Field(
        None, max_length=100, description="who was sampled; default: everyone still due"
    )
    at: IsoDateTime | None = None


@router.post(
    "/home-tasks/{task_id}/close",
    response={200: HomeTaskOut, **errors(400, 403, 404, 409, 422)},
)
def home_task_close(request, task_id: int, payload: HomeTaskCloseIn):
    """Close a task with the tube used; records the samples. Safe to repeat."""
    require(can_close_home_task(request.auth))
    task = get_scoped_or_404(
        HomeSamplingTask.objects.select_related("round", "tube", "resident"),
        request.auth,
        pk=task_id,
    )
    residents = None
    if payload.residents is not None:
        from fangkong.people.models import Resident

        # The task's own household (fetched in scope above): whoever closes the task sees
        # who is due there, not the roster (core.sight: testing.home_tasks).
        residents = list(
            Resident.objects.filter(household_id=task.household_id, pk__in=payload.residents)
        )
        if len(residents) != len(set(payload.residents)):
            raise Http404
    task = services.home_task_close(
        actor=request.auth,
        task=task,
        tube=payload.tube,
        residents=residents,
        at=aware(payload.at),
    )
    task = HomeSamplingTask.objects.select_related("household", "resident", "team", "tube").get(
        pk=task.pk
    )
    return _task_out(task)


# What the pages do, over JSON: rounds, exemptions, door-to-door planning, sites, channels.
# Each operation calls the service its page calls (see fangkong/core/tests/test_api_parity.py).


@router.get("/rounds/{round_id}", response={200: RoundOut, **errors(403, 404, 422)})
def round_get(request, round_id: int):
    """One round of the caller's jurisdiction."""
    require(_may_see_rounds(request.auth))
    return _round_out(_round(request, round_id))


class RoundLaunchIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    areas: list[str] = Field(
        min_length=1, max_length=200, description="area codes (communities or above)"
    )
    deadline: IsoDateTime
    starts_at: IsoDateTime | None = None
    pool_sealed: JsonInt | None = Field(None, ge=1, le=services.MAX_POOL)
    pool_controlled: JsonInt | None = Field(None, ge=1, le=services.MAX_POOL)
    pool_prevention: JsonInt | None = Field(
        None, ge=1, le=services.MAX_POOL, description="empty: the pool-size policy in force"
    )
    note: str = Field("", max_length=2000)


def _areas(user, codes: list[str]) -> list[Area]:
    found = list(Area.objects.for_user(user).filter(code__in=codes))
    if len(found) != len(set(codes)):
        raise Http404
    return found


@router.post("/rounds", response={200: RoundOut, **errors(400, 403, 404, 422)})
def round_launch(request, payload: RoundLaunchIn):
    """Launch a round over areas (command centre)."""
    require(can_run_round(request.auth))
    data = payload.dict()
    data["areas"] = _areas(request.auth, payload.areas)
    data["deadline"], data["starts_at"] = aware(payload.deadline), aware(payload.starts_at)
    return _round_out(services.round_launch(actor=request.auth, **data))


class RoundEditIn(Schema):
    reason: str = Field(min_length=1, max_length=2000)
    deadline: IsoDateTime | None = None
    pool_sealed: JsonInt | None = Field(None, ge=1, le=services.MAX_POOL)
    pool_controlled: JsonInt | None = Field(None, ge=1, le=services.MAX_POOL)
    pool_prevention: JsonInt | None = Field(None, ge=1, le=services.MAX_POOL)


@router.patch("/rounds/{round_id}", response={200: RoundOut, **errors(400, 403, 404, 422)})
def round_edit(request, round_id: int, payload: RoundEditIn):
    """Move the deadline or change the pool sizes of a round under way (reason required)."""
    require(can_run_round(request.auth))
    rnd = _round(request, round_id)
    data = payload.dict()
    data["deadline"] = aware(payload.deadline)
    return _round_out(services.round_edit(actor=request.auth, round=rnd, **data))


class TestingReasonIn(Schema):
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/rounds/{round_id}/close", response={200: RoundOut, **errors(400, 403, 404, 422)})
def round_close(request, round_id: int, payload: TestingReasonIn):
    """Close a round (reason required); samples taken before still come in."""
    require(can_run_round(request.auth))
    rnd = _round(request, round_id)
    return _round_out(services.round_close(actor=request.auth, round=rnd, reason=payload.reason))


class ExemptionIn(Schema):
    resident: JsonInt = Field(ge=1, le=2**63 - 1)
    reason: ExemptReason
    note: str = Field("", max_length=500)


class ExemptionOut(Schema):
    id: int
    round: int
    resident: int
    reason: ExemptReason
    note: str
    granted_at: dt.datetime
    ended_at: dt.datetime | None


def _exemption_out(e: Exemption) -> dict:
    return {
        "id": e.pk,
        "round": e.round_id,
        "resident": e.resident_id,
        "reason": e.reason,
        "note": e.note,
        "granted_at": e.granted_at,
        "ended_at": e.ended_at,
    }


@router.post(
    "/rounds/{round_id}/exemptions", response={200: ExemptionOut, **errors(400, 403, 404, 422)}
)
def exemption_grant(request, round_id: int, payload: ExemptionIn):
    """Record that a resident is not expected in the round (away, in hospital, isolated)."""
    require(can_exempt(request.auth))
    rnd = _round(request, round_id)
    person = _resident(request, payload.resident)
    exemption = services.exemption_grant(
        actor=request.auth, round=rnd, resident=person, reason=payload.reason, note=payload.note
    )
    return _exemption_out(exemption)


@router.post(
    "/exemptions/{exemption_id}/end", response={200: ExemptionOut, **errors(400, 403, 404, 422)}
)
def exemption_end(request, exemption_id: int, payload: TestingReasonIn):
    """End an exemption: the resident is expected again."""
    require(can_exempt(request.auth))
    exemption = get_scoped_or_404(Exemption.objects, request.auth, pk=exemption_id)
    exemption = services.exemption_end(
        actor=request.auth, exemption=exemption, reason=payload.reason
    )
    return _exemption_out(exemption)


class HomeTasksMadeOut(Schema):
    sealed_households: int
    bedridden: int


@router.post(
    "/rounds/{round_id}/home-tasks/generate",
    response={200: HomeTasksMadeOut, **errors(400, 403, 404, 422)},
)
def home_tasks_generate(request, round_id: int):
    """Make the round's door-to-door tasks in the caller's jurisdiction (households of
    sealed buildings, the bedridden elsewhere). Running it again adds only what is new."""
    require(can_plan_home_sampling(request.auth))
    rnd = _round(request, round_id)
    counts = services.home_tasks_generate(actor=request.auth, round=rnd)
    return {"sealed_households": counts["sealed_households"], "bedridden": counts["bedridden"]}


class HomeTasksAssignIn(Schema):
    building: str = Field(pattern=r"^\d{18}$", description="the building's area code")
    assignee: JsonInt = Field(ge=1, le=2**63 - 1, description="a user id (GET .../assignees)")
    team_name: str = Field("", max_length=100, description="a team's name, beside the person")
    due_at: IsoDateTime | None = Field(None, description="a new deadline (not past the round's)")


class HomeTasksAssignedOut(Schema):
    count: int


@router.post(
    "/rounds/{round_id}/home-tasks/assign",
    response={200: HomeTasksAssignedOut, **errors(400, 403, 404, 422)},
)
def home_tasks_assign(request, round_id: int, payload: HomeTasksAssignIn):
    """Give a building's open tasks to a person (a user of the caller's jurisdiction)."""
    require(can_plan_home_sampling(request.auth))
    rnd = _round(request, round_id)
    person = selectors.assignees(request.auth).filter(pk=payload.assignee).first()
    if person is None:
        raise Http404
    open_tasks = list(
        HomeSamplingTask.objects.for_user(request.auth).filter(
            round=rnd, area_code=payload.building, status=TaskStatus.OPEN
        )
    )
    count = services.home_tasks_assign(
        actor=request.auth,
        tasks=open_tasks,
        team=person,
        team_name=payload.team_name,
        due_at=aware(payload.due_at),
    )
    return {"count": count}


class HomeTaskAssigneeOut(Schema):
    id: int
    name: str
    role: str


@router.get(
    "/rounds/{round_id}/home-tasks/assignees",
    response={200: list[HomeTaskAssigneeOut], **errors(403, 404, 422)},
)
def home_task_assignees(request, round_id: int):
    """The people door-to-door tasks may be given to: users of the caller's jurisdiction."""
    require(can_plan_home_sampling(request.auth))
    _round(request, round_id)
    return [
        {"id": u.pk, "name": u.get_full_name() or u.username, "role": u.role}
        for u in selectors.assignees(request.auth)[:500]
    ]


@router.post(
    "/home-tasks/{task_id}/cancel", response={200: HomeTaskOut, **errors(400, 403, 404, 422)}
)
def home_task_cancel(request, task_id: int, payload: TestingReasonIn):
    """Cancel a task still to do, with a reason."""
    require(can_plan_home_sampling(request.auth))
    task = get_scoped_or_404(
        HomeSamplingTask.objects.select_related("round", "household", "resident", "team", "tube"),
        request.auth,
        pk=task_id,
    )
    return _task_out(
        services.home_task_cancel(actor=request.auth, task=task, reason=payload.reason)
    )


class SiteFullOut(SiteOut):
    status: str = Field(description="open, paused or closed")
    pool_size: int | None = None


def _site_out(site: SamplingSite) -> dict:
    return selectors.site_facts(site, pool_size=None, closed_channels=True)


class SiteQuery(Schema):
    area: str = Field(pattern=r"^\d{1,18}$", description="an area code; its subtree")


@router.get("/sites", response={200: list[SiteFullOut], **errors(403, 404, 422)})
def site_list(request, query: Query[SiteQuery]):
    """Sampling sites under an area of the caller's jurisdiction, with their channels."""
    require(can_manage_sites(request.auth) or can_read_coverage(request.auth))
    area = get_scoped_or_404(Area.objects, request.auth, code=query.area)
    return [_site_out(s) for s in selectors.sites_of_area(area)[:500]]


class SiteIn(Schema):
    area: str = Field(pattern=r"^\d{1,18}$", description="a street or an area below")
    name: str = Field(min_length=1, max_length=100)
    address: str = Field("", max_length=200)
    opens_at: dt.time | None = None
    closes_at: dt.time | None = None
    channels: JsonInt = Field(1, ge=0, le=50)


def _site(request, site_id: int) -> SamplingSite:
    return get_scoped_or_404(
        SamplingSite.objects.prefetch_related("channels"), request.auth, pk=site_id
    )


@router.post("/sites", response={200: SiteFullOut, **errors(400, 403, 404, 409, 422)})
def site_create(request, payload: SiteIn):
    """Open a sampling site with its numbered channels."""
    require(can_manage_sites(request.auth))
    data = payload.dict()
    data["area"] = get_scoped_or_404(Area.objects, request.auth, code=payload.area)
    site = services.site_create(actor=request.auth, **data)
    return _site_out(_site(request, site.pk))


class SiteStatusIn(Schema):
    status: SiteStatus = Field(description="open, paused or closed")
    reason: str = Field("", max_length=500)


@router.post("/sites/{site_id}/status", response={200: SiteFullOut, **errors(400, 403, 404, 422)})
def site_status(request, site_id: int, payload: SiteStatusIn):
    """Open, pause or close a site. Devices stop offering a site not open."""
    require(can_manage_sites(request.auth))
    site = services.site_set_status(
        actor=request.auth,
        site=_site(request, site_id),
        status=payload.status,
        reason=payload.reason,
    )
    return _site_out(_site(request, site.pk))


class ChannelIn(Schema):
    name: str = Field("", max_length=50, description="empty: the next number")


@router.post(
    "/sites/{site_id}/channels", response={200: ChannelOut, **errors(400, 403, 404, 409, 422)}
)
def channel_add(request, site_id: int, payload: ChannelIn):
    """Add a channel to a site."""
    require(can_manage_sites(request.auth))
    c = services.channel_add(actor=request.auth, site=_site(request, site_id), name=payload.name)
    return {"id": c.pk, "name": c.name, "status": c.status}


@router.post(
    "/channels/{channel_id}/status", response={200: ChannelOut, **errors(400, 403, 404, 422)}
)
def channel_status(request, channel_id: int, payload: SiteStatusIn):
    """Pause or resume a channel (open, paused, closed)."""
    require(can_manage_sites(request.auth))
    channel = get_scoped_or_404(Channel.objects.select_related("site"), request.auth, pk=channel_id)
    c = services.channel_set_status(actor=request.auth, channel=channel, status=payload.status)
    return {"id": c.pk, "name": c.name, "status": c.status}
