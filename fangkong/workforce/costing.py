"""The app's side of the allocation: from the database to the solver and back.

The solver (fangkong/workforce/allocation) fills as many seats as it can and, among
those fillings, minimises the total cost. Its cost is the one of `fangkong allocate`:

    great-circle km from the worker to the seat
    + 3 if the seat's preferred skill is missing
    + 0.01 × the worker's hours on duty in the last 7 days (balance)

The app adds, through the solver's hooks, its hard constraints (`allowed`: available
on the request's days and hours, not quarantined, not already placed on overlapping
days; for substitutes, not on an overlapping shift) and one more cost term
(`extra`: a team member placed away from the team's community, weight by policy).
`Problem.cost` is that sum for one pair; the proposal shows it, a person's adjustment
is costed by it, and the solver's callback is the same function over arrays: one cost.
"""

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from .geo import haversine_km
from .models import (
    AreaPoint,
    Assignment,
    ProposedSeat,
    Shift,
    Skill,
    StaffingRequest,
    TeamMember,
    Worker,
    WorkerStatus,
)
from .policies import WEIGHTS
from .rules import Availability, free_for, spans_overlap
from .selectors import hours_by_worker

if TYPE_CHECKING:  # the solver package is imported when used (numpy, SciPy, OR-Tools)
    from .allocation import Allocation, Seat


def _allocation():
    """The solver package (imported when used: it brings numpy, SciPy and OR-Tools)."""
    from . import allocation

    return allocation


def weights_rule(area_code: str):
    return WEIGHTS.at(timezone.now(), area_code)


@dataclass
class Candidate:
    """A worker as the allocation sees them."""

    pk: int
    name: str
    lat: float
    lon: float
    skills: frozenset[str]
    hours_7d: float
    availability: Availability
    team_code: str = ""  # the community of the worker's team, if any
    busy_days: list[tuple[dt.date, dt.date]] = field(default_factory=list)
    busy_hours: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return str(self.pk)


@dataclass(frozen=True)
class Need:
    """What one group of seats needs: when, and the skill it cannot do without."""

    first: dt.date
    last: dt.date
    start: dt.time
    end: dt.time
    begins_at: dt.datetime
    ends_at: dt.datetime
    area_code: str
    required: str = ""
    is_shift: bool = False


def _apart(team_code: str, area_code: str) -> bool:
    """A team member placed outside the team's community (neither holds the other)."""
    return bool(team_code) and not (
        area_code.startswith(team_code) or team_code.startswith(area_code)
    )


