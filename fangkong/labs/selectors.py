"""Reads of lab results and recalls: recall lists and marked buildings, turnaround and
overdue tubes, throughput per site and channel, the pool-size advisor, the round report.

Nothing here counts tubes or samples of a whole round: results, positives and
turnaround are sums of `ResultTally` rows, people sampled and tubes are sums of
`BuildingCoverage` (testing's) and `SamplingTally` rows, all by an indexed code prefix.
Recalls, cases and door-to-door tasks are small tables read through their
(round, area_code) indexes. Throughput over the round sums `ChannelTally` (per channel
and hour); only the last hour reads tubes and samples, those of the last few hours,
through testing's (channel, created_at) index.
"""

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, F, Max, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Greatest, Substr, TruncDate
from django.utils import timezone

from fangkong.areas.models import CODE_LENGTH, Area, Level
from fangkong.core.scoping import minimal_prefixes, prefix_q
from fangkong.core.sight import sees
from fangkong.testing import selectors as testing_selectors
from fangkong.testing.models import (
    BuildingCoverage,
    Channel,
    HomeSamplingTask,
    Sample,
    SamplingSite,
    TaskStatus,
    TestingRound,
    Tube,
)

from . import advisor
from .conf import labs_conf
from .models import (
    CLOSED_STATUSES,
    CaseStatus,
    ChannelTally,
    OverdueTube,
    PositiveCase,
    Recall,
    RecallStatus,
    ResultTally,
    ResultUpload,
    SamplingTally,
)

# Recalls ---------------------------------------------------------------------------


def recalls_for(user, *, rnd: TestingRound | None = None, area: str = "", status: str = ""):
    """Recalls in the user's jurisdiction, the open ones first, then by building."""
    recalls = Recall.objects.for_user(user).select_related(
        "resident__household__building__parent", "tube", "resample_tube", "site", "round"
    )
    if rnd is not None:
        recalls = recalls.filter(round=rnd)
    if area:
        recalls = recalls.within(area)
    if status == "closed":
        recalls = recalls.filter(status__in=CLOSED_STATUSES)
    elif status in RecallStatus.values:
        recalls = recalls.filter(status=status)
    return recalls.order_by("area_code", "id")


def cases_for(user, *, rnd: TestingRound | None = None, area: str = ""):
    cases = PositiveCase.objects.for_user(user).select_related("resident", "tube")
    if rnd is not None:
        cases = cases.filter(round=rnd)
    if area:
        cases = cases.within(area)
    return cases


@dataclass(frozen=True)
class CaseFacts:
    """What exposure matching needs of a positive case (read by the screening app)."""

    id: int
    resident_id: int
    name: str
    person_key: str  # the resident's document hash: the venue-scan store's person key
    household_id: int
    area_code: str
    sampled_at: dt.datetime  # when the positive sample was taken
    recorded_at: dt.datetime
    confirmed: bool


def case_facts(case_ids) -> dict[int, CaseFacts]:
    """Facts of the given cases by id (unscoped: the caller checks the case's area)."""
    taken = Sample.objects.filter(
        tube_id=OuterRef("tube_id"), resident_id=OuterRef("resident_id")
    ).order_by("at")
    rows = (
        PositiveCase.objects.filter(pk__in=list(case_ids))
        .annotate(sampled_at=Subquery(taken.values("at")[:1]))
        .values(
            "id",
            "resident_id",
            "resident__name",
            "resident__id_hash",
            "resident__household_id",
            "area_code",
            "sampled_at",
            "recorded_at",
            "status",
        )
    )
    return {
        r["id"]: CaseFacts(
            r["id"],
            r["resident_id"],
            r["resident__name"],
            r["resident__id_hash"],
            r["resident__household_id"],
            r["area_code"],
            r["sampled_at"] or r["recorded_at"],
            r["recorded_at"],
            r["status"] == CaseStatus.CONFIRMED,
        )
        for r in rows
    }


@dataclass
class MarkedBuilding:
    code: str
    name: str
    open: int


