"""The API twins of the workforce's office pages (issue 8, §5): confirm a morning's
report-ins at once, teams and party branches, posts and their shifts and rota, and the
substitutions a team leader confirms. Same services as the pages; every lookup is cut to
the caller's jurisdiction and the services authorize again."""

import datetime as dt

from django.utils import timezone
from ninja import Field, Router, Schema, Status

from fangkong.areas.models import Level
from fangkong.core.api import JsonId, errors, require
from fangkong.core.errors import DomainError, NotFound
from fangkong.core.shortcuts import get_scoped_or_404

from . import selectors, services
from .api import _area
from .models import Post, PostKind, Shift, ShiftPattern, Worker
from .permissions import (
    can_confirm_enrollment,
    can_manage_posts,
    can_manage_teams,
    can_substitute,
)

router = Router(tags=["workforce"])
COMMUNITY = Field(pattern=r"^\d{6,18}$", description="a community's code")
AREA = Field(pattern=r"^\d{6,18}$", description="a community's or compound's code")


def _workers(request, ids: list[int], field: str) -> list[Worker]:
    """The workers named, all of the caller's jurisdiction (else 400 naming `field`)."""
    found = list(Worker.objects.for_user(request.auth).filter(pk__in=ids))
    if len(found) != len(set(ids)):
        raise DomainError(
            "有人员不在您的辖区内", "some workers are outside your jurisdiction", field=field
        )
    return found


# Report-ins ---------------------------------------------------------------------------------


class WorkforceConfirmAllIn(Schema):
    community: str = COMMUNITY


class WorkforceConfirmedOut(Schema):
    confirmed: int


@router.post(
    "/report-ins/confirm-all", response={200: WorkforceConfirmedOut, **errors(403, 404, 422)}
)
def report_ins_confirm_all(request, payload: WorkforceConfirmAllIn):
    """Confirm every waiting report-in at a community, as the report-ins page does."""
    require(can_confirm_enrollment(request.auth))
    community = _area(request, payload.community, Level.COMMUNITY)
    n = services.enrollments_confirm_all(actor=request.auth, community=community)
    return {"confirmed": n}


# Teams and party branches -------------------------------------------------------------------


class WorkforceTeamIn(Schema):
    community: str = COMMUNITY
    name: str = Field(min_length=1, max_length=100)
    leader: JsonId = Field(description="a worker's id: the leader (a branch: its secretary)")
    members: list[JsonId] = Field(default_factory=list, max_length=500)


class WorkforceTeamOut(Schema):
    id: int
    kind: str = Field(description="`team` or `branch`")
    community: str
    name: str
    leader: int
    members: int


def _team_args(request, payload: WorkforceTeamIn) -> dict:
    require(can_manage_teams(request.auth))
    return {
        "area": _area(request, payload.community),
        "name": payload.name,
        "lead": _workers(request, [payload.leader], "leader")[0],
        "members": _workers(request, payload.members, "members"),
    }


@router.post("/teams", response={201: WorkforceTeamOut, **errors(400, 403, 404, 409, 422)})
def team_create(request, payload: WorkforceTeamIn):
    """A team at a community with its leader and members, as the teams page makes one."""
    a = _team_args(request, payload)
    team = services.team_create(
        actor=request.auth,
        community=a["area"],
        name=a["name"],
        leader=a["lead"],
        members=a["members"],
    )
    out = {"kind": "team", "community": team.area_code, "leader": a["lead"].pk}
    return Status(201, {**out, "id": team.pk, "name": team.name, "members": team.members.count()})


@router.post("/branches", response={201: WorkforceTeamOut, **errors(400, 403, 404, 409, 422)})
def branch_create(request, payload: WorkforceTeamIn):
    """A party branch at a community, `leader` its secretary, as the teams page makes one."""
    a = _team_args(request, payload)
    branch = services.branch_create(
        actor=request.auth,
        area=a["area"],
        name=a["name"],
        secretary=a["lead"],
        members=a["members"],
    )
    out = {"kind": "branch", "community": branch.area_code, "leader": a["lead"].pk}
    return Status(
        201, {**out, "id": branch.pk, "name": branch.name, "members": branch.members.count()}
    )


# Posts, shifts and rota ---------------------------------------------------------------------


class WorkforcePostIn(Schema):
    area: str = AREA
    name: str = Field(min_length=1, max_length=100)
    kind: PostKind
    place: str = Field("", max_length=200)
    pattern: ShiftPattern = ShiftPattern.DAY
    heads: int = Field(1, ge=1, le=50)


