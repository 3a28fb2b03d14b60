"""Reads of the screening domain: tasks by time left, statuses and their history,
hand-overs, campaign coverage (sums of per-building rows, like a testing round's), the
not-yet-screened households of a building, venues, match runs and their contacts.
Everything about people goes through `for_user(user)`."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Greatest, Substr
from django.utils import timezone

from fangkong.areas.models import CODE_LENGTH, Area, Grid, Household, Level
from fangkong.core.scoping import minimal_prefixes, prefix_q

from .models import (
    Campaign,
    CampaignCoverage,
    CampaignHousehold,
    ControlStatus,
    HandOver,
    HouseholdVisit,
    MatchContact,
    MatchRun,
    Person,
    TaskState,
    TraceTask,
    Venue,
    VisitOutcome,
)

# Tasks -----------------------------------------------------------------------------


def tasks_for(user, *, state: str = "", area: str = "", category: str = ""):
    """Trace tasks of the user's jurisdiction; `state` "active" for the unfinished."""
    tasks = TraceTask.objects.for_user(user).select_related("person")
    if state == "active":
        tasks = tasks.active()
    elif state == "overdue":
        tasks = tasks.overdue()
    elif state in TaskState.values:
        tasks = tasks.filter(state=state)
    if area:
        tasks = tasks.within(area)
    if category:
        tasks = tasks.filter(category=category)
    return tasks


def my_tasks(user):
    """What a community worker's phone shows: unfinished tasks, least time left first."""
    return tasks_for(user, state="active").by_time_left()


@dataclass
class TaskCounts:
    active: int
    overdue: int
    due_within_hour: int
    # Contacts matched here on no roster and known by no detail (`unidentified_for`).
    unidentified: int = 0


def task_counts(user) -> TaskCounts:
    now = timezone.now()
    tasks = TraceTask.objects.for_user(user).active()
    row = tasks.aggregate(
        active=Count("id"),
        overdue=Count("id", filter=Q(deadline__lt=now)),
        soon=Count("id", filter=Q(deadline__lt=now + dt.timedelta(hours=1))),
    )
    unidentified = unidentified_for(user).count()
    return TaskCounts(row["active"], row["overdue"], row["soon"] - row["overdue"], unidentified)


def task_history(task: TraceTask) -> dict:
    return {
        "attempts": list(task.attempt_log.all()),
        "statuses": list(ControlStatus.objects.filter(task=task).order_by("starts_at")),
    }


# Statuses ------------------------------------------------------------------------------


@dataclass
class StatusView:
    person: Person | None
    current: ControlStatus | None
    history: list[ControlStatus]
    tasks: list[TraceTask]


def status_of_person(person: Person | None, *, history: int = 20) -> StatusView:
    if person is None:
        return StatusView(None, None, [], [])
    spans = list(person.statuses.select_related("set_by").order_by("-starts_at", "-id")[:history])
    current = next((s for s in spans if s.ended_at is None), None)
    tasks = list(person.tasks.order_by("-raised_at")[:5])
    return StatusView(person, current, spans, tasks)


def status_of_resident(resident_id: int, *, history: int = 20) -> StatusView:
    """A resident's status (the caller has fetched the resident through its scope)."""
    return status_of_person(Person.objects.filter(resident_id=resident_id).first(), history=history)


def people_for(user):
    return Person.objects.for_user(user)


def under_control(user, *, kind: str = ""):
    """Current statuses of the user's jurisdiction (not none, not released)."""
    spans = (
        ControlStatus.objects.for_user(user)
        .current()
        .exclude(kind__in=["none", "released"])
        .select_related("person")
    )
    if kind:
        spans = spans.filter(kind=kind)
    return spans.order_by("planned_end", "id")


# Hand-overs ------------------------------------------------------------------------


def hand_overs_for(user):
    return HandOver.objects.for_user(user).select_related("task", "accepted_task")


def hand_overs_received(user):
    """Hand-overs addressed to the user's district(s), the ones not taken on first."""
    districts = {p[:6] for p in user.scope_prefixes() if len(p) >= 6}
    return HandOver.objects.filter(to_district__in=districts).order_by(
        F("accepted_at").asc(nulls_first=True), "-sent_at"
    )


# Campaigns ------------------------------------------------------------------------------

COUNTS = ("households", "done", "open_visited", "not_yet")


@dataclass
class Coverage:
    households: int = 0
    done: int = 0
    open_visited: int = 0  # visited: nobody home or refused
    not_yet: int = 0  # households − done (visited or not)

    @property
    def percent(self) -> float:
        return (
            round(100 * min(self.done, self.households) / self.households, 1)
            if self.households
            else 0.0
        )

    def as_dict(self) -> dict:
        return {**{k: getattr(self, k) for k in COUNTS}, "percent": self.percent}


def _sums() -> dict:
    return {
        "n_households": Sum("households"),
        "n_done": Sum("done"),
        "n_open_visited": Sum("open_visited"),
        "n_not_yet": Sum(Greatest(F("households") - F("done"), Value(0))),
    }


def _coverage(row: dict) -> Coverage:
    return Coverage(**{k: row.get(f"n_{k}") or 0 for k in COUNTS})


def campaigns_for(user):
    return Campaign.objects.for_user(user).prefetch_related("campaign_areas")


def campaign_codes(campaign: Campaign) -> list[str]:
    return list(campaign.campaign_areas.values_list("area_code", flat=True))