class Problem:
    """Workers, seats and the app's rules for one allocation."""

    def __init__(self, candidates: list[Candidate], team_apart: float):
        alloc = _allocation()
        self.candidates = candidates
        self.by_id = {c.key: c for c in candidates}
        self.team_apart = team_apart
        self.workers = [alloc.Worker(c.key, c.lat, c.lon, c.skills, c.hours_7d) for c in candidates]
        self.seats: list = []
        self.seat_keys: dict[str, tuple[int | None, int, int | None]] = {}
        self.seat_area: dict[str, str] = {}
        self.needs: dict[str, Need] = {}  # by the seats' request_id (a group of seats)
        self._allowed: dict[str, frozenset[str]] = {}
        self._by_window: dict[tuple, frozenset[str]] = {}
        self._apart_costs: dict = {}
        self._teams = None

    def add_seat(self, seat, need: Need, *, request: int | None, number: int, shift=None):
        self.seats.append(seat)
        self.needs[seat.request_id] = need
        self.seat_keys[seat.seat_id] = (request, number, shift)
        self.seat_area[seat.seat_id] = need.area_code

    # -- the rules --------------------------------------------------------------------

    def free(self, c: Candidate, need: Need) -> bool:
        if not free_for(
            c.availability,
            first=need.first,
            last=need.last,
            start=need.start,
            end=need.end,
            begins_at=need.begins_at,
        ):
            return False
        if need.is_shift:
            return not any(a < need.ends_at and need.begins_at < b for a, b in c.busy_hours)
        return not any(spans_overlap(span, (need.first, need.last)) for span in c.busy_days)

    def allowed(self, seat) -> frozenset[str]:
        """The solver's hook: one frozenset for all seats whose need has the same time
        window. `free` reads only the window, so requests asking for the same days and
        hours share one object: the solver groups seats by that object, and one rule per
        window (not one per request) keeps its feasibility classes few (2,000 requests
        over two windows: two rules, not 2,000 classes of the whole graph)."""
        found = self._allowed.get(seat.request_id)
        if found is None:
            need = self.needs[seat.request_id]
            window = (
                need.first,
                need.last,
                need.start,
                need.end,
                need.begins_at,
                need.ends_at,
                need.is_shift,
            )
            found = self._by_window.get(window)
            if found is None:
                found = frozenset(c.key for c in self.candidates if self.free(c, need))
                self._by_window[window] = found
            self._allowed[seat.request_id] = found
        return found

    def extra(self, c: Candidate, seat) -> float:
        """The app's own cost term: a team member placed away from the team's community."""
        return (
            self.team_apart if _apart(c.team_code, self.needs[seat.request_id].area_code) else 0.0
        )

    def extra_cost(self, seat, indices):
        """The solver's hook: `extra` for many workers and one seat of a group, from a
        vector over all workers made once per seat area (one check per distinct team
        community, not per pair)."""
        code = self.needs[seat.request_id].area_code
        vector = self._apart_costs.get(code)
        if vector is None:
            import numpy as np

            vector = np.zeros(len(self.candidates))
            for team_code, members in self._team_members().items():
                if _apart(team_code, code):
                    vector[members] = self.team_apart
            self._apart_costs[code] = vector
        return vector[indices]

    def _team_members(self):
        if self._teams is None:
            import numpy as np

            by_team: dict[str, list[int]] = defaultdict(list)
            for i, c in enumerate(self.candidates):
                if c.team_code:
                    by_team[c.team_code].append(i)
            self._teams = {k: np.array(v, dtype=np.int64) for k, v in by_team.items()}
        return self._teams

    def distance(self, c: Candidate, seat) -> float:
        return haversine_km(c.lat, c.lon, seat.lat, seat.lon)

    def cost(self, c: Candidate, seat) -> float:
        """The total cost of one worker on one seat: the solver's terms plus the app's."""
        alloc = _allocation()
        return alloc.pair_cost(self.workers[self._index(c)], seat) + self.extra(c, seat)

    def costs(self, pairs: Sequence[tuple[Candidate, "Seat"]]) -> tuple[list, list]:
        """`cost` and `distance` of many (candidate, seat) pairs at once, by the same
        functions over arrays (storing a proposal of 20,000 seats pair by pair took
        seconds)."""
        import numpy as np

        alloc = _allocation()
        if not pairs:
            return [], []
        n = len(pairs)
        w_lat = np.fromiter((c.lat for c, _ in pairs), np.float64, n)
        w_lon = np.fromiter((c.lon for c, _ in pairs), np.float64, n)
        s_lat = np.fromiter((seat.lat for _, seat in pairs), np.float64, n)
        s_lon = np.fromiter((seat.lon for _, seat in pairs), np.float64, n)
        lacks = np.fromiter(
            (
                bool(seat.preferred_skill) and seat.preferred_skill not in c.skills
                for c, seat in pairs
            ),
            np.bool_,
            n,
        )
        hours = np.fromiter((c.hours_7d for c, _ in pairs), np.float64, n)
        extra = np.fromiter((self.extra(c, seat) for c, seat in pairs), np.float64, n)
        distance = alloc.haversine_km(w_lat, w_lon, s_lat, s_lon)
        return (alloc.cost(distance, lacks, hours) + extra).tolist(), distance.tolist()

    def _index(self, c: Candidate) -> int:
        if not hasattr(self, "_positions"):
            self._positions = {x.key: i for i, x in enumerate(self.candidates)}
        return self._positions[c.key]

    def refusal(self, c: Candidate, seat) -> tuple[str, str] | None:
        """Why `c` may not take `seat` (Chinese, English), or None."""
        if seat.required_skill and seat.required_skill not in c.skills:
            return (f"{c.name}没有所需技能", f"{c.name} lacks the required skill")
        if c.availability.available is False and not self.free(c, self.needs[seat.request_id]):
            return (
                f"{c.name}当前不可用（病假或隔离）",
                f"{c.name} is unavailable (sick or quarantined)",
            )
        if not self.free(c, self.needs[seat.request_id]):
            return (
                f"{c.name}在该时段不可用或已有安排",
                f"{c.name} is not available then, or placed elsewhere",
            )
        return None


