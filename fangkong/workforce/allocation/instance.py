"""An allocation problem in arrays: workers, groups of identical seats, feasibility classes.

Seats of one request at one place with the same skills (and the same extra rule) are
interchangeable, so they become one *group* with a capacity. A group's *class* is its
required skill and its extra rule: the workers feasible for it are the class's workers.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from .cost import cost, haversine_km, unit_vectors
from .model import Allocation, Allowed, ExtraCost, Seat, Unfilled, UnfilledSeat, Worker

NO_SKILL = -1


@dataclass
class FeasibilityClass:
    required: int  # skill index, or NO_SKILL
    workers: np.ndarray  # indices of the feasible workers, ascending
    mask: np.ndarray  # the same as a boolean array over all workers
    with_skill: int  # workers with the skill, before the extra rule
    # The class's groups; set for every class right after the classes are built.
    groups: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    _worker_tree: cKDTree | None = None

    def worker_tree(self, xyz: np.ndarray) -> cKDTree:
        if self._worker_tree is None:
            self._worker_tree = cKDTree(xyz[self.workers])
        return self._worker_tree


class Instance:
    def __init__(
        self,
        workers: Sequence[Worker],
        seats: Sequence[Seat],
        *,
        allowed: Allowed | None = None,
        extra_cost: ExtraCost | None = None,
    ):
        self.workers = workers
        self.seats = seats
        self.extra_cost = extra_cost
        n = self.n = len(workers)
        self.w_lat = np.fromiter((w.lat for w in workers), float, n)
        self.w_lon = np.fromiter((w.lon for w in workers), float, n)
        self.w_hours = np.fromiter((w.hours_7d for w in workers), float, n)
        self.w_xyz = unit_vectors(self.w_lat, self.w_lon).reshape(n, 3)

        skills: dict[str, int] = {}
        for w in workers:
            for s in w.skills:
                skills.setdefault(s, len(skills))
        for seat in seats:
            for s in (seat.required_skill, seat.preferred_skill):
                if s:
                    skills.setdefault(s, len(skills))
        self.skills = skills
        self.has = np.zeros((n, max(len(skills), 1)), dtype=bool)
        for i, w in enumerate(workers):
            for s in w.skills:
                self.has[i, skills[s]] = True

        self._build_groups(allowed)

    # -- seats into groups, groups into classes ---------------------------------------

    def _build_groups(self, allowed: Allowed | None) -> None:
        rules: dict[int, tuple[object, int]] = {}  # id(collection) → (collection, rule)
        rule_masks: list[np.ndarray] = []
        index_of = None
        keys: dict[tuple, int] = {}
        seat_group = np.empty(len(self.seats), dtype=np.int64)
        reps: list[int] = []
        for i, seat in enumerate(self.seats):
            rule = -1
            if allowed is not None:
                chosen = allowed(seat)
                if chosen is not None:
                    known = rules.get(id(chosen))
                    if known is None:
                        if index_of is None:
                            index_of = {w.worker_id: j for j, w in enumerate(self.workers)}
                        mask = np.zeros(self.n, dtype=bool)
                        mask[[index_of[w] for w in chosen if w in index_of]] = True
                        known = rules[id(chosen)] = (chosen, len(rule_masks))
                        rule_masks.append(mask)
                    rule = known[1]
            key = (
                seat.request_id,
                seat.lat,
                seat.lon,
                seat.required_skill,
                seat.preferred_skill,
                rule,
            )
            g = keys.get(key)
            if g is None:
                g = keys[key] = len(reps)
                reps.append(i)
            seat_group[i] = g
        self.seat_group = seat_group
        self.g_rep = np.array(reps, dtype=np.int64)
        G = self.G = len(reps)
        self.g_cap = np.bincount(seat_group, minlength=G).astype(np.int64)
        self.g_lat = np.array([self.seats[i].lat for i in reps], dtype=float)
        self.g_lon = np.array([self.seats[i].lon for i in reps], dtype=float)
        self.g_xyz = unit_vectors(self.g_lat, self.g_lon).reshape(G, 3)
        self.g_pref = np.array(
            [self.skills.get(self.seats[i].preferred_skill, NO_SKILL) for i in reps],
            dtype=np.int64,
        ).reshape(G)

        classes: dict[tuple[int, int], int] = {}
        self.classes: list[FeasibilityClass] = []
        g_class = np.empty(G, dtype=np.int64)
        for g, (_, _, _, required, _, rule) in enumerate(keys):
            req = self.skills[required] if required else NO_SKILL
            c = classes.get((req, rule))
            if c is None:
                skilled = self.has[:, req] if req != NO_SKILL else np.ones(self.n, dtype=bool)
                mask = skilled & rule_masks[rule] if rule >= 0 else skilled
                c = classes[(req, rule)] = len(self.classes)
                self.classes.append(
                    FeasibilityClass(
                        required=req,
                        workers=np.flatnonzero(mask),
                        mask=mask,
                        with_skill=int(skilled.sum()),
                    )
                )
            g_class[g] = c
        self.g_class = g_class
        order = np.argsort(g_class, kind="stable")
        bounds = np.searchsorted(g_class[order], np.arange(len(self.classes) + 1))
        for c, cls in enumerate(self.classes):
            cls.groups = order[bounds[c] : bounds[c + 1]]

    # -- costs ------------------------------------------------------------------------

    def arc_costs(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        """The exact (float) cost of worker w[i] on a seat of group g[i]."""
        distance = haversine_km(self.w_lat[w], self.w_lon[w], self.g_lat[g], self.g_lon[g])
        pref = self.g_pref[g]
        lacks = (pref != NO_SKILL) & ~self.has[w, np.maximum(pref, 0)]
        costs = cost(distance, lacks, self.w_hours[w])
        if self.extra_cost is not None and len(w):
            order = np.argsort(g, kind="stable")
            sorted_g = g[order]
            starts = np.flatnonzero(np.r_[True, sorted_g[1:] != sorted_g[:-1]])
            for start, end in zip(starts, np.r_[starts[1:], len(order)], strict=True):
                rows = order[start:end]
                seat = self.seats[self.g_rep[sorted_g[start]]]
                extra = np.asarray(self.extra_cost(seat, w[rows]), dtype=float)
                if extra.shape != rows.shape or (extra < 0).any() or not np.isfinite(extra).all():
                    raise ValueError(
                        "extra_cost must return one finite cost ≥ 0 for each worker index"
                    )
                costs[rows] += extra
        return costs

    # -- the answer -------------------------------------------------------------------

    def result(self, seat_worker: np.ndarray) -> Allocation:
        """The allocation that puts worker seat_worker[i] (-1: nobody) on seat i."""
        filled = np.flatnonzero(seat_worker >= 0)
        w, g = seat_worker[filled], self.seat_group[filled]
        total = float(self.arc_costs(w, g).sum()) if len(filled) else 0.0
        assignment = {
            self.seats[i].seat_id: self.workers[j].worker_id
            for i, j in zip(filled.tolist(), w.tolist(), strict=True)
        }
        unfilled = []
        for i in np.flatnonzero(seat_worker < 0).tolist():
            cls = self.classes[self.g_class[self.seat_group[i]]]
            if cls.required != NO_SKILL and cls.with_skill == 0:
                reason = Unfilled.NO_SKILL
            elif len(cls.workers) == 0:
                reason = Unfilled.UNAVAILABLE
            else:
                reason = Unfilled.ALL_TAKEN
            unfilled.append(
                UnfilledSeat(self.seats[i].seat_id, reason, cls.with_skill, len(cls.workers))
            )
        return Allocation(assignment=assignment, cost=total, unfilled=unfilled)
