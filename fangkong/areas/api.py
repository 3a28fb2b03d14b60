"""The area tree over JSON: the caller's roots, one area with its children, zones."""

import datetime as dt
from typing import Annotated, Literal

from django.utils import timezone
from ninja import Field, Path, Query, Router, Schema, Status

from fangkong.areas.permissions import can_browse_areas, can_declare_zone
from fangkong.core.api import MAX_PAGE, IsoDateTime, PageOut, aware, errors, page_out, require
from fangkong.core.paging import paginate
from fangkong.core.shortcuts import get_scoped_or_404

from . import selectors, services
from .models import Area, Level, ZoneDesignation, ZoneKind

router = Router(tags=["areas"])

# An area code is its path in the tree: 6 digits for a district, 3 more a level down.
AreaCode = Annotated[str, Path(pattern=r"^\d{6,18}$")]
LevelName = Literal["district", "street", "community", "compound", "building"]


class AreaBrief(Schema):
    code: str
    name: str
    level: LevelName


class AreaCountsOut(Schema):
    households: int
    residents: int
    aged_70: int
    bedridden: int
    living_alone: int
    tenants: int


class ZoneOut(Schema):
    id: int
    area_code: str
    kind: ZoneKind
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    reason: str
    declared_by: str | None
    declared_at: dt.datetime
    lifted_at: dt.datetime | None
    lifted_by: str | None
    lift_reason: str
    in_force: bool


class AreaRowOut(AreaBrief):
    counts: AreaCountsOut
    zone: ZoneOut | None = Field(description="the zone in force here, declared here or above")


class BuildingHouseholdOut(Schema):
    id: int
    unit: str
    room: str
    residents: int


class AreaOut(AreaRowOut):
    parent_code: str | None
    path: list[AreaBrief] = Field(description="the areas above this one that the caller may open")
    children: list[AreaRowOut]
    households: list[BuildingHouseholdOut] = Field(
        description="a building's households; else empty"
    )


class ZoneDeclareIn(Schema):
    kind: ZoneKind
    reason: str = Field(max_length=2000)
    starts_at: IsoDateTime | None = Field(None, description="default now; no offset = local")
    ends_at: IsoDateTime | None = None


class ZoneLiftIn(Schema):
    reason: str = Field(max_length=2000)


class ZoneHistoryQuery(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE)


def area_brief(area: Area) -> dict:
    return {"code": area.code, "name": area.name, "level": area.level_name}


def zone_out(zone: ZoneDesignation | None) -> dict | None:
    if zone is None:
        return None
    now = timezone.now()
    plain = ("id", "area_code", "kind", "starts_at", "ends_at", "reason", "declared_at")
    return {
        **{f: getattr(zone, f) for f in (*plain, "lifted_at", "lift_reason")},
        "declared_by": zone.declared_by and zone.declared_by.username,
        "lifted_by": zone.lifted_by and zone.lifted_by.username,
        # As ZoneQuerySet.active() decides it, for one row already in hand.
        "in_force": zone.lifted_at is None
        and zone.starts_at <= now
        and (zone.ends_at is None or zone.ends_at > now),
    }


def _row(area: Area, counts: dict, zone) -> dict:
    return {**area_brief(area), "counts": counts, "zone": zone_out(zone)}


def _area(request, code: str) -> Area:
    require(can_browse_areas(request.auth))
    return get_scoped_or_404(Area.objects, request.auth, code=code)


@router.get("/", response={200: list[AreaRowOut], **errors(403)})
def area_roots(request):
    """The top areas of the caller's jurisdiction, with counts and the zone in force."""
    require(can_browse_areas(request.auth))
    roots = Area.objects.filter(code__in=request.auth.scope_prefixes())
    return [_row(a, selectors.area_totals(a), selectors.zone_in_force(a)) for a in roots]


@router.get("/{code}", response={200: AreaOut, **errors(403, 404, 422)})
def area_detail(request, code: AreaCode):
    """One area of the caller's jurisdiction with its children (or a building's households)."""
    area = _area(request, code)
    households = []
    if area.level == Level.BUILDING:
        households = [
            {"id": h.pk, "unit": h.unit, "room": h.room, "residents": h.people}
            for h in selectors.building_households(area)
        ]
    return {
        **_row(area, selectors.area_totals(area), selectors.zone_in_force(area)),
        "parent_code": area.ancestor_codes[-1] if area.ancestor_codes else None,
        "path": [area_brief(a) for a in selectors.breadcrumbs(area, request.auth)],
        "children": [_row(r.area, r.counts, r.zone) for r in selectors.area_children(area)],
        "households": households,
    }


@router.get("/{code}/zones", response={200: PageOut[ZoneOut], **errors(403, 404, 422)})
def zone_list(request, code: AreaCode, paging: Query[ZoneHistoryQuery]):
    """Zones declared on this very area, newest first, lifted ones too."""
    area = _area(request, code)
    page = paginate(selectors.zone_history(area), paging.page, 50)
    return page_out(page, [zone_out(z) for z in page.items])


@router.post("/{code}/zones", response={201: ZoneOut, **errors(400, 403, 404, 422)})
def zone_declare(request, code: AreaCode, payload: ZoneDeclareIn):
    """Declare a zone (command centre only). An active zone on the same area is lifted."""
    area = _area(request, code)
    require(can_declare_zone(request.auth))
    zone = services.zone_declare(
        actor=request.auth,
        area=area,
        kind=payload.kind,
        reason=payload.reason,
        starts_at=aware(payload.starts_at),
        ends_at=aware(payload.ends_at),
    )
    return Status(201, zone_out(zone))


@router.post("/zones/{zone_id}/lift", response={200: ZoneOut, **errors(400, 403, 404, 422)})
def zone_lift(request, zone_id: int, payload: ZoneLiftIn):
    """Lift a zone before its end (command centre only); the reason is kept."""
    require(can_declare_zone(request.auth))
    zone = get_scoped_or_404(ZoneDesignation.objects, request.auth, pk=zone_id)
    services.zone_lift(actor=request.auth, zone=zone, reason=payload.reason)
    zone.refresh_from_db()
    return zone_out(zone)
