"""Lab results for the demo round, stored through `results_import` as the demo `lab` user.

`demo_results()` is what `fangkong demo_results` (and so `make demo`, after
`fangkong demo_round`) runs, over the latest round under way in the demo district:

- a tube gets its result 1.5 to 4 hours after it was done (sealed at a site, or closed
  at a door), as the lab's system would send them: in a few batches, each one
  `ResultUpload` (made as the results API makes one), `results_import`, `upload_finish`;
- results are negative, but for one or two full 10-in-1 pools of community A (the
  controlled zone): positive, so every member is recalled at once and their buildings
  are marked on community A's pages; and one 20-in-1 pool of another community (not
  community B): invalid, recalled too;
- a tube whose result would come after now is still at the lab, and a few tubes done
  more than `FANGKONG_LABS_OVERDUE_HOURS` ago have no result: `overdue_refresh` lists
  them as overdue on the round's flow page. (Their seal times are the devices' own,
  from `fangkong demo_round`, whose round started yesterday.)

Last, the report's tallies are caught up (`sampling_tally_refresh`), so the round report
is complete at once. A second run keeps the positive and invalid pools of the first and
sends the results again, with those whose time has come since: what is stored stays
unchanged (`results_import` is safe to repeat).
"""

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.core.errors import DomainError
from fangkong.people.seeding.data import DISTRICT_CODE
from fangkong.testing.models import Sample, TestingRound, Tube, Via

from . import services
from .conf import labs_conf
from .files import ResultRow
from .models import Result, ResultUpload, TubeResult

DELAY_MINUTES = (90, 240)  # from a tube's seal to its result
STUCK_SHARE = 0.05  # of the tubes done before the overdue threshold: no result yet
BATCH_HOURS = 3  # the lab's system sends what it has every few hours


@dataclass
class DemoResults:
    created: bool
    round: TestingRound | None = None
    counts: dict[str, int] = field(default_factory=dict)
    positive_tubes: list[str] = field(default_factory=list)
    invalid_tubes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Done:
    """A tube with its samples in: when it was done, and what the demo does with it."""

    barcode: str
    area_code: str
    pool_size: int
    samples: int
    via: str
    done: dt.datetime
    rank: float  # the tube's own draw (the same every run): who is chosen among several
    delay: dt.timedelta  # from done to tested


def _done(rnd: TestingRound, barcode: str, *fields) -> _Done:
    draw = random.Random(f"{rnd.pk}:{barcode}")
    minutes = draw.randint(*DELAY_MINUTES)
    return _Done(barcode, *fields, rank=draw.random(), delay=dt.timedelta(minutes=minutes))


def demo_round_for_results() -> TestingRound | None:
    """The latest round under way in the demo district."""
    return (
        TestingRound.objects.active()
        .filter(round_areas__area_code__startswith=DISTRICT_CODE)
        .order_by("-starts_at", "-id")
        .first()
    )


def demo_results(*, if_empty: bool = False, now: dt.datetime | None = None) -> DemoResults:
    """Results for the demo round (see the module's docstring). `if_empty`: do nothing
    when the round has results already."""
    rnd = demo_round_for_results()
    if rnd is None:
        raise DomainError(
            "演示区划没有进行中的检测轮次；请先运行 fangkong demo_round",
            "the demo district has no round under way; run `fangkong demo_round` first",
        )
    if if_empty and TubeResult.objects.filter(round=rnd).exists():
        return DemoResults(created=False, round=rnd)
    users = {u.username: u for u in User.objects.filter(username__in=("lab", "community_a"))}
    if len(users) < 2:
        raise DomainError(
            "缺少演示用户 lab 或 community_a；请先运行 fangkong seed",
            "demo user lab or community_a missing; run `fangkong seed` first",
        )
    lab, community_a = users["lab"], users["community_a"].areas.get()
    now = now or timezone.now()
    result = DemoResults(created=True, round=rnd)
    with transaction.atomic():
        plan, waiting = _plan(rnd, community_a.code, now, result)
        result.counts = _send(lab, plan)
        result.counts["at_lab"] = waiting
        result.counts["overdue"] = services.overdue_refresh(now=now)
        services.sampling_tally_refresh(settle=dt.timedelta(0))
    return result


