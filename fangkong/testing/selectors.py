"""Reads of the testing domain: rounds a user may see, coverage, the not-yet-sampled,
door-to-door lists, a sampling device's configuration.

Coverage never counts samples: it sums `BuildingCoverage` rows, one per building,
by a code prefix (an area at any level) or by a list of codes (a grid). A district of
10 million residents is ~50,000 rows: one index range scan.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Sum, Value
from django.db.models.functions import Greatest, Substr

from fangkong.areas.models import CODE_LENGTH, Area, Grid, Household, Level
from fangkong.areas.selectors import ZoneMap, zones_in_force
from fangkong.core.scoping import minimal_prefixes, prefix_q
from fangkong.people.models import Resident

from .models import (
    BuildingCoverage,
    Exemption,
    FirstSample,
    HomeSamplingTask,
    RoundStatus,
    SamplingSite,
    SiteStatus,
    TaskStatus,
    TestingRound,
)

COUNTS = ("expected", "sampled", "exempt", "unsampled")


@dataclass
class Coverage:
    expected: int = 0
    sampled: int = 0
    exempt: int = 0
    unsampled: int = 0

    @property
    def due(self) -> int:
        """Those who should be sampled: expected minus exempt."""
        return max(0, self.expected - self.exempt)

    @property
    def percent(self) -> float:
        return round(100 * min(self.sampled, self.due) / self.due, 1) if self.due else 0.0

    def as_dict(self) -> dict:
        return {
            "expected": self.expected,
            "sampled": self.sampled,
            "exempt": self.exempt,
            "unsampled": self.unsampled,
            "percent": self.percent,
        }


def _sums() -> dict:
    return {
        "n_expected": Sum("expected"),
        "n_sampled": Sum("sampled"),
        "n_exempt": Sum("exempt"),
        # Per building, never below zero (people who moved in after launch).
        "n_unsampled": Sum(Greatest(F("expected") - F("sampled") - F("exempt"), Value(0))),
    }


def _coverage(row: dict) -> Coverage:
    return Coverage(**{k: row.get(f"n_{k}") or 0 for k in COUNTS})


def round_codes(rnd: TestingRound) -> list[str]:
    return list(rnd.round_areas.values_list("area_code", flat=True))


def overlap(round_codes: list[str], scope: list[str]) -> list[str]:
    """The parts of a round's areas inside a scope, as code prefixes."""
    out = []
    for r in round_codes:
        for s in scope:
            if r.startswith(s):
                out.append(r)
            elif s.startswith(r):
                out.append(s)
    return minimal_prefixes(out)


def round_scope(rnd: TestingRound, user) -> list[str]:
    """The parts of the round the user may see."""
    return overlap(round_codes(rnd), user.scope_prefixes())


def rounds_for_user(user):
    return TestingRound.objects.for_user(user).prefetch_related("round_areas__area")


def coverage_of_area(rnd: TestingRound, code: str) -> Coverage:
    """Coverage of everything under an area code (a building, compound, ... district)."""
    row = BuildingCoverage.objects.filter(round=rnd, area_code__startswith=code).aggregate(
        **_sums()
    )
    return _coverage(row)


def coverage_of_codes(rnd: TestingRound, prefixes: list[str]) -> Coverage:
    """Coverage of several subtrees (a user's jurisdiction)."""
    total = Coverage()
    for code in minimal_prefixes(prefixes):
        part = coverage_of_area(rnd, code)
        for k in COUNTS:
            setattr(total, k, getattr(total, k) + getattr(part, k))
    return total


def coverage_of_grid(rnd: TestingRound, grid: Grid) -> Coverage:
    codes = list(grid.buildings.values_list("code", flat=True))
    row = BuildingCoverage.objects.filter(round=rnd, area_code__in=codes).aggregate(**_sums())
    return _coverage(row)


@dataclass
class CoverageRow:
    area: Area
    coverage: Coverage
    zone: object = None


def coverage_children(rnd: TestingRound, area: Area) -> list[CoverageRow]:
    """The area's children with their coverage: one GROUP BY over building rows."""
    if area.level == Level.BUILDING:
        return []
    width = CODE_LENGTH[Level(area.level + 1)]
    grouped = (
        BuildingCoverage.objects.filter(round=rnd, area_code__startswith=area.code)
        .annotate(child=Substr("area_code", 1, width))
        .values("child")
        .annotate(**_sums())
        .order_by()
    )
    by_child = {row["child"]: _coverage(row) for row in grouped}
    children = [c for c in area.children.order_by("code") if c.code in by_child]
    zones = zones_in_force([c.code for c in children])
    return [CoverageRow(c, by_child[c.code], zones.get(c.code)) for c in children]


