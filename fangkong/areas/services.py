"""Every write to the area tree, grids, households and zones."""

import datetime as dt
from collections.abc import Iterable, Mapping

from django.db import transaction
from django.utils import timezone

from fangkong.core.actors import user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import DomainError
from fangkong.core.guards import authorize, required_reason

from .models import CODE_LENGTH, Area, BuildingStats, Grid, Household, Level, ZoneDesignation
from .permissions import can_add_buildings, can_declare_zone, can_manage_areas, can_manage_grids

LEVEL_ZH = {
    Level.DISTRICT: "区县",
    Level.STREET: "街道",
    Level.COMMUNITY: "社区",
    Level.COMPOUND: "小区",
    Level.BUILDING: "楼栋",
}


@transaction.atomic
def area_create(*, actor, code: str, name: str, level: int, parent: Area | None = None) -> Area:
    """Add an area under `parent` (in the actor's jurisdiction); a district (no parent)
    only as the system."""
    authorize(actor, can_manage_areas, area=parent.code if parent is not None else "\0")
    level = Level(level)
    if not code.isdigit() or len(code) != CODE_LENGTH[level]:
        raise DomainError(
            f"{LEVEL_ZH[level]}代码应为{CODE_LENGTH[level]}位数字",
            f"a {level.name.lower()} code must be {CODE_LENGTH[level]} digits",
            field="code",
        )
    if level == Level.DISTRICT:
        if parent is not None:
            raise DomainError("区县不能有上级", "a district has no parent", field="parent")
    else:
        if parent is None or parent.level != level - 1:
            raise DomainError("上级区域层级不对", "the parent is not one level up", field="parent")
        if not code.startswith(parent.code):
            raise DomainError(
                "区域代码须以上级代码开头", "the code must start with its parent's", field="code"
            )
    if Area.objects.filter(code=code).exists():
        raise DomainError(f"区域代码{code}已存在", f"area code {code} exists", field="code")
    area = Area.objects.create(code=code, name=name, level=level, parent=parent)
    audit_record(actor=actor, event="areas.area_create", target=area, area_code=code)
    return area


def next_child_code(parent: Area) -> str:
    """The next free code under `parent` (3 more digits)."""
    last = (
        Area.objects.filter(parent=parent).order_by("-code").values_list("code", flat=True).first()
    )
    number = int(last[-3:]) + 1 if last else 1
    if number > 999:
        raise DomainError("下级区域已满999个", "no more than 999 areas under one parent")
    return f"{parent.code}{number:03d}"


@transaction.atomic
def building_get_or_create(*, actor, compound: Area, name: str) -> tuple[Area, bool]:
    """A building under a compound by its name; made when first seen on a roster."""
    authorize(actor, can_add_buildings, area=compound.code)
    existing = Area.objects.filter(parent=compound, name=name).first()
    if existing:
        return existing, False
    # Lock the parent so two imports cannot take the same next code.
    Area.objects.select_for_update().filter(pk=compound.pk).first()
    building = Area.objects.create(
        code=next_child_code(compound), name=name, level=Level.BUILDING, parent=compound
    )
    audit_record(actor=actor, event="areas.area_create", target=building, area_code=building.code)
    return building, True


def household_get_or_create(
    *, actor, building: Area, unit: str, room: str
) -> tuple[Household, bool]:
    authorize(actor, can_add_buildings, area=building.code)
    if building.level != Level.BUILDING:
        raise DomainError("户必须在楼栋下", "a household must be in a building", field="building")
    if not room:
        raise DomainError("房号为空", "room is empty", field="room")
    return Household.objects.get_or_create(
        building=building, unit=unit, room=room, defaults={"area_code": building.code}
    )


@transaction.atomic
def grid_create(*, actor, community: Area, name: str, keeper=None, buildings=()) -> Grid:
    authorize(actor, can_manage_grids, area=community.code)
    if community.level != Level.COMMUNITY:
        raise DomainError("网格属于社区", "a grid belongs to a community", field="community")
    outside = [b for b in buildings if not b.code.startswith(community.code)]
    if outside:
        raise DomainError(
            "网格楼栋须在本社区内", "a grid's buildings must be in its community", field="buildings"
        )
    grid = Grid.objects.create(community=community, name=name, keeper=keeper)
    grid.buildings.set(buildings)
    audit_record(actor=actor, event="areas.grid_create", target=grid, area_code=community.code)
    return grid


@transaction.atomic
def zone_declare(
    *,
    actor,
    area: Area,
    kind: str,
    reason: str,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
) -> ZoneDesignation:
    """Declare a zone on an area. A zone already active on the same area is lifted first."""
    authorize(actor, can_declare_zone, area=area.code)
    reason = required_reason(reason)
    starts_at = starts_at or timezone.now()
    if ends_at is not None and ends_at <= starts_at:
        raise DomainError(
            "结束时间须晚于开始时间", "the end must be after the start", field="ends_at"
        )
    for current in ZoneDesignation.objects.select_for_update().filter(area=area).active():
        _lift(actor, current, f"superseded: {reason}")
    zone = ZoneDesignation.objects.create(
        area=area,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        declared_by=user_of(actor),
    )
    audit_record(
        actor=actor,
        event="areas.zone_declare",
        target=area,
        area_code=area.code,
        reason=reason,
        detail={"kind": kind, "zone": zone.pk, "ends_at": ends_at and ends_at.isoformat()},
    )
    return zone


def _lift(actor, zone: ZoneDesignation, reason: str) -> None:
    zone.lifted_at = timezone.now()
    zone.lifted_by = user_of(actor)
    zone.lift_reason = reason
    zone.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    audit_record(
        actor=actor,
        event="areas.zone_lift",
        target=zone.area,
        area_code=zone.area_code,
        reason=reason,
        detail={"kind": zone.kind, "zone": zone.pk},
    )


@transaction.atomic
def zone_lift(*, actor, zone: ZoneDesignation, reason: str) -> None:
    authorize(actor, can_declare_zone, area=zone.area_code)
    reason = required_reason(reason)
    if zone.lifted_at is not None:
        raise DomainError("该管控已解除", "this zone is already lifted")
    _lift(actor, zone, reason)


def building_stats_store(rows: Mapping[str, Mapping[str, int]], codes: Iterable[str]) -> None:
    """Replace the counts of the buildings `codes` with `rows` (code -> counts)."""
    codes = list(codes)
    buildings = dict(
        Area.objects.filter(code__in=codes, level=Level.BUILDING).values_list("code", "pk")
    )
    objs = [
        BuildingStats(
            building_id=pk,
            code=code,
            **{f: rows.get(code, {}).get(f, 0) for f in BuildingStats.COUNT_FIELDS},
            refreshed_at=timezone.now(),
        )
        for code, pk in buildings.items()
    ]
    BuildingStats.objects.bulk_create(
        objs,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["building"],
        update_fields=[*BuildingStats.COUNT_FIELDS, "refreshed_at"],
    )