@dataclass
class RecallBanner:
    open: int = 0
    buildings: list[MarkedBuilding] = field(default_factory=list)
    more: int = 0


def recall_banner(user, limit: int = 8) -> RecallBanner:
    """Buildings of the user's jurisdiction with open recalls (the partial index); none
    for a role that does not see who is recalled (core.sight)."""
    if not sees(user, "labs.recalled_people"):
        return RecallBanner()
    marked = list(
        Recall.objects.open()
        .filter(prefix_q("area_code", user.scope_prefixes()))
        .values("area_code")
        .annotate(n=Count("id"))
        .order_by("-n", "area_code")
    )
    if not marked:
        return RecallBanner()
    shown = marked[:limit]
    names = _full_names([m["area_code"] for m in shown])
    return RecallBanner(
        open=sum(m["n"] for m in marked),
        buildings=[
            MarkedBuilding(m["area_code"], names.get(m["area_code"], ""), m["n"]) for m in shown
        ],
        more=len(marked) - len(shown),
    )


def _full_names(codes: list[str]) -> dict[str, str]:
    """'幸福小区1号楼' for a building: its compound's name and its own."""
    wanted = {c[:n] for c in codes for n in (CODE_LENGTH[Level.COMPOUND], len(c))}
    names = dict(Area.objects.filter(code__in=wanted).values_list("code", "name"))
    out = {}
    for c in codes:
        compound = names.get(c[: CODE_LENGTH[Level.COMPOUND]], "") if len(c) > 15 else ""
        out[c] = compound + names.get(c, c)
    return out


def uploads_for(user):
    """A lab's uploads, newest first (the command centre sees all)."""
    return ResultUpload.objects.for_user(user).select_related("lab")


# Turnaround and overdue tubes ---------------------------------------------------------


@dataclass
class Turnaround:
    results: int = 0
    timed: int = 0
    seconds: int = 0

    @property
    def hours(self) -> float | None:
        return round(self.seconds / self.timed / 3600, 2) if self.timed else None


def _tally_scope(rnd: TestingRound, prefixes: list[str]):
    return ResultTally.objects.filter(round=rnd).filter(prefix_q("area_code", prefixes))


def turnaround_by_lab(rnd: TestingRound, prefixes: list[str]) -> list[tuple[str, Turnaround]]:
    rows = (
        _tally_scope(rnd, prefixes)
        .values("lab__display_name", "lab__username")
        .annotate(n=Sum("results"), s=Sum("turnaround_sum"), t=Sum("turnaround_n"))
        .order_by("lab__username")
    )
    return [
        (r["lab__display_name"] or r["lab__username"], Turnaround(r["n"], r["t"], r["s"]))
        for r in rows
    ]


def turnaround_total(rnd: TestingRound, prefixes: list[str]) -> Turnaround:
    row = _tally_scope(rnd, prefixes).aggregate(
        n=Sum("results"), s=Sum("turnaround_sum"), t=Sum("turnaround_n")
    )
    return Turnaround(row["n"] or 0, row["t"] or 0, row["s"] or 0)


def turnaround_by_site(rnd: TestingRound, sites: list[SamplingSite]) -> dict[int, Turnaround]:
    rows = (
        ResultTally.objects.filter(round=rnd, site_id__in=[s.pk for s in sites])
        .values("site_id")
        .annotate(n=Sum("results"), s=Sum("turnaround_sum"), t=Sum("turnaround_n"))
        .order_by()
    )
    return {r["site_id"]: Turnaround(r["n"], r["t"], r["s"]) for r in rows}


def overdue_tubes(rnd: TestingRound, prefixes: list[str], *, site=None):
    """Sealed tubes with no result after the overdue time (FANGKONG_LABS_OVERDUE_HOURS),
    oldest first: the list `labs_refresh` keeps, less tubes whose result has come since."""
    late = (
        OverdueTube.objects.filter(round=rnd)
        .filter(prefix_q("area_code", prefixes))
        .exclude(tube__lab_result__isnull=False)
    )
    if site is not None:
        late = late.filter(tube__site=site)
    return late.select_related("tube__site", "tube__channel").order_by("sealed_at", "tube_id")