def grid_buildings_coverage(rnd: TestingRound, grid: Grid) -> list[CoverageRow]:
    buildings = list(grid.buildings.order_by("code"))
    rows = {
        r.area_code: r
        for r in BuildingCoverage.objects.filter(
            round=rnd, area_code__in=[b.code for b in buildings]
        )
    }
    out = []
    for b in buildings:
        r = rows.get(b.code)
        if r is None:
            continue
        unsampled = max(0, r.expected - r.sampled - r.exempt)
        out.append(CoverageRow(b, Coverage(r.expected, r.sampled, r.exempt, unsampled)))
    return out


def area_in_round(rnd: TestingRound, code: str) -> bool:
    """Whether an area overlaps the round (lies under one of its areas, or above one)."""
    return any(code.startswith(c) or c.startswith(code) for c in round_codes(rnd))


class Probe(Exists):
    """`EXISTS`, looked up row by row through an index on PostgreSQL.

    PostgreSQL turns a plain `NOT EXISTS` into an anti-join and costs it from its
    statistics: with too few markers counted for a round (a round sampled since the
    last ANALYZE; docs/benchmarks.md) it chose to hash every first-sample marker of
    the round (tens of thousands of rows at 1,000,000 residents, millions at
    10,000,000) to answer for a building of 200: 27 ms warm, and every page of the
    round's markers read on a cold cache. `OFFSET 0` keeps the subquery a subplan, so
    each of the building's residents is one probe of the (round, resident) index,
    whatever the statistics say: the pages touched grow with the building, not the
    round."""

    def as_postgresql(self, compiler, connection, **extra_context):
        template = "EXISTS(%(subquery)s OFFSET 0)"
        return super().as_sql(compiler, connection, template=template, **extra_context)


def unsampled_residents(rnd: TestingRound, building: Area):
    """Residents of a building not sampled in the round and not exempt, by door.

    The building's residents and its households are each read from one covering index
    on their area code (`resident_building`, `household_building`: index-only, a few
    pages, however their rows lie in the tables), then each resident is checked against
    the first-sample markers and the current exemptions by one index probe on
    (round, resident) (`Probe`): a building's list costs the same in a city of ten
    million, and on a cold cache touches about one page of markers a household and a few
    pages more (docs/benchmarks.md, "cold list at 10M").

    A household's area code is its building's and a resident's is their household's, so
    the filter on the household's says nothing new: it lets the households be read by
    the building too, not one primary-key lookup each.
    """
    sampled = FirstSample.objects.filter(round=rnd, resident=OuterRef("pk"))
    exempt = Exemption.objects.filter(round=rnd, resident=OuterRef("pk"), ended_at__isnull=True)
    return (
        Resident.objects.filter(area_code=building.code, household__area_code=building.code)
        .filter(~Probe(sampled), ~Probe(exempt))
        .select_related("household")
        .only(*UNSAMPLED_FIELDS)
        .order_by(*Household.address_order("household__"), "id")
    )


# What the door-knocking list shows (not the encrypted numbers, not the notes).
UNSAMPLED_FIELDS = (
    "name",
    "id_masked",
    "phone_masked",
    "birth_date",
    "tags",
    "area_code",
    "household__unit",
    "household__room",
    "household__area_code",
)


def exempt_residents(rnd: TestingRound, building: Area):
    return (
        Exemption.objects.current()
        .filter(round=rnd, area_code=building.code)
        .select_related("resident__household", "granted_by")
        .order_by(*Household.address_order("resident__household__"))
    )


def home_tasks(rnd: TestingRound, user, *, area: str = "", status: str = ""):
    tasks = HomeSamplingTask.objects.for_user(user).filter(round=rnd)
    if area:
        tasks = tasks.within(area)
    if status:
        tasks = tasks.filter(status=status)
    return tasks.select_related("household__building__parent", "resident", "team", "tube").order_by(
        "area_code", *Household.address_order("household__"), "id"
    )


