"""A testing round under way over the demo district, made through the testing services.

`demo_round()` is what `fangkong demo_round` (and so `make demo`, after `fangkong seed`)
runs. Every write goes through a service, as the people on the ground would make it:

- zones (`areas.services.zone_declare`, by the command centre, a few hours before the
  round): a sealed zone on a small compound of community A — on one building where
  community A is a single compound — and a controlled zone on community A, so the three
  pool sizes are all in use (sealed 1, controlled 10, elsewhere 20);
- the round 第N轮区域全员核酸 over the district (`round_launch`), default pool rules,
  deadline 22:00 today (three hours on, late in the evening);
- one sampling site a community (`site_create` by the community's worker where the seed
  made one, else the command centre), with opening hours and two or three channels (the
  third by `channel_add`);
- a few exemptions (`exemption_grant`: away, in hospital, isolated), with notes;
- the devices' uploads (`samples_upload`): for each channel, `tube_open` with the pool
  size of the site's zone, one `sample` a person (the resident's signed code, or for a
  few without a smartphone the ID number typed by hand), `tube_seal`; about three in
  four residents of community A who can walk to a site, fewer elsewhere. A few
  slips a real site makes are in too: people sampled twice (two at community A's site,
  one at B's), a visitor typed in who is on no roster, one tube filled past its pool
  size. At a site open now, each channel's last tube is still open;
- door-to-door tasks (`home_tasks_generate`): every household of the sealed area (given
  to the demo sampler's team with `home_tasks_assign`) and every bedridden resident; a few closed with
  their tube (`home_task_close`).

Times are those the devices would report: spread over the sites' opening hours from
the round's start to now. The round started at this hour yesterday, so that hours of
sampling lie more than 12 hours back (the labs' overdue threshold) whatever the hour of
`make demo`; the lab demo (fangkong/labs/demo.py) leaves a few of those tubes without a
result.

Everything happens in one transaction: a failed run leaves nothing behind.
"""

import datetime as dt
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.areas.models import Area, BuildingStats, Level, ZoneKind
from fangkong.areas.services import zone_declare
from fangkong.core import pii
from fangkong.core.errors import Conflict, DomainError
from fangkong.core.idnumbers import IdType, make_mainland
from fangkong.people.codes import code_for
from fangkong.people.models import Resident, Tag, id_hash
from fangkong.people.seeding.data import DISTRICT_CODE

from . import services
from .conf import ingest_conf
from .ingest import Event, zone_kind_at
from .models import (
    EventStatus,
    ExemptReason,
    HomeSamplingTask,
    Sample,
    SampleFlag,
    SamplingSite,
    TaskKind,
    TestingRound,
)

STARTED_HOURS_AGO = 24
# Opening hours of the sites, one a community in turn.
HOURS = [
    (dt.time(7, 0), dt.time(21, 0)),
    (dt.time(6, 30), dt.time(22, 0)),
    (dt.time(7, 30), dt.time(20, 30)),
    (dt.time(8, 0), dt.time(21, 30)),
]
PLACES = ["广场", "文化活动中心", "小学操场", "社区服务中心", "停车场", "篮球场"]
# Share of the walking residents of a community who have been sampled so far.
RATE_A, RATE_B, RATE_OTHERS = 0.74, 0.5, (0.34, 0.52)
SEALED_SHARE = 0.3  # the sealed compound holds at most this share of community A
TYPED_PER_SITE = 3  # people without a smartphone whose ID number the sampler types
EXEMPTIONS = [
    (ExemptReason.AWAY, "在长沙出差，{back}返回"),
    (ExemptReason.IN_HOSPITAL, "在永州市中心医院住院，院内已做核酸"),
    (ExemptReason.AWAY, "在广州务工，本月不回"),
    (ExemptReason.IN_HOSPITAL, "在零陵区人民医院住院（骨折术后）"),
    (ExemptReason.ISOLATED, "在集中隔离点隔离，隔离点已采样"),
]
TEAM = "入户采样一组（社区卫生服务中心）"
SEALED_REASON = (
    "{day}发现1例无症状感染者，居住于{name}，经区疫情防控指挥部研判，划定为封控区，"
    "实行“区域封闭、足不出户、服务上门”"
)
CONTROLLED_REASON = "{name}为封控区所在社区，划定为管控区，实行“人不出区、严禁聚集”"