# Throughput and the queue -------------------------------------------------------------

# Tubes are read for "the last hour" only if they were opened within this window; a
# pool fills in minutes, so a tube still taking people after this long is an anomaly.
RECENT_TUBES = dt.timedelta(hours=6)


@dataclass
class ChannelFlow:
    channel: Channel
    tubes: int = 0
    people: int = 0
    last_hour: int = 0
    span_hours: float = 0.0
    open_tube: Tube | None = None

    @property
    def per_hour(self) -> float:
        """People an hour over the round: people / hours from the start of the first hour
        the channel worked to the end of the last (or to now, while a tube is open);
        whole hours, from `ChannelTally`."""
        return round(self.people / self.span_hours, 1) if self.span_hours else 0.0


@dataclass
class SiteFlow:
    site: SamplingSite
    channels: list[ChannelFlow]
    remaining: int = 0  # people of the site's area not yet sampled, this site's share
    turnaround: Turnaround | None = None

    @property
    def tubes(self) -> int:
        return sum(c.tubes for c in self.channels)

    @property
    def people(self) -> int:
        return sum(c.people for c in self.channels)

    @property
    def last_hour(self) -> int:
        return sum(c.last_hour for c in self.channels)

    @property
    def per_hour(self) -> float:
        return round(sum(c.per_hour for c in self.channels), 1)

    @property
    def working_channels(self) -> int:
        return sum(1 for c in self.channels if c.last_hour)

    @property
    def hours_to_clear(self) -> float | None:
        """Queue estimate: the site's share of the not-yet-sampled, drained at the last
        hour's rate. None when nobody was sampled in the last hour."""
        if not self.remaining:
            return 0.0
        return round(self.remaining / self.last_hour, 1) if self.last_hour else None

    def channels_needed(self, hours_left: float) -> int | None:
        """Channels that would clear the remaining people by the deadline at the last
        hour's rate per working channel."""
        if not self.remaining:
            return 0
        if not self.working_channels or hours_left <= 0:
            return None
        per_channel = self.last_hour / self.working_channels
        return math.ceil(self.remaining / (per_channel * hours_left))


def throughput(rnd: TestingRound, user, *, now=None, site_id: int | None = None) -> list[SiteFlow]:
    """Per site and channel of the user's jurisdiction: people an hour, tubes, the open
    tube, and the queue estimate.

    The model, stated plainly: a device reports people as they are sampled, not as they
    join the queue, so arrivals are not observed. The queue a site still faces is taken
    as the people of its area not yet sampled (testing's coverage: expected − sampled −
    exempt), shared between the sites of the same area in proportion to their last hour;
    it drains at the rate of the last hour (a fluid model: hours = backlog / rate). A
    site that sampled nobody in the last hour has no estimate.
    """
    now = now or timezone.now()
    sites = SamplingSite.objects.for_user(user).order_by("area_code", "name")
    if site_id is not None:
        sites = sites.filter(pk=site_id)
    sites = list(sites)
    channels = list(Channel.objects.filter(site__in=sites).order_by("site_id", "name"))
    ids = [c.pk for c in channels]
    totals = {
        r["channel_id"]: r
        for r in ChannelTally.objects.filter(round=rnd, channel_id__in=ids)
        .values("channel_id")
        .annotate(tubes=Sum("tubes"), people=Sum("samples"), first=Min("hour"), last=Max("hour"))
        .order_by()
    }
    recent = dict(
        Sample.objects.filter(
            tube__round=rnd,
            tube__channel_id__in=ids,
            tube__created_at__gte=now - RECENT_TUBES,
            at__gt=now - dt.timedelta(hours=1),
            at__lte=now,
        )
        .values("tube__channel_id")
        .annotate(n=Count("id"))
        .values_list("tube__channel_id", "n")
        .order_by()
    )
    open_tubes = {}
    for tube in Tube.objects.filter(
        round=rnd, channel_id__in=ids, created_at__gte=now - RECENT_TUBES, sealed_at__isnull=True
    ).order_by("created_at"):
        open_tubes[tube.channel_id] = tube  # the newest wins
    flows: dict[int, list[ChannelFlow]] = defaultdict(list)
    for c in channels:
        t = totals.get(c.pk)
        flow = ChannelFlow(c, last_hour=recent.get(c.pk, 0), open_tube=open_tubes.get(c.pk))
        if t:
            end = now if flow.open_tube else min(now, t["last"] + dt.timedelta(hours=1))
            flow.tubes, flow.people = t["tubes"], t["people"]
            flow.span_hours = max((end - t["first"]).total_seconds() / 3600, 1 / 60)
        flows[c.site_id].append(flow)
    result = [SiteFlow(s, flows.get(s.pk, [])) for s in sites]
    _share_backlog(rnd, result)
    by_site = turnaround_by_site(rnd, sites)
    for flow in result:
        flow.turnaround = by_site.get(flow.site.pk)
    return result