def campaign_scope(campaign: Campaign, user) -> list[str]:
    """The parts of the campaign the user may see, as code prefixes."""
    out = []
    for c in campaign_codes(campaign):
        for s in user.scope_prefixes():
            if c.startswith(s):
                out.append(c)
            elif s.startswith(c):
                out.append(s)
    return minimal_prefixes(out)


def coverage_of_area(campaign: Campaign, code: str) -> Coverage:
    return _coverage(
        CampaignCoverage.objects.filter(campaign=campaign, area_code__startswith=code).aggregate(
            **_sums()
        )
    )


def coverage_of_codes(campaign: Campaign, codes: list[str]) -> Coverage:
    total = Coverage()
    for code in minimal_prefixes(codes):
        part = coverage_of_area(campaign, code)
        for k in COUNTS:
            setattr(total, k, getattr(total, k) + getattr(part, k))
    return total


@dataclass
class CoverageRow:
    area: Area
    coverage: Coverage


def coverage_children(campaign: Campaign, area: Area) -> list[CoverageRow]:
    """The area's children with their coverage: one GROUP BY over building rows."""
    if area.level == Level.BUILDING:
        return []
    width = CODE_LENGTH[Level(area.level + 1)]
    grouped = (
        CampaignCoverage.objects.filter(campaign=campaign, area_code__startswith=area.code)
        .annotate(child=Substr("area_code", 1, width))
        .values("child")
        .annotate(**_sums())
        .order_by()
    )
    by_child = {row["child"]: _coverage(row) for row in grouped}
    children = Area.objects.filter(code__in=list(by_child)).order_by("code")
    return [CoverageRow(c, by_child[c.code]) for c in children]


def grid_coverage(campaign: Campaign, grid: Grid) -> tuple[Coverage, list[CoverageRow]]:
    buildings = {b.code: b for b in grid.buildings.order_by("code")}
    rows = []
    total = Coverage()
    for r in CampaignCoverage.objects.filter(campaign=campaign, area_code__in=list(buildings)):
        c = Coverage(r.households, r.done, r.open_visited, max(0, r.households - r.done))
        rows.append(CoverageRow(buildings[r.area_code], c))
        for k in COUNTS:
            setattr(total, k, getattr(total, k) + getattr(c, k))
    return total, sorted(rows, key=lambda r: r.area.code)


def grids_of(codes: list[str]):
    return Grid.objects.filter(prefix_q("community__code", codes)).order_by("name")


def by_whom(campaign: Campaign, code: str, limit: int = 50) -> list[dict]:
    """Who screened the households done under an area, and how many each."""
    return list(
        CampaignHousehold.objects.filter(
            campaign=campaign, area_code__startswith=code, outcome=VisitOutcome.DONE
        )
        .values("by_name")
        .annotate(n=Count("id"))
        .order_by("-n", "by_name")[:limit]
    )


def not_yet_households(campaign: Campaign, building: Area):
    """Households of a building not screened yet, by door, each with its last visit's
    outcome and who tried (nobody home, refused) or none."""
    standing = CampaignHousehold.objects.filter(campaign=campaign, household=OuterRef("pk"))
    return (
        Household.objects.filter(area_code=building.code)
        .annotate(
            outcome=Subquery(standing.values("outcome")[:1]),
            tried_by=Subquery(standing.values("by_name")[:1]),
            tried_at=Subquery(standing.values("at")[:1]),
        )
        .exclude(outcome=VisitOutcome.DONE)
        .order_by("unit", "room", "id")
    )


def households_of_building(campaign: Campaign, building: Area):
    """Every household of a building with where it stands (for the screener's list)."""
    standing = CampaignHousehold.objects.filter(campaign=campaign, household=OuterRef("pk"))
    return (
        Household.objects.filter(area_code=building.code)
        .annotate(outcome=Subquery(standing.values("outcome")[:1]))
        .order_by("unit", "room", "id")
    )


def visits_of(campaign: Campaign, household: Household):
    return (
        HouseholdVisit.objects.filter(campaign=campaign, household=household)
        .prefetch_related("answers__person", "answers__task")
        .order_by("-at")
    )


# Venues and matching ----------------------------------------------------------------


def venues_for(user, *, area: str = ""):
    venues = Venue.objects.for_user(user)
    return venues.within(area) if area else venues


def runs_for(user):
    return MatchRun.objects.for_user(user).select_related("case_person")


def run_contacts(run: MatchRun, user):
    """A run's contacts that lie in the user's jurisdiction, with why they were matched."""
    return (
        MatchContact.objects.filter(run=run)
        .filter(prefix_q("area_code", user.scope_prefixes()))
        .select_related("person", "task")
        .order_by("minutes_apart", "id")
    )


def unidentified_for(user, *, area: str = ""):
    """Contacts that match runs found on no roster and known by no detail (only by the
    key the place-code system sent), in the user's jurisdiction: each sits in the area
    of the venue where it was found, so that community sees it, counts it and asks the
    place-code system who it is. Newest run first. The caller has checked `can_trace`."""
    found = MatchContact.objects.filter(person__isnull=True).filter(
        prefix_q("area_code", user.scope_prefixes())
    )
    if area:
        found = found.filter(area_code__startswith=area)
    return found.select_related("run").order_by("-run_id", "contact_scanned_at", "id")