def _done_tubes(rnd: TestingRound) -> list[_Done]:
    """The round's tubes that are done: sealed at a site, or closed at a door (a door-to-door
    tube is never sealed; its last sample is when it was done)."""
    home = dict(
        Sample.objects.filter(round=rnd, via=Via.HOME)
        .values("tube_id")
        .annotate(last=Max("at"))
        .values_list("tube_id", "last")
    )
    done = []
    for pk, barcode, code, pool, n, via, sealed in (
        Tube.objects.filter(round=rnd, sample_count__gt=0)
        .order_by("barcode")
        .values_list("id", "barcode", "area_code", "pool_size", "sample_count", "via", "sealed_at")
    ):
        at = sealed if via == Via.SITE else home.get(pk)
        if at is not None:
            done.append(_done(rnd, barcode, code, pool, n, via, at))
    return done


def _plan(rnd, code_a: str, now, result: DemoResults) -> tuple[list, int]:
    """(tube, result, time tested) for the tubes that have a result by now, and how many
    tubes are still waiting for theirs."""
    tubes = _done_tubes(rnd)
    special = _special(rnd, tubes, code_a, now)
    result.positive_tubes = sorted(b for b, r in special.items() if r == Result.POSITIVE)
    result.invalid_tubes = sorted(b for b, r in special.items() if r == Result.INVALID)
    threshold = now - dt.timedelta(hours=labs_conf().overdue_hours, minutes=30)
    late = sorted(
        (t for t in tubes if t.done < threshold and t.barcode not in special),
        key=lambda t: t.rank,
    )
    stuck = {t.barcode for t in late[: max(2, int(len(late) * STUCK_SHARE))]}
    plan, waiting = [], 0
    for t in tubes:
        tested = t.done + t.delay
        if t.barcode in special:
            plan.append((t, special[t.barcode], min(tested, now - dt.timedelta(minutes=5))))
        elif t.barcode in stuck or tested > now:
            waiting += 1
        else:
            plan.append((t, Result.NEGATIVE, tested))
    return plan, waiting


def _special(rnd, tubes: list[_Done], code_a: str, now) -> dict[str, str]:
    """barcode -> result of the pools that are not negative: those stored by an earlier run,
    else one or two full 10-in-1 pools of community A (positive) and a 20-in-1 pool of
    another street (invalid), among tubes done half an hour ago or more."""
    stored = dict(
        TubeResult.objects.filter(round=rnd)
        .exclude(result=Result.NEGATIVE)
        .values_list("tube__barcode", "result")
    )
    if stored:
        return stored
    # Recalls need a known pool: full 10-in-1 tubes of community A, 20-in-1 elsewhere.
    settled = now - dt.timedelta(minutes=30)
    site = [t for t in tubes if t.via == Via.SITE and t.done <= settled]
    # A positive pool whose members are all on the roster (a visitor's typed ID number
    # matches nobody): each recall then names its person. Which tubes qualify must not
    # hang on the draw (the rank depends on the round's id).
    unknown = set(
        Sample.objects.filter(round=rnd, resident__isnull=True).values_list(
            "tube__barcode", flat=True
        )
    )
    full_a = [
        t
        for t in site
        if t.area_code.startswith(code_a)
        and t.pool_size == t.samples == 10
        and t.barcode not in unknown
    ]
    # Another street's pool, so not community B's.
    elsewhere = [
        t
        for t in site
        if not t.area_code.startswith(code_a[:9]) and t.pool_size == 20 and t.samples >= 2
    ]
    positive = sorted(full_a, key=lambda t: t.rank)[: 2 if len(full_a) >= 30 else 1]
    invalid = sorted(elsewhere, key=lambda t: t.rank)[:1]
    special = {t.barcode: Result.POSITIVE for t in positive}
    special.update({t.barcode: Result.INVALID for t in invalid})
    return special


def _send(lab, plan: list[tuple[_Done, str, dt.datetime]]) -> dict[str, int]:
    """The results in the batches the lab's system would send: every few hours."""
    batches: dict[tuple, list[ResultRow]] = {}
    for tube, value, tested in sorted(plan, key=lambda p: p[2]):
        local = timezone.localtime(tested)
        key = (local.date(), local.hour // BATCH_HOURS)
        rows = batches.setdefault(key, [])
        rows.append(ResultRow(len(rows), tube.barcode, value, tested))
    counts: Counter = Counter()
    for rows in batches.values():
        upload = ResultUpload.objects.create(lab=lab, source="api")
        outcome = services.results_import(actor=lab, rows=rows, upload=upload)
        services.upload_finish(actor=lab, upload=upload, outcome=outcome)
        counts.update(outcome.counts())
        counts["uploads"] += 1
    counts.update(Counter(value for _, value, _ in plan))
    return dict(counts)