def _share_backlog(rnd: TestingRound, flows: list[SiteFlow]) -> None:
    by_area: dict[str, list[SiteFlow]] = defaultdict(list)
    for f in flows:
        by_area[f.site.area_code].append(f)
    unsampled = _unsampled(rnd, list(by_area))
    for code, group in by_area.items():
        remaining = unsampled.get(code, 0)
        total = sum(f.last_hour for f in group)
        for f in group:
            share = f.last_hour / total if total else 1 / len(group)
            f.remaining = round(remaining * share)


def _unsampled(rnd: TestingRound, codes: list[str]) -> dict[str, int]:
    """People not yet sampled under each code (as testing's coverage counts them: per
    building, expected − sampled − exempt, never below 0); one query a code length."""
    out: dict[str, int] = {}
    for width in sorted({len(c) for c in codes}):
        wanted = [c for c in codes if len(c) == width]
        rows = (
            BuildingCoverage.objects.filter(round=rnd)
            .filter(prefix_q("area_code", wanted))
            .annotate(under=Substr("area_code", 1, width))
            .values("under")
            .annotate(n=Sum(Greatest(F("expected") - F("sampled") - F("exempt"), Value(0))))
            .order_by()
        )
        out.update({r["under"]: r["n"] or 0 for r in rows})
    return out


# The pool-size advisor -----------------------------------------------------------------


@dataclass
class Advice:
    advice: advisor.Advice
    since: dt.date | None  # first day read; None: the whole round


def pool_advice(rnd: TestingRound, prefixes: list[str], *, today: dt.date | None = None) -> Advice:
    """Prevalence from the round's recent pooled results (the last FANGKONG_LABS_ADVISOR_DAYS
    days, or the whole round when those hold none), and E(k) for each allowed size."""
    conf = labs_conf()
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=conf.advisor_days - 1)
    counts = _pool_counts(_tally_scope(rnd, prefixes).filter(day__gte=since))
    if not counts:
        counts, since = _pool_counts(_tally_scope(rnd, prefixes)), None
    return Advice(advisor.advise(counts, conf.pool_sizes), since)


def _pool_counts(tallies) -> dict[int, tuple[int, int]]:
    rows = (
        tallies.values("pool_size")
        .annotate(n=Sum("results"), bad=Sum("invalid"), x=Sum("positives"))
        .order_by()
    )
    return {r["pool_size"]: (r["n"] - r["bad"], r["x"]) for r in rows if r["n"] - r["bad"] > 0}


# The round report --------------------------------------------------------------------

REPORT_COLUMNS = (
    "expected",
    "sampled",
    "tubes",
    "results",
    "positives",
    "invalid",
    "recalls_open",
    "recalls_closed",
    "cases",
    "home_done",
)
DAY_COLUMNS = (
    "sampled",
    "tubes",
    "results",
    "positives",
    "invalid",
    "recalls_raised",
    "recalls_closed",
    "cases",
    "home_done",
)


