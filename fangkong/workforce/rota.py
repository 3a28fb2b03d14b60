"""Rotas: shifts of posts over N days, filled from each post's workers.

Rules (parameters in `RotaRules`):
- a worker holds at most one shift at a time;
- between the end of one shift and the start of the next: at least `min_rest_hours` (8);
- hours in each block of 7 days from the rota's start, counting the hours the worker
  already worked in the first block (`RotaWorker.hours_before`), stay within
  `weekly_cap_hours`; a shift counts in the block where it starts;
- a worker is not put on a shift that overlaps one of their unavailable periods;
- hours are balanced: among the workers who can take a shift, those with the fewest
  hours so far in the week (hours before the rota included) go first.

How: the shifts are taken a start time at a time (a time slice). At each slice a
min-cost flow (OR-Tools, maximum flow first, then least cost) puts the available
workers on the slice's shifts: as many heads filled as possible, then the fewest hours
worked so far, so hours even out. Each slice's filling is optimal for that slice; the
rota as a whole is not proven optimal (a worker used now rests through a later slice).
Times are hours from the rota's start (day 0, 00:00 local time); the app turns them
into datetimes.
"""

import enum
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import min_cost_flow


@dataclass(frozen=True)
class ShiftPattern:
    name: str
    # (start hour of the day, length in hours) of each shift of a day
    shifts: tuple[tuple[int, int], ...]


THREE_EIGHTS = ShiftPattern("3x8", ((0, 8), (8, 8), (16, 8)))
TWO_TWELVES = ShiftPattern("2x12", ((8, 12), (20, 12)))
DAY_ONLY = ShiftPattern("day", ((8, 10),))
PATTERNS = {p.name: p for p in (THREE_EIGHTS, TWO_TWELVES, DAY_ONLY)}


@dataclass(frozen=True)
class Post:
    post_id: str
    pattern: ShiftPattern
    # the workers who may stand at this post (those assigned to it, or to its community)
    workers: tuple[str, ...]
    heads: int = 1  # people on each shift


@dataclass(frozen=True)
class RotaWorker:
    worker_id: str
    # hours already worked in the 7 days before the rota starts (count in block 0)
    hours_before: float = 0.0
    # when their last shift before the rota ended (hours from the start; ≤ 0)
    last_end: float = -1e9
    # (start, end) hours from the rota's start when they cannot work
    unavailable: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class RotaRules:
    days: int = 7
    min_rest_hours: float = 8.0
    weekly_cap_hours: float = 48.0


@dataclass(frozen=True)
class Shift:
    post_id: str
    day: int
    start: int  # hours from the rota's start
    hours: int

    @property
    def end(self) -> int:
        return self.start + self.hours


class Gap(enum.StrEnum):
    """Why a shift is short of people (the most common state of the post's workers)."""

    NO_WORKERS = "no_workers"  # the post has no workers at all
    TAKEN = "taken"  # free, but on another shift starting at the same time
    ON_SHIFT = "on_shift"  # still on an earlier shift
    RESTING = "resting"  # within the rest after their last shift
    AT_CAP = "at_cap"  # this shift would take them over the weekly cap
    UNAVAILABLE = "unavailable"  # an unavailable period overlaps the shift


@dataclass(frozen=True)
class ShortShift:
    shift: Shift
    missing: int
    reason: Gap
    # how many of the post's workers were in each state at the shift's start
    states: dict[str, int]


@dataclass
class Rota:
    assignments: list[tuple[Shift, str]]
    short: list[ShortShift]
    hours: dict[str, float]  # hours on this rota, by worker
    stats: dict = field(default_factory=dict)

    def shifts_of(self, worker_id: str) -> list[Shift]:
        return sorted((s for s, w in self.assignments if w == worker_id), key=lambda s: s.start)


def shifts_for(posts: Sequence[Post], days: int) -> list[Shift]:
    return [
        Shift(post.post_id, day, day * 24 + start, length)
        for day in range(days)
        for post in posts
        for start, length in post.pattern.shifts
    ]


