"""Reads over the area tree: drill-down counts, zones in force, breadcrumbs."""

from dataclasses import dataclass, field

from django.db.models import Count, Sum
from django.db.models.functions import Substr

from .models import (
    CODE_LENGTH,
    Area,
    BuildingStats,
    Household,
    Level,
    ZoneDesignation,
    ancestor_codes,
)


@dataclass
class AreaRow:
    area: Area
    counts: dict[str, int] = field(default_factory=dict)
    zone: ZoneDesignation | None = None


def _empty_counts() -> dict[str, int]:
    return dict.fromkeys(BuildingStats.COUNT_FIELDS, 0)


def area_totals(area: Area) -> dict[str, int]:
    """Counts for everything under `area`, summed from per-building rows."""
    totals = BuildingStats.objects.filter(code__startswith=area.code).aggregate(
        **{f: Sum(f) for f in BuildingStats.COUNT_FIELDS}
    )
    return {k: v or 0 for k, v in totals.items()}


def area_children(area: Area) -> list[AreaRow]:
    """The area's children with their counts and zones, in one query each."""
    children = list(area.children.order_by("code"))
    if not children:
        return []
    width = CODE_LENGTH[Level(area.level + 1)]
    grouped = (
        BuildingStats.objects.filter(code__startswith=area.code)
        .annotate(child=Substr("code", 1, width))
        .values("child")
        .annotate(**{f: Sum(f) for f in BuildingStats.COUNT_FIELDS})
    )
    by_child = {row.pop("child"): row for row in grouped}
    zones = zones_in_force([c.code for c in children])
    inherited = zone_in_force(area)
    return [
        AreaRow(
            area=c,
            counts=by_child.get(c.code, _empty_counts()),
            zone=zones.get(c.code) or inherited,
        )
        for c in children
    ]


def zones_in_force(codes: list[str]) -> dict[str, ZoneDesignation]:
    """The zone declared directly on each of `codes`, if one is active."""
    active = ZoneDesignation.objects.active().filter(area_code__in=codes).order_by("starts_at")
    return {z.area_code: z for z in active}


def zone_in_force(area: Area) -> ZoneDesignation | None:
    """The most specific active zone on the area or any area above it."""
    active = ZoneDesignation.objects.active().filter(area_code__in=ancestor_codes(area.code))
    best = None
    for zone in active:
        if best is None or len(zone.area_code) > len(best.area_code):
            best = zone
    return best


def breadcrumbs(area: Area, user) -> list[Area]:
    """The areas above `area` that the user may open, district first."""
    above = Area.objects.filter(code__in=area.ancestor_codes).order_by("code")
    return [a for a in above if user.may_see_area(a.code)]


def zone_history(area: Area):
    return ZoneDesignation.objects.filter(area=area).select_related("declared_by", "lifted_by")


def building_households(building: Area):
    """Households of a building with how many people each holds."""
    return (
        Household.objects.filter(building=building)
        .annotate(people=Count("residents"))
        .order_by(*Household.address_order())
    )