@dataclass
class Outcome:
    optimal: "Allocation"
    greedy: "Allocation"
    seconds: float


def solve(problem: Problem) -> Outcome:
    """The optimal allocation, and the greedy baseline on the same input for comparison."""
    alloc = _allocation()
    started = time.perf_counter()
    # With no team among the candidates the app's term is nought: no hook to call.
    extra = problem.extra_cost if any(c.team_code for c in problem.candidates) else None
    optimal = alloc.allocate(
        problem.workers, problem.seats, allowed=problem.allowed, extra_cost=extra
    )
    seconds = time.perf_counter() - started
    greedy = alloc.allocate_greedy(
        problem.workers, problem.seats, allowed=problem.allowed, extra_cost=extra
    )
    return Outcome(optimal, greedy, seconds)


# -- loading --------------------------------------------------------------------------------


def _points(codes: Iterable[str]) -> dict[str, tuple[float, float]]:
    """The map point of each code (or of its nearest ancestor that has one)."""
    codes = set(codes)
    wanted = {c[:n] for c in codes for n in (6, 9, 12, 15, 18) if len(c) >= n}
    known = {p.code: (p.lat, p.lon) for p in AreaPoint.objects.filter(code__in=wanted)}
    out = {}
    for c in codes:
        for n in (18, 15, 12, 9, 6):
            if c[:n] in known and len(c) >= n:
                out[c] = known[c[:n]]
                break
    return out


def candidates(workers, *, since: dt.datetime | None = None) -> list[Candidate]:
    """Candidates from a queryset of workers: skills, hours in the last 7 days, teams,
    days already placed and shifts already held (from now on)."""
    now = timezone.now()
    rows = list(
        workers.filter(lat__isnull=False).values_list(
            "pk",
            "name",
            "lat",
            "lon",
            "days",
            "day_from",
            "day_until",
            "nights",
            "status",
            "status_until",
        )
    )
    ids = [r[0] for r in rows]
    skills: dict[int, set[str]] = defaultdict(set)
    teams: dict[int, str] = {}
    busy_days: dict[int, list] = defaultdict(list)
    busy_hours: dict[int, list] = defaultdict(list)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for pk, code in Worker.skills.through.objects.filter(worker_id__in=chunk).values_list(
            "worker_id", "skill__code"
        ):
            skills[pk].add(code)
        teams.update(
            TeamMember.objects.filter(worker_id__in=chunk).values_list(
                "worker_id", "team__area_code"
            )
        )
        for pk, first, last in Assignment.objects.filter(
            worker_id__in=chunk, ended_at__isnull=True
        ).values_list("worker_id", "first_day", "last_day"):
            busy_days[pk].append((first, last))
        for pk, a, b in Shift.objects.filter(
            worker_id__in=chunk, ends_at__gt=since or now
        ).values_list("worker_id", "starts_at", "ends_at"):
            busy_hours[pk].append((a, b))
    hours = hours_by_worker(ids, since=now - dt.timedelta(days=7), until=now)
    return [
        Candidate(
            pk=pk,
            name=name,
            lat=lat,
            lon=lon,
            skills=frozenset(skills.get(pk, ())),
            hours_7d=round(hours.get(pk, 0.0), 2),
            availability=Availability(
                days=days,
                day_from=day_from,
                day_until=day_until,
                nights=nights,
                available=status == WorkerStatus.AVAILABLE,
                until=until,
            ),
            team_code=teams.get(pk, ""),
            busy_days=busy_days.get(pk, []),
            busy_hours=busy_hours.get(pk, []),
        )
        for pk, name, lat, lon, days, day_from, day_until, nights, status, until in rows
    ]


def _pool(area_code: str):
    """Workers who serve or live under an area, not gone for good."""
    return Worker.objects.filter(
        Q(area_code__startswith=area_code) | Q(home_code__startswith=area_code)
    ).exclude(Q(status_until__isnull=True) & ~Q(status=WorkerStatus.AVAILABLE))