@dataclass
class DemoRound:
    created: bool
    round: TestingRound | None = None
    seed: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Person:
    """A resident as the demo needs them (what `code_for` reads, and where they live)."""

    pk: int
    name: str
    id_masked: str
    household_id: int
    area_code: str
    tags: int


@dataclass(slots=True)
class Scan:
    """One person at a channel: their code is scanned, or their ID number typed."""

    person: Person | None  # None: a visitor on no roster, typed in by ID number
    typed: str = ""


def district_rounds():
    """The rounds over (parts of) the demo district."""
    return TestingRound.objects.filter(round_areas__area_code__startswith=DISTRICT_CODE)


def demo_round(
    *, seed: int | None = None, if_empty: bool = False, now: dt.datetime | None = None
) -> DemoRound:
    """Start a round under way over the demo district (see the module's docstring).

    `if_empty`: do nothing when the district already has a round. `now`: the moment the
    demo takes for now (default: now); the devices' times are spread up to it.
    """
    if not Area.objects.filter(code=DISTRICT_CODE).exists():
        raise DomainError(
            f"演示区划{DISTRICT_CODE}不存在；请先运行 fangkong seed",
            f"the demo district {DISTRICT_CODE} is not there; run `fangkong seed` first",
        )
    # Without if_empty a second round is made (names and barcodes follow its number and id).
    if if_empty and district_rounds().exists():
        return DemoRound(created=False)
    seed = random.SystemRandom().randrange(1_000_000) if seed is None else seed
    result = DemoRound(created=True, seed=seed)
    with transaction.atomic():
        _Demo(random.Random(seed), now or timezone.now(), result).run()
    return result


def _day(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


def _at(day: dt.date, clock: dt.time) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, clock))