def my_home_tasks(user):
    """Tasks given to `user` in rounds under way (and in their jurisdiction): open first,
    by building and door."""
    from django.db.models import Case, IntegerField, When

    return (
        HomeSamplingTask.objects.for_user(user)
        .filter(team=user, round__status=RoundStatus.ACTIVE)
        .select_related("round", "household__building__parent", "resident", "team", "tube")
        .annotate(
            done=Case(When(status=TaskStatus.OPEN, then=0), default=1, output_field=IntegerField())
        )
        .order_by("done", "area_code", *Household.address_order("household__"), "id")
    )


def assignees(user):
    """People door-to-door tasks may be given to: active users who may close a task and
    hold an area inside `user`'s jurisdiction (grid workers, samplers, volunteers...)."""
    from django.contrib.auth import get_user_model

    from fangkong.testing.permissions import can_close_home_task

    users = get_user_model()
    through = users.areas.through
    inside = through.objects.filter(prefix_q("area__code", user.scope_prefixes()))
    return users.objects.filter(
        is_active=True,
        role__in=[r.value for r in can_close_home_task.roles],
        pk__in=inside.values("user_id"),
    ).order_by("role", "username")


@dataclass
class BuildingTasks:
    building: Area
    tasks: list

    @property
    def open(self) -> int:
        return sum(t.status == TaskStatus.OPEN for t in self.tasks)

    @property
    def due_at(self):
        """The soonest deadline of the open tasks."""
        return min(
            (t.due_at for t in self.tasks if t.status == TaskStatus.OPEN and t.due_at), default=None
        )

    @property
    def assignees(self) -> list[str]:
        return sorted({str(t.team) for t in self.tasks if t.team_id})


def home_tasks_by_building(tasks) -> list[BuildingTasks]:
    """Tasks grouped by building, for handing a building to one team."""
    groups: dict[str, list] = defaultdict(list)
    for t in tasks:
        groups[t.area_code].append(t)
    names = {a.code: a for a in Area.objects.filter(code__in=list(groups))}
    return [
        BuildingTasks(names.get(code, Area(code=code, name=code)), groups[code]) for code in groups
    ]


def sites_of_area(area: Area):
    return (
        SamplingSite.objects.within(area).prefetch_related("channels").order_by("area_code", "name")
    )


def site_facts(site: SamplingSite, *, pool_size: int | None, closed_channels: bool) -> dict:
    """A site with its channels (prefetched), as the sampler's configuration and the API
    give it."""
    return {
        "id": site.pk,
        "name": site.name,
        "area_code": site.area_code,
        "address": site.address,
        "status": site.status,
        "opens_at": site.opens_at,
        "closes_at": site.closes_at,
        "pool_size": pool_size,
        "channels": [
            {"id": c.pk, "name": c.name, "status": c.status}
            for c in site.channels.all()
            if closed_channels or c.status != SiteStatus.CLOSED
        ],
    }


def sampler_config(user) -> dict:
    """What a sampling device needs offline: the rounds it may sample in, their sites
    and channels in the user's jurisdiction, the pool size for each site, and the key
    that checks residents' codes."""
    from fangkong.people.codes import public_key_b64

    rounds = []
    zones = ZoneMap()
    my_sites = list(
        SamplingSite.objects.for_user(user)
        .exclude(status=SiteStatus.CLOSED)
        .prefetch_related("channels")
        .order_by("area_code", "name")
    )
    for rnd in TestingRound.objects.for_user(user).active().order_by("-starts_at"):
        codes = round_codes(rnd)
        sites = []
        for site in my_sites:
            if not any(site.area_code.startswith(c) or c.startswith(site.area_code) for c in codes):
                continue
            sites.append(
                site_facts(
                    site,
                    pool_size=rnd.pool_size_for(zones.kind_at(site.area_code)),
                    closed_channels=False,
                )
            )
        rounds.append(
            {
                "id": rnd.pk,
                "name": rnd.name,
                "starts_at": rnd.starts_at,
                "deadline": rnd.deadline,
                "areas": codes,
                "pool_sizes": {
                    "sealed": rnd.pool_sealed,
                    "controlled": rnd.pool_controlled,
                    "prevention": rnd.pool_prevention,
                },
                "sites": sites,
            }
        )
    return {"rounds": rounds, "code_public_key": public_key_b64(), "code_version": "FK1"}
