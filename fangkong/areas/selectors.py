"""Reads over the area tree: drill-down counts, zones in force, breadcrumbs."""

from dataclasses import dataclass, field

from django.db.models import Count, Sum
from django.db.models.functions import Substr

from fangkong.accounts.models import User
from fangkong.core.roles import Role

from .models import (
    CODE_LENGTH,
    Area,
    BuildingStats,
    Grid,
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
    children = list(active_children(area))
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


class ZoneMap:
    """The active zones (of `codes`, or everywhere), read once, to find the zone in force
    at many areas. The one rule: the zone in force at an area is the most specific active
    zone on it or above it; of two active zones on one area, the one that started later."""

    def __init__(self, codes: list[str] | None = None, at=None):
        active = ZoneDesignation.objects.active(at)
        if codes is not None:
            active = active.filter(area_code__in=codes)
        self.zones: dict[str, ZoneDesignation] = {}
        for zone in active.order_by("starts_at", "id"):
            self.zones[zone.area_code] = zone  # the later start wins

    def zone_at(self, code: str) -> ZoneDesignation | None:
        above = [c for c in self.zones if code.startswith(c)]
        return self.zones[max(above, key=len)] if above else None

    def kind_at(self, code: str) -> str | None:
        """The kind of the zone in force at `code` (None: no zone)."""
        zone = self.zone_at(code)
        return zone.kind if zone else None

    def codes_of(self, kind: str) -> list[str]:
        """The areas on which a zone of `kind` is declared (and in force there)."""
        return [code for code, zone in self.zones.items() if zone.kind == kind]


def zones_in_force(codes: list[str]) -> dict[str, ZoneDesignation]:
    """The zone declared directly on each of `codes`, if one is active."""
    return ZoneMap(codes).zones


def zone_in_force(area: Area) -> ZoneDesignation | None:
    """The zone in force at the area: declared on it or inherited from above."""
    return ZoneMap(ancestor_codes(area.code)).zone_at(area.code)


def breadcrumbs(area: Area, user) -> list[Area]:
    """The areas above `area` that the user may open, district first."""
    above = Area.objects.filter(code__in=area.ancestor_codes).order_by("code")
    return [a for a in above if user.may_see_area(a.code)]


def zone_history(area: Area):
    return ZoneDesignation.objects.filter(area=area).select_related("declared_by", "lifted_by")


def building_households(building: Area, user):
    """Households of a building with how many people each holds, if `user` may see them
    (core.sight "areas.households"; else none)."""
    return (
        Household.objects.for_user(user)
        .filter(building=building)
        .annotate(people=Count("residents"))
        .order_by(*Household.address_order())
    )


# Administration ------------------------------------------------------------------------


def active_children(area: Area):
    return area.children.filter(retired_at__isnull=True).order_by("code")


def move_candidates(user, area: Area):
    """Where an area may be put: areas of its parent's level in the user's
    jurisdiction, under the same grandparent (a wider move goes by the API's code)."""
    if area.level <= Level.STREET:
        return Area.objects.none()
    above = ancestor_codes(area.code)
    grandparent = above[-3] if len(above) >= 3 else ""
    return (
        Area.objects.for_user(user)
        .active()
        .filter(level=area.level - 1, code__startswith=grandparent)
        .exclude(pk=area.parent_id)
        .order_by("code")[:500]
    )


def community_buildings(community: Area):
    """The community's buildings in use, with their compounds, in code order."""
    return (
        Area.objects.within(community)
        .active()
        .filter(level=Level.BUILDING)
        .select_related("parent")
        .order_by("code")
    )


def community_grids(community: Area):
    return (
        Grid.objects.filter(community=community)
        .select_related("keeper")
        .annotate(building_count=Count("buildings"))
        .order_by("name")
    )


def grid_keepers(community: Area, current=None):
    """Grid workers who may keep a grid of the community: active, holding areas of it."""
    keepers = User.objects.filter(
        role=Role.GRID, is_active=True, areas__code__startswith=community.code
    )
    if current is not None:
        keepers = keepers | User.objects.filter(pk=current.pk)
    return keepers.distinct().order_by("username")