def _code(skill: Skill | None) -> str:
    return skill.code if skill is not None else ""


def _request_need(request: StaffingRequest) -> Need:
    begins = timezone.make_aware(dt.datetime.combine(request.first_day, request.hours_from))
    ends = timezone.make_aware(dt.datetime.combine(request.last_day, request.hours_until))
    return Need(
        first=request.first_day,
        last=request.last_day,
        start=request.hours_from,
        end=request.hours_until,
        begins_at=begins,
        ends_at=ends,
        area_code=request.area_code,
        required=_code(request.required_skill),
    )


def request_problem(area_code: str, requests: Sequence[StaffingRequest], workers=None) -> Problem:
    """Every open seat of `requests`, and the workers under `area_code` (or `workers`)."""
    alloc = _allocation()
    problem = Problem(
        candidates(workers if workers is not None else _pool(area_code)),
        weights_rule(area_code).value.team_apart,
    )
    points = _points(r.area_code for r in requests)
    for request in requests:
        lat, lon = points[request.area_code]
        need = _request_need(request)
        for n in range(request.filled, request.count):
            seat = alloc.Seat(
                seat_id=f"r{request.pk}:{n}",
                request_id=f"r{request.pk}",
                lat=lat,
                lon=lon,
                required_skill=need.required,
                preferred_skill=_code(request.preferred_skill),
            )
            problem.add_seat(seat, need, request=request.pk, number=n)
    return problem


def _shift_need(shift: Shift) -> Need:
    start, end = timezone.localtime(shift.starts_at), timezone.localtime(shift.ends_at)
    request = shift.post.request
    return Need(
        first=start.date(),
        last=(end - dt.timedelta(seconds=1)).date(),
        start=start.time(),
        end=end.time(),
        begins_at=shift.starts_at,
        ends_at=shift.ends_at,
        area_code=shift.area_code,
        required=_code(request.required_skill) if request else "",
        is_shift=True,
    )


def shift_problem(area_code: str, shifts: Sequence[Shift], workers=None) -> Problem:
    """The opened shifts as seats (one group a post and time), workers under `area_code`."""
    alloc = _allocation()
    problem = Problem(
        candidates(workers if workers is not None else _pool(area_code)),
        weights_rule(area_code).value.team_apart,
    )
    points = _points(s.area_code for s in shifts)
    for n, shift in enumerate(shifts):
        post = shift.post
        lat, lon = (post.lat, post.lon) if post.lat is not None else points[shift.area_code]
        need = _shift_need(shift)
        seat = alloc.Seat(
            seat_id=f"s{shift.pk}",
            request_id=f"p{post.pk}@{shift.starts_at.isoformat()}",
            lat=lat,
            lon=lon,
            required_skill=need.required,
        )
        problem.add_seat(seat, need, request=post.request_id, number=n, shift=shift.pk)
    return problem


@dataclass
class Verdict:
    refusal: tuple[str, str] | None
    cost: float | None = None
    distance_km: float | None = None


def _judge(problem: Problem) -> Verdict:
    seat = problem.seats[0]
    if not problem.candidates:
        return Verdict(("该人员没有位置信息", "the worker has no map point"))
    c = problem.candidates[0]
    why = problem.refusal(c, seat)
    if why:
        return Verdict(why)
    return Verdict(None, problem.cost(c, seat), problem.distance(c, seat))


def judge_seat(seat: ProposedSeat, worker: Worker) -> Verdict:
    """May `worker` take this proposed seat, and at what cost (the same cost)."""
    one = Worker.objects.filter(pk=worker.pk)
    if seat.shift_id:
        shift = Shift.objects.select_related("post__request__required_skill").get(pk=seat.shift_id)
        return _judge(shift_problem(shift.area_code, [shift], one))
    request = StaffingRequest.objects.select_related("required_skill", "preferred_skill").get(
        pk=seat.request_id
    )
    request.filled, request.count = 0, 1
    return _judge(request_problem(request.area_code, [request], one))


def judge_shift(shift: Shift, worker: Worker) -> Verdict:
    shift = Shift.objects.select_related("post__request__required_skill").get(pk=shift.pk)
    return _judge(shift_problem(shift.area_code, [shift], Worker.objects.filter(pk=worker.pk)))