def build_rota(
    posts: Sequence[Post], workers: Sequence[RotaWorker], rules: RotaRules = RotaRules()
) -> Rota:
    started = time.perf_counter()
    index = {w.worker_id: i for i, w in enumerate(workers)}
    n = len(workers)
    post_index = {p.post_id: i for i, p in enumerate(posts)}
    pools = [np.array([index[w] for w in p.workers if w in index], dtype=np.int64) for p in posts]
    heads = np.array([p.heads for p in posts], dtype=np.int64)

    last_end = np.array([w.last_end for w in workers], dtype=float)
    last_start = np.full(n, -np.inf)
    block_hours = np.array([w.hours_before for w in workers], dtype=float)
    total = np.zeros(n)
    blocked = [(index[w.worker_id], a, b) for w in workers for a, b in w.unavailable]
    block = 0

    shifts = shifts_for(posts, rules.days)
    starts = np.array([s.start for s in shifts], dtype=np.int64)
    order = np.argsort(starts, kind="stable")
    cuts = np.flatnonzero(np.r_[True, np.diff(starts[order]) != 0, True])

    assignments: list[tuple[Shift, str]] = []
    short: list[ShortShift] = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        slice_shifts = [shifts[i] for i in order[a:b]]
        t = slice_shifts[0].start
        if t // (24 * 7) != block:
            block = t // (24 * 7)
            block_hours[:] = 0.0
        lengths = np.array([s.hours for s in slice_shifts], dtype=float)
        p_idx = np.array([post_index[s.post_id] for s in slice_shifts], dtype=np.int64)

        free = last_end + rules.min_rest_hours <= t
        # Arcs: each shift to each worker of its pool who is rested, under the cap for
        # this shift's length, and not unavailable during it.
        sizes = np.array([len(pools[p]) for p in p_idx], dtype=np.int64)
        arc_shift = np.repeat(np.arange(len(slice_shifts)), sizes)
        arc_worker = np.concatenate([pools[p] for p in p_idx] + [np.empty(0, np.int64)])
        ok = free[arc_worker] & (
            block_hours[arc_worker] + lengths[arc_shift] <= rules.weekly_cap_hours + 1e-9
        )
        for w, u0, u1 in blocked:
            hit = (arc_worker == w) & (u0 < t + lengths[arc_shift]) & (t < u1)
            ok &= ~hit
        arc_shift, arc_worker = arc_shift[ok], arc_worker[ok]

        chosen = _fill(arc_worker, arc_shift, heads[p_idx], block_hours)
        got = np.bincount(arc_shift[chosen], minlength=len(slice_shifts))
        for w, s in zip(arc_worker[chosen].tolist(), arc_shift[chosen].tolist(), strict=True):
            shift = slice_shifts[s]
            assignments.append((shift, workers[w].worker_id))
            last_start[w], last_end[w] = shift.start, shift.end
            block_hours[w] += shift.hours
            total[w] += shift.hours
        for s in np.flatnonzero(got < heads[p_idx]).tolist():
            shift = slice_shifts[s]
            short.append(
                _why(
                    shift,
                    int(heads[p_idx[s]] - got[s]),
                    pools[p_idx[s]],
                    last_start,
                    last_end,
                    block_hours,
                    rules,
                    blocked,
                )
            )

    hours = {w.worker_id: float(total[i]) for i, w in enumerate(workers)}
    stats = {
        "shifts": len(shifts),
        "slices": len(cuts) - 1,
        "heads": int(sum(heads[post_index[s.post_id]] for s in shifts)),
        "filled": len(assignments),
        "seconds": time.perf_counter() - started,
    }
    return Rota(assignments=assignments, short=short, hours=hours, stats=stats)


def _fill(arc_worker, arc_shift, want, load) -> np.ndarray:
    """Which arcs to use: most heads filled, then the fewest hours worked so far this
    week (`load`, hours before the rota included)."""
    if len(arc_worker) == 0:
        return np.zeros(0, dtype=bool)
    workers, local = np.unique(arc_worker, return_inverse=True)
    k, m = len(workers), len(want)
    source, sink = 0, k + m + 1
    tails = np.concatenate([np.zeros(k, np.int64), 1 + local, 1 + k + np.arange(m)])
    heads_ = np.concatenate([1 + np.arange(k), 1 + k + arc_shift, np.full(m, sink)])
    caps = np.concatenate([np.ones(k, np.int64), np.ones(len(local), np.int64), want])
    # Hours so far, in tenths, on the worker's arc: fewer hours, cheaper.
    costs = np.concatenate(
        [np.rint(load[workers] * 10).astype(np.int64), np.zeros(len(local) + m, np.int64)]
    )
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(tails, heads_, caps, costs)
    supply = int(min(k, want.sum()))
    smcf.set_node_supply(source, supply)
    smcf.set_node_supply(sink, -supply)
    status = smcf.solve_max_flow_with_min_cost()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"rota: min-cost flow failed: {status}")
    flows = np.asarray(smcf.flows(np.arange(k, k + len(local))))
    return flows > 0


def _why(shift, missing, pool, last_start, last_end, block_hours, rules, blocked):
    """The state of each of the post's workers at the shift's start, after the slice."""
    if len(pool) == 0:
        return ShortShift(shift, missing, Gap.NO_WORKERS, {})
    t = shift.start
    state = np.full(len(pool), "free", dtype=object)  # never left so: the flow is maximum
    state[block_hours[pool] + shift.hours > rules.weekly_cap_hours + 1e-9] = Gap.AT_CAP.value
    for w, u0, u1 in blocked:
        if u0 < shift.end and t < u1:
            state[pool == w] = Gap.UNAVAILABLE.value
    state[last_end[pool] + rules.min_rest_hours > t] = Gap.RESTING.value
    state[last_end[pool] > t] = Gap.ON_SHIFT.value
    state[last_start[pool] == t] = Gap.TAKEN.value
    values, counts = np.unique(state, return_counts=True)
    states = dict(zip(values.tolist(), counts.tolist(), strict=True))
    reason = Gap(max((k for k in states if k != "free"), key=lambda k: (states[k], k)))
    return ShortShift(shift, missing, reason, states)