def open_spans(
    opens: dt.time, closes: dt.time, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The times a site open `opens`-`closes` each day was open between start and end."""
    spans = []
    day = timezone.localdate(start)
    while _at(day, opens) < end:
        low, high = max(_at(day, opens), start), min(_at(day, closes), end)
        if high > low:
            spans.append((low, high))
        day += dt.timedelta(days=1)
    return spans


class Clock:
    """Maps a share of a site's open time (0 to 1) to a moment and the span it falls in."""

    def __init__(self, spans: list[tuple[dt.datetime, dt.datetime]]):
        self.spans = spans
        self.total = sum((b - a).total_seconds() for a, b in spans)

    def at(self, share: float) -> tuple[int, dt.datetime]:
        left = share * self.total
        for i, (a, b) in enumerate(self.spans):
            length = (b - a).total_seconds()
            if left <= length:
                return i, a + dt.timedelta(seconds=left)
            left -= length
        return len(self.spans) - 1, self.spans[-1][1]


class _Demo:
    def __init__(self, rng: random.Random, now: dt.datetime, result: DemoRound):
        self.rng, self.now, self.result = rng, now, result
        self.counts: Counter = Counter()
        self.last = time.perf_counter()
        local = timezone.localtime(now)
        self.starts_at = (local - dt.timedelta(hours=STARTED_HOURS_AGO)).replace(
            minute=0, second=0, microsecond=0
        )
        deadline = _at(local.date(), dt.time(22, 0))
        if deadline < now + dt.timedelta(hours=2):
            deadline = (local + dt.timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
        self.deadline = deadline
        self.barcodes = 0

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.result.seconds[name] = round(now - self.last, 2)
        self.last = now

    def run(self) -> None:
        self.users()
        self.zones()
        self.launch()
        self.sites()
        self.lap("round and sites")
        self.plan()
        self.exempt()
        self.lap("plan and exemptions")
        self.upload()
        self.lap("uploads")
        self.door_to_door()
        self.counts.update({f"flag_{k}": n for k, n in flagged_counts(self.rnd).items()})
        self.lap("door-to-door")
        self.result.round = self.rnd
        self.result.counts = dict(self.counts)

    # --- who acts ------------------------------------------------------------------
    def users(self) -> None:
        names = ("command", "community_a", "community_b", "sampler")
        found = {u.username: u for u in User.objects.filter(username__in=names)}
        missing = [n for n in names if n not in found]
        if missing:
            raise DomainError(
                "缺少演示用户：" + "、".join(missing) + "；请先运行 fangkong seed",
                f"demo users missing: {', '.join(missing)}; run `fangkong seed` first",
            )
        self.command, self.sampler = found["command"], found["sampler"]
        self.community_a = found["community_a"].areas.get()
        community_b = found["community_b"].areas.get()
        # Each community's worker acts in their own community, the centre elsewhere.
        self.workers = {
            self.community_a.code: found["community_a"],
            community_b.code: found["community_b"],
        }
        self.community_b = community_b

    def worker(self, code: str) -> User:
        return self.workers.get(code[:12], self.command)

    # --- zones and the round -------------------------------------------------------
    def zones(self) -> None:
        stats = dict(
            BuildingStats.objects.filter(code__startswith=self.community_a.code).values_list(
                "code", "residents"
            )
        )
        self.sealed = Area.objects.get(code=sealed_area_code(stats))
        declared = self.starts_at - dt.timedelta(hours=3)
        day = _day(timezone.localdate(declared - dt.timedelta(hours=12)))
        ends = declared + dt.timedelta(days=7)
        zone_declare(
            actor=self.command,
            area=self.community_a,
            kind=ZoneKind.CONTROLLED,
            reason=CONTROLLED_REASON.format(name=self.community_a.name),
            starts_at=declared,
            ends_at=ends,
        )
        name = self.sealed.name
        if self.sealed.level == Level.BUILDING:
            name = f"{self.sealed.parent.name}{name}"
        zone_declare(
            actor=self.command,
            area=self.sealed,
            kind=ZoneKind.SEALED,
            reason=SEALED_REASON.format(day=day, name=name),
            starts_at=declared,
            ends_at=ends,
        )

    def launch(self) -> None:
        self.rnd = services.round_launch(
            actor=self.command,
            name=f"第{district_rounds().distinct().count() + 1}轮区域全员核酸",
            areas=[Area.objects.get(code=DISTRICT_CODE)],
            starts_at=self.starts_at,
            deadline=self.deadline,
            note="全区全员核酸检测，应检尽检、不漏一人；封控区入户采样，卧床老人上门采样。",
        )

    def sites(self) -> None:
        """One site a community, at its biggest compound; 2 or 3 channels."""
        communities = list(
            Area.objects.filter(level=Level.COMMUNITY, code__startswith=DISTRICT_CODE).order_by(
                "code"
            )
        )
        compounds = {
            a.code: a
            for a in Area.objects.filter(level=Level.COMPOUND, code__startswith=DISTRICT_CODE)
        }
        biggest: Counter = Counter()
        for code, n in BuildingStats.objects.filter(code__startswith=DISTRICT_CODE).values_list(
            "code", "residents"
        ):
            biggest[code[:15]] += n
        self.site_of: dict[str, tuple[SamplingSite, list]] = {}
        for i, community in enumerate(communities):
            # A community keeps its site from one round to the next.
            site = SamplingSite.objects.filter(area=community).order_by("id").first()
            if site is None:
                mine = [c for c in biggest if c.startswith(community.code)]
                compound = compounds[max(mine, key=lambda c: (biggest[c], c))] if mine else None
                site = self.site_create(community, compound, *HOURS[i % len(HOURS)])
            channels = list(site.channels.order_by("name"))
            self.site_of[community.code] = (site, channels)
            self.counts["sites"] += 1
            self.counts["channels"] += len(channels)

    def site_create(self, community: Area, compound: Area | None, opens, closes) -> SamplingSite:
        place = self.rng.choice(PLACES)
        actor = self.worker(community.code)
        site = services.site_create(
            actor=actor,
            area=community,
            name=f"{community.name}{place}采样点",
            address=f"{compound.name}旁{place}" if compound else "",
            opens_at=opens,
            closes_at=closes,
            channels=2,
        )
        if community == self.community_a or self.rng.random() < 0.4:
            services.channel_add(actor=actor, site=site)
        return site

    # --- who comes -----------------------------------------------------------------
    def plan(self) -> None:
        """Who has been sampled at each site so far, household by household."""
        people = [
            Person(*row)
            for row in Resident.objects.filter(area_code__startswith=DISTRICT_CODE)
            .order_by("id")
            .values_list("id", "name", "id_masked", "household_id", "area_code", "tags")
        ]
        homes: dict[str, dict[int, list[Person]]] = defaultdict(lambda: defaultdict(list))
        for p in people:
            homes[p.area_code[:12]][p.household_id].append(p)
        self.queues: dict[str, list[list[Scan]]] = {}
        self.spare: dict[str, list[Person]] = {}
        for code in self.site_of:
            rate = (
                RATE_A
                if code == self.community_a.code
                else RATE_B
                if code == self.community_b.code
                else self.rng.uniform(*RATE_OTHERS)
            )
            households = list(homes[code].values())
            self.rng.shuffle(households)
            queue, spare = [], []
            for members in households:
                walking = [
                    p
                    for p in members
                    if not p.tags & Tag.BEDRIDDEN and not p.area_code.startswith(self.sealed.code)
                ]
                if walking and self.rng.random() < rate:
                    came = [p for p in walking if self.rng.random() > 0.06] or walking[:1]
                    queue.append([Scan(p) for p in came])
                    spare += [p for p in walking if p not in came]
                else:
                    spare += walking
            self.queues[code] = queue
            self.spare[code] = spare
        self.typed_numbers()

    def typed_numbers(self) -> None:
        """A few people without a smartphone (and without a sticker on them) are typed in."""
        chosen: dict[int, Scan] = {}
        for queue in self.queues.values():
            typed = 0
            for household in queue:
                for scan in household:
                    if typed < TYPED_PER_SITE and scan.person.tags & Tag.NO_SMARTPHONE:
                        chosen[scan.person.pk] = scan
                        typed += 1
        for pk, cipher in Resident.objects.filter(
            pk__in=chosen, id_type=IdType.MAINLAND
        ).values_list("pk", "id_cipher"):
            chosen[pk].typed = pii.decrypt(cipher)

    def exempt(self) -> None:
        back = timezone.localdate(self.now) + dt.timedelta(days=3)
        for n, code in enumerate(self.site_of):
            spare = [p for p in self.spare[code] if not p.tags & Tag.INFANT]
            wanted = 3 if code == self.community_a.code else 2
            for i, person in enumerate(self.rng.sample(spare, min(wanted, len(spare)))):
                reason, note = EXEMPTIONS[(2 * n + i) % len(EXEMPTIONS)]
                services.exemption_grant(
                    actor=self.worker(code),
                    round=self.rnd,
                    resident=Resident.objects.get(pk=person.pk),
                    reason=reason,
                    note=note.format(back=_day(back)),
                )
                self.counts["exemptions"] += 1

    # --- the devices ---------------------------------------------------------------
    def upload(self) -> None:
        for code, (site, channels) in self.site_of.items():
            lanes: list[list[Scan]] = [[] for _ in channels]
            for i, household in enumerate(self.queues[code]):
                lanes[i % len(lanes)].extend(household)
            if code == self.community_a.code:
                self.slips(lanes)
            elif code == self.community_b.code:
                self.repeat(lanes, 1)
            spans = open_spans(
                site.opens_at, site.closes_at, self.starts_at, self.now - dt.timedelta(minutes=2)
            )
            pool = self.rnd.pool_size_for(zone_kind_at(site.area_code))
            uploader = self.sampler if code == self.community_a.code else self.worker(code)
            still_open = bool(spans) and spans[-1][1] >= self.now - dt.timedelta(minutes=2)
            for n, (channel, lane) in enumerate(zip(channels, lanes, strict=True)):
                # One tube of community A's second channel takes a person too many.
                overfill = code == self.community_a.code and n == 1
                events = self.channel_events(site, channel, lane, spans, pool, overfill, still_open)
                self.send(uploader, f"site{site.pk}-{channel.name}", events)

    def slips(self, lanes: list[list[Scan]]) -> None:
        """Community A's site: a visitor on no roster, typed in; two people sampled twice."""
        self.repeat(lanes, 2)
        number = visitor_id_number(self.rng)
        lanes[0].insert(len(lanes[0]) // 2, Scan(None, typed=number))

    def repeat(self, lanes: list[list[Scan]], n: int) -> None:
        """`n` people of the first channel queue again later at the second ("forgot")."""
        if len(lanes) < 2 or len(lanes[0]) < 10:
            return
        for scan in self.rng.sample(lanes[0][: len(lanes[0]) // 2], n):
            at = self.rng.randrange(len(lanes[1]) * 3 // 4, len(lanes[1]) + 1)
            lanes[1].insert(at, Scan(scan.person))

    def channel_events(
        self, site, channel, lane: list[Scan], spans, pool: int, overfill: bool, still_open: bool
    ) -> list[Event]:
        """The events one channel's device made: tubes of `pool` people, a tube sealed at
        closing time, the last one open while the site is. `overfill`: once, from the middle
        of the day's queue on, a tube takes one person more than its pool size."""
        if not lane or not spans:
            return []
        clock, rng = Clock(spans), self.rng
        times = [clock.at((i + rng.uniform(0.1, 0.9)) / len(lane)) for i in range(len(lane))]
        tubes: list[list[int]] = []
        size = pool
        for i, (span, _at) in enumerate(times):
            if not tubes or len(tubes[-1]) >= size or times[tubes[-1][0]][0] != span:
                overfill = overfill and not (tubes and len(tubes[-1]) > pool)
                size = pool + 1 if overfill and 2 * i >= len(times) else pool
                tubes.append([])
            tubes[-1].append(i)
        events: list[Event] = []

        def event(kind: str, at: dt.datetime, tube: str, **extra) -> None:
            events.append(
                Event(
                    client_id=f"demo{self.rnd.pk}-{channel.pk}-{len(events)}",
                    type=kind,
                    at=at,
                    round=self.rnd.pk,
                    site=site.pk,
                    channel=channel.pk,
                    tube=tube,
                    **extra,
                )
            )

        for number, members in enumerate(tubes):
            barcode = self.barcode()
            span, first = times[members[0]]
            event(
                "tube_open",
                first - dt.timedelta(seconds=rng.randint(20, 60)),
                barcode,
                pool_size=pool,
            )
            for i in members:
                scan = lane[i]
                if scan.typed:
                    self.counts["typed"] += 1
                    event(
                        "sample",
                        times[i][1],
                        barcode,
                        id_type=IdType.MAINLAND,
                        id_number=scan.typed,
                    )
                else:
                    event("sample", times[i][1], barcode, code=code_for(scan.person))
            last = number == len(tubes) - 1
            if last and still_open and len(members) < pool:
                self.counts["tubes_open"] += 1
                continue  # still filling
            sealed = times[members[-1]][1] + dt.timedelta(seconds=rng.randint(30, 90))
            event(
                "tube_seal",
                min(sealed, spans[span][1], self.now - dt.timedelta(seconds=30)),
                barcode,
            )
        return events

    def barcode(self) -> str:
        self.barcodes += 1
        return f"LL{self.rnd.pk:03d}{self.barcodes:06d}"

    def send(self, uploader: User, device: str, events: list[Event]) -> None:
        size = ingest_conf().max_events
        for start in range(0, len(events), size):
            results = services.samples_upload(
                actor=uploader, device_id=device, events=events[start : start + size]
            )
            self.counts["refused"] += sum(r.status == EventStatus.REJECTED for r in results)
            self.counts["samples"] += sum(
                1 for e in events[start : start + size] if e.type == "sample"
            )
        self.counts["tubes"] += len({e.tube for e in events})

    # --- door to door --------------------------------------------------------------
    def door_to_door(self) -> None:
        made = services.home_tasks_generate(actor=self.command, round=self.rnd)
        self.counts["tasks_sealed_households"] = made["sealed_households"]
        self.counts["tasks_bedridden"] = made["bedridden"]
        tasks = HomeSamplingTask.objects.filter(round=self.rnd)
        sealed = list(tasks.filter(kind=TaskKind.SEALED_HOUSEHOLD).order_by("area_code", "id"))
        if sealed:
            services.home_tasks_assign(
                actor=self.worker(self.sealed.code),
                tasks=sealed,
                team=self.sampler,
                team_name=TEAM,
            )
        # A few doors already knocked: households of one person (one single tube each)
        # in the sealed area, and two bedridden people.
        sizes = Counter(
            Resident.objects.filter(area_code__startswith=self.sealed.code).values_list(
                "household_id", flat=True
            )
        )
        alone = [t for t in sealed if sizes[t.household_id] == 1][:3]
        bedridden = list(tasks.filter(kind=TaskKind.BEDRIDDEN).order_by("area_code", "id")[:2])
        for task in alone + bedridden:
            at = self.now - dt.timedelta(minutes=self.rng.randint(20, 150))
            services.home_task_close(
                actor=self.worker(task.area_code), task=task, tube=self.barcode(), at=at
            )
            self.counts["tasks_done"] += 1
            self.counts["samples"] += 1
            self.counts["tubes"] += 1


def sealed_area_code(stats: dict[str, int]) -> str:
    """The area of community A to seal, from its buildings' residents: its smallest
    compound, if it has more than one and that one is not too big; else its smallest
    inhabited building (community A of a small seed is often one compound)."""
    total = sum(stats.values())
    compounds: Counter = Counter()
    for code, n in stats.items():
        compounds[code[:15]] += n
    small = sorted((n, c) for c, n in compounds.items() if 0 < n <= total * SEALED_SHARE)
    if len(compounds) > 1 and small:
        return small[0][1]
    return min((n, c) for c, n in stats.items() if n > 0)[1]


def visitor_id_number(rng: random.Random) -> str:
    """A valid ID number of nobody on the roster (a relative visiting from Changsha)."""
    birth = dt.date(1958, 1, 1) + dt.timedelta(days=rng.randrange(3650))
    for sequence in range(rng.randrange(1, 500), 1000):
        number = make_mainland("430104", birth, sequence)
        if not Resident.objects.filter(id_hash=id_hash(IdType.MAINLAND, number)).exists():
            return number
    raise Conflict("无法生成访客证件号", "no free ID number for the visitor")


def flagged_counts(rnd: TestingRound) -> dict[str, int]:
    """Samples of the round by flag (for the command's summary and the tests)."""
    return {
        flag.slug: Sample.objects.filter(round=rnd).flagged(flag).count() for flag in SampleFlag
    }