@dataclass
class ReportRow:
    code: str
    name: str
    counts: dict[str, int]
    drill: bool = True  # a child one can open; False for "at this level"


@dataclass
class Report:
    round: TestingRound
    area: Area
    total: dict[str, int]
    rows: list[ReportRow]
    days: list[tuple[dt.date, dict[str, int]]]

    @property
    def raised(self) -> int:
        """Recalls raised over the days (open, closed and cancelled)."""
        return sum(c["recalls_raised"] for _, c in self.days)


def _zero(columns) -> dict[str, int]:
    return dict.fromkeys(columns, 0)


def round_report(rnd: TestingRound, area: Area) -> Report:
    """The round's numbers under `area`, by child area and by local day."""
    code = area.code
    level = Level(area.level)
    width = CODE_LENGTH[Level(level + 1)] if level < Level.BUILDING else len(code)
    key = Substr("area_code", 1, width)
    sources = _sources(rnd, code)
    grouped: dict[str, dict[str, int]] = defaultdict(lambda: _zero(REPORT_COLUMNS))
    for qs, aggregates in sources:
        for row in qs.annotate(child=key).values("child").annotate(**aggregates).order_by():
            for name in aggregates:
                grouped[row["child"]][name] += row[name] or 0
    total = _zero(REPORT_COLUMNS)
    for counts in grouped.values():
        for name in REPORT_COLUMNS:
            total[name] += counts[name]
    rows = []
    if level < Level.BUILDING:
        children = list(area.children.order_by("code"))
        rows = [
            ReportRow(c.code, c.name, grouped.get(c.code, _zero(REPORT_COLUMNS))) for c in children
        ]
        known = {c.code for c in children}
        here = _zero(REPORT_COLUMNS)
        for child, counts in grouped.items():
            if child not in known:
                for name in REPORT_COLUMNS:
                    here[name] += counts[name]
        if any(here.values()):
            rows.append(ReportRow(code, str(area.name), here, drill=False))
    return Report(rnd, area, total, rows, _days(rnd, code))


def _sources(rnd: TestingRound, code: str):
    """(queryset, aggregates) pairs whose sums make the report's columns."""
    within = {"round": rnd, "area_code__startswith": code}
    return [
        (BuildingCoverage.objects.filter(**within), {"expected": Sum("expected")}),
        # People and tubes from the tallies the days are summed from, so they agree.
        (
            SamplingTally.objects.filter(**within),
            {"sampled": Sum("sampled"), "tubes": Sum("tubes")},
        ),
        (
            ResultTally.objects.filter(**within),
            {"results": Sum("results"), "positives": Sum("positives"), "invalid": Sum("invalid")},
        ),
        (
            Recall.objects.filter(**within),
            {
                "recalls_open": Count("id", filter=Q(status=RecallStatus.OPEN)),
                "recalls_closed": Count("id", filter=Q(status__in=CLOSED_STATUSES)),
            },
        ),
        (PositiveCase.objects.confirmed().filter(**within), {"cases": Count("id")}),
        (
            HomeSamplingTask.objects.filter(**within, status=TaskStatus.DONE),
            {"home_done": Count("id")},
        ),
    ]


