"""The area tree over JSON: the caller's roots, one area with its children, zones."""

import datetime as dt
from typing import Annotated, Literal

from ninja import Field, File, Path, Query, Router, Schema, Status, UploadedFile

from fangkong.core.api import (
    MAX_PAGE,
    IsoDateTime,
    PageOut,
    aware,
    errors,
    page_out,
    require,
)
from fangkong.core.errors import DomainError
from fangkong.core.paging import paginate
from fangkong.core.shortcuts import get_scoped_or_404

from . import selectors, services
from .divisions import read_divisions
from .models import Area, Grid, Level, ZoneDesignation, ZoneKind
from .permissions import can_browse_areas, can_declare_zone

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
        description="a building's households (for the roles that see them); else empty"
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
    plain = ("id", "area_code", "kind", "starts_at", "ends_at", "reason", "declared_at")
    return {
        **{f: getattr(zone, f) for f in (*plain, "lifted_at", "lift_reason")},
        "declared_by": zone.declared_by and zone.declared_by.username,
        "lifted_by": zone.lifted_by and zone.lifted_by.username,
        "in_force": zone.in_force(),
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
            for h in selectors.building_households(area, request.auth)
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


# Administration: the same services as the set-up pages ----------------------------------


class AreaAddIn(Schema):
    name: str = Field(max_length=100)
    code: str = Field("", pattern=r"^(\d{9,18})?$", description="empty: the next free code")


class AreaRenameIn(Schema):
    name: str = Field(max_length=100)
    reason: str = Field("", max_length=2000)


class AreaMoveIn(Schema):
    parent: str = Field(pattern=r"^\d{6,15}$", description="the new parent's code")
    reason: str = Field(max_length=2000)


class AreaRetireIn(Schema):
    reason: str = Field(max_length=2000)


class AreaRetiredOut(Schema):
    code: str
    retired: int = Field(description="how many areas (this one and below) were retired")


class DivisionRowErrorOut(Schema):
    row: int
    field: str
    message: str
    message_zh: str


class DivisionReportOut(Schema):
    created: int
    renamed: int
    unchanged: int
    rejected: int
    errors: list[DivisionRowErrorOut]


class GridIn(Schema):
    name: str = Field(max_length=100)
    keeper: str | None = Field(None, max_length=150, description="a grid worker's username")
    buildings: list[str] = Field(
        default_factory=list, max_length=2000, description="building codes of the community"
    )


class GridOut(Schema):
    id: int
    community: str
    name: str
    keeper: str | None
    buildings: list[str]


def _managed_area(request, code: str) -> Area:
    return get_scoped_or_404(Area.objects.active(), request.auth, code=code)


def grid_out(grid: Grid) -> dict:
    return {
        "id": grid.pk,
        "community": grid.community.code,
        "name": grid.name,
        "keeper": grid.keeper.username if grid.keeper_id else None,
        "buildings": sorted(grid.buildings.values_list("code", flat=True)),
    }


def _grid_args(request, community: Area, payload: GridIn) -> dict:
    buildings = list(selectors.community_buildings(community).filter(code__in=payload.buildings))
    missing = set(payload.buildings) - {b.code for b in buildings}
    if missing:
        raise DomainError(
            f"楼栋{min(missing)}不在本社区",
            f"building {min(missing)} is not in this community",
            field="buildings",
        )
    keeper = None
    if payload.keeper:
        keeper = selectors.grid_keepers(community).filter(username=payload.keeper).first()
        if keeper is None:
            raise DomainError(
                "网格员须为本社区在用的网格员账号",
                "the keeper must be an active grid worker of this community",
                field="keeper",
            )
    return {"name": payload.name, "keeper": keeper, "buildings": buildings}


@router.post("/{code}/children", response={201: AreaBrief, **errors(400, 403, 404, 422)})
def area_add(request, code: AreaCode, payload: AreaAddIn):
    """Add an area below this one (the next free code unless one is given)."""
    parent = _managed_area(request, code)
    area = services.area_create(
        actor=request.auth, parent=parent, name=payload.name, code=payload.code
    )
    return Status(201, area_brief(area))


@router.post("/{code}/rename", response={200: AreaBrief, **errors(400, 403, 404, 422)})
def area_rename(request, code: AreaCode, payload: AreaRenameIn):
    """Rename an area below one's own; its code stays."""
    area = _managed_area(request, code)
    services.area_rename(actor=request.auth, area=area, name=payload.name, reason=payload.reason)
    return area_brief(area)


@router.post("/{code}/move", response={200: AreaBrief, **errors(400, 403, 404, 409, 422)})
def area_move(request, code: AreaCode, payload: AreaMoveIn):
    """Put an area under another parent: a new code for it and its subtree. Refused
    (409) while anything lives under it."""
    area = _managed_area(request, code)
    parent = _managed_area(request, payload.parent)
    area = services.area_move(actor=request.auth, area=area, parent=parent, reason=payload.reason)
    return area_brief(area)


@router.post("/{code}/retire", response={200: AreaRetiredOut, **errors(400, 403, 404, 409, 422)})
def area_retire(request, code: AreaCode, payload: AreaRetireIn):
    """Retire an area and its subtree (hidden, code kept). Refused (409) while a
    household is registered under it."""
    area = _managed_area(request, code)
    count = services.area_retire(actor=request.auth, area=area, reason=payload.reason)
    return {"code": area.code, "retired": count}


@router.post("/divisions/import", response={200: DivisionReportOut, **errors(400, 403, 422)})
def division_import(request, file: File[UploadedFile]):
    """Import a division list (.xlsx or .csv: code, name, parent). Good rows go in; bad
    ones come back with row, field and reason. Importing it again changes nothing."""
    report = services.division_import(actor=request.auth, rows=read_divisions(file))
    return {
        **report.counts(),
        "errors": [
            {"row": e.row, "field": e.column, "message": e.en, "message_zh": e.zh}
            for e in report.errors
        ],
    }


@router.get("/{code}/grids", response={200: list[GridOut], **errors(403, 404, 422)})
def grid_list(request, code: AreaCode):
    """The grids of a community."""
    community = _area(request, code)
    return [grid_out(g) for g in selectors.community_grids(community)]


@router.post("/{code}/grids", response={201: GridOut, **errors(400, 403, 404, 422)})
def grid_create(request, code: AreaCode, payload: GridIn):
    """Draw a grid in a community: its buildings and its keeper."""
    community = _managed_area(request, code)
    grid = services.grid_create(
        actor=request.auth, community=community, **_grid_args(request, community, payload)
    )
    return Status(201, grid_out(grid))


def _grid(request, grid_id: int) -> Grid:
    return get_scoped_or_404(
        Grid.objects.select_related("community", "keeper"), request.auth, pk=grid_id
    )


@router.get("/grids/{grid_id}", response={200: GridOut, **errors(403, 404)})
def grid_detail(request, grid_id: int):
    require(can_browse_areas(request.auth))
    return grid_out(_grid(request, grid_id))


@router.put("/grids/{grid_id}", response={200: GridOut, **errors(400, 403, 404, 422)})
def grid_update(request, grid_id: int, payload: GridIn):
    """Rename a grid, redraw its buildings, name its keeper (null: none)."""
    grid = _grid(request, grid_id)
    services.grid_update(
        actor=request.auth, grid=grid, **_grid_args(request, grid.community, payload)
    )
    grid.refresh_from_db()
    return grid_out(grid)