class WorkforcePostOut(Schema):
    id: int
    area: str
    name: str
    kind: str
    place: str
    pattern: str
    heads: int


def _post_out(p: Post) -> dict:
    fields = ("name", "kind", "place", "pattern", "heads")
    return {"id": p.pk, "area": p.area_code, **{f: getattr(p, f) for f in fields}}


@router.post("/posts", response={201: WorkforcePostOut, **errors(400, 403, 404, 422)})
def post_create(request, payload: WorkforcePostIn):
    """A duty post at a community or compound, as the posts page makes one."""
    require(can_manage_posts(request.auth))
    p = services.post_create(
        actor=request.auth,
        area=_area(request, payload.area, Level.COMMUNITY, Level.COMPOUND),
        name=payload.name,
        kind=payload.kind,
        place=payload.place,
        pattern=payload.pattern,
        heads=payload.heads,
    )
    return Status(201, _post_out(p))


def _post(request, pk: int) -> Post:
    require(can_manage_posts(request.auth))
    return get_scoped_or_404(Post.objects.select_related("area", "team"), request.auth, pk=pk)


class WorkforceShiftsIn(Schema):
    first_day: dt.date | None = Field(None, description="empty: today")
    days: int = Field(1, ge=1, le=7)


class WorkforceShiftsMadeOut(Schema):
    made: int


@router.post(
    "/posts/{int:pk}/shifts", response={201: WorkforceShiftsMadeOut, **errors(400, 403, 404, 422)}
)
def post_shifts(request, pk: int, payload: WorkforceShiftsIn):
    """Open shifts on a post by its pattern for `days` days from `first_day`."""
    p = _post(request, pk)
    first = payload.first_day or timezone.localdate()
    slots = [(a, b, None) for a, b in services.pattern_slots(p, first, payload.days)]
    made = services.shifts_create(actor=request.auth, post=p, slots=slots)
    return Status(201, {"made": len(made)})


class WorkforceRotaIn(Schema):
    first_day: dt.date | None = Field(None, description="empty: today; the rota is 7 days")


class WorkforceRotaOut(Schema):
    filled: int
    open: int


@router.post("/posts/{int:pk}/rota", response={200: WorkforceRotaOut, **errors(400, 403, 404, 422)})
def post_rota(request, pk: int, payload: WorkforceRotaIn):
    """Build a post's rota for 7 days, as the post page does: planned shifts nobody has
    checked in to are replaced; shifts short of people stay open."""
    p = _post(request, pk)
    first = payload.first_day or timezone.localdate()
    made = services.rota_build(actor=request.auth, posts=[p], first_day=first, days=7)
    return {"filled": made["filled"], "open": made["open"]}


class WorkforceShiftOut(Schema):
    id: int
    post: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    worker: int | None


def _shift_out(s: Shift) -> dict:
    return {
        "id": s.pk,
        "post": s.post_id,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "status": s.status,
        "worker": s.worker_id,
    }


class WorkforceShiftAssignIn(Schema):
    worker: JsonId | None = Field(None, description="null: take the worker off")
    reason: str = Field("", max_length=200)


@router.post(
    "/shifts/{int:pk}/assign", response={200: WorkforceShiftOut, **errors(400, 403, 404, 422)}
)
def shift_assign(request, pk: int, payload: WorkforceShiftAssignIn):
    """Put a worker on a shift of a post, or take them off, as the post page does."""
    require(can_manage_posts(request.auth))
    shift = get_scoped_or_404(Shift.objects.select_related("post"), request.auth, pk=pk)
    w = _workers(request, [payload.worker], "worker")[0] if payload.worker else None
    shift = services.shift_assign(actor=request.auth, shift=shift, worker=w, reason=payload.reason)
    return _shift_out(shift)


# Substitutions ------------------------------------------------------------------------------


@router.post(
    "/shifts/{int:pk}/substitute",
    response={200: WorkforceShiftOut, **errors(400, 403, 404, 409, 422)},
)
def shift_substitute(request, pk: int):
    """Confirm the proposed substitute of an open shift (a team leader: of their teams'
    posts), as the substitutions page does; the worker is told."""
    require(can_substitute(request.auth))
    shift = selectors.substitutions_open(request.auth).filter(pk=pk).first()
    if shift is None:
        raise NotFound("没有该待替班次", "no such shift awaiting a substitute")
    return _shift_out(services.substitute_confirm(actor=request.auth, shift=shift))