def _days(rnd: TestingRound, code: str) -> list[tuple[dt.date, dict[str, int]]]:
    tz = timezone.get_current_timezone()
    within = {"round": rnd, "area_code__startswith": code}
    days: dict[dt.date, dict[str, int]] = defaultdict(lambda: _zero(DAY_COLUMNS))

    def add(qs, day_field, **aggregates):
        for row in qs.values(day_field).annotate(**aggregates).order_by():
            if row[day_field] is not None:
                for name in aggregates:
                    days[row[day_field]][name] += row[name] or 0

    add(SamplingTally.objects.filter(**within), "day", sampled=Sum("sampled"), tubes=Sum("tubes"))
    add(
        ResultTally.objects.filter(**within),
        "day",
        results=Sum("results"),
        positives=Sum("positives"),
        invalid=Sum("invalid"),
    )
    recalls = Recall.objects.filter(**within)
    add(recalls.annotate(d=TruncDate("raised_at", tzinfo=tz)), "d", recalls_raised=Count("id"))
    add(
        recalls.filter(status__in=CLOSED_STATUSES).annotate(d=TruncDate("closed_at", tzinfo=tz)),
        "d",
        recalls_closed=Count("id"),
    )
    add(
        PositiveCase.objects.confirmed()
        .filter(**within)
        .annotate(d=TruncDate("recorded_at", tzinfo=tz)),
        "d",
        cases=Count("id"),
    )
    add(
        HomeSamplingTask.objects.filter(**within, status=TaskStatus.DONE).annotate(
            d=TruncDate("closed_at", tzinfo=tz)
        ),
        "d",
        home_done=Count("id"),
    )
    return sorted(days.items())


def report_root(user, code: str = "") -> Area | None:
    """The area a report is for: the one asked for if the user may see it, else the top
    of the user's jurisdiction when it is one area."""
    if code:
        return Area.objects.for_user(user).filter(code=code).first()
    roots = minimal_prefixes(user.scope_prefixes())
    if len(roots) == 1:
        return Area.objects.filter(code=roots[0]).first()
    return None


def report_crumbs(area: Area) -> list[Area]:
    """The areas above `area`, district first (the caller keeps those the user may see)."""
    return list(Area.objects.filter(code__in=area.ancestor_codes).order_by("code"))


def rounds_for(user):
    return testing_selectors.rounds_for_user(user)


# A tube by its barcode; a person's testing history ------------------------------------


@dataclass
class TubeFacts:
    tube: Tube
    result: object  # a TubeResult, or None while the lab has not answered
    samples: list  # the tube's samples, residents of the caller's jurisdiction only
    members: int  # every sample in the tube
    recalls: int


def tube_lookup(user, barcode: str) -> TubeFacts | None:
    """A tube of the caller's jurisdiction (by where it was sampled) with its result and
    its members; members living outside the caller's jurisdiction are only counted."""
    from .models import TubeResult

    tube = (
        Tube.objects.for_user(user)
        .select_related("round", "site", "channel")
        .filter(barcode=barcode)
        .first()
    )
    if tube is None:
        return None
    samples = Sample.objects.filter(tube=tube).select_related("resident__household")
    return TubeFacts(
        tube=tube,
        result=TubeResult.objects.filter(tube=tube).first(),
        samples=list(samples.filter(prefix_q("area_code", user.scope_prefixes()))[:100]),
        members=samples.count(),
        recalls=Recall.objects.filter(tube=tube).count(),
    )


@dataclass
class TestFact:
    sample: Sample
    result: str  # negative, positive, invalid, or "" while awaited
    tested_at: dt.datetime | None
    recall: str  # the recall's status, or ""


def person_history(resident, *, limit: int = 200) -> list[TestFact]:
    """Every sample of one resident, newest first, with the tube's result and any recall.
    By the (round, resident) index: the rounds are few, the person's samples fewer."""
    from .models import TubeResult

    rounds = list(TestingRound.objects.order_by("-pk").values_list("pk", flat=True)[:500])
    samples = list(
        Sample.objects.filter(round_id__in=rounds, resident=resident)
        .select_related("round", "tube", "site")
        .order_by("-at")[:limit]
    )
    results = {
        r.tube_id: r for r in TubeResult.objects.filter(tube_id__in=[s.tube_id for s in samples])
    }
    recalls = dict(
        Recall.objects.filter(sample_id__in=[s.pk for s in samples]).values_list(
            "sample_id", "status"
        )
    )
    return [
        TestFact(
            sample=s,
            result=results[s.tube_id].result if s.tube_id in results else "",
            tested_at=results[s.tube_id].tested_at if s.tube_id in results else None,
            recall=recalls.get(s.pk, ""),
        )
        for s in samples
    ]
