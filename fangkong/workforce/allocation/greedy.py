"""The baseline the optimum is measured against: seats in the order given, each takes the
nearest feasible worker still free (ties: the earlier worker)."""

from collections.abc import Sequence

import numpy as np

from .cost import haversine_km
from .instance import Instance
from .model import Allocation, Allowed, ExtraCost, Seat, Worker


def allocate_greedy(
    workers: Sequence[Worker],
    seats: Sequence[Seat],
    *,
    allowed: Allowed | None = None,
    extra_cost: ExtraCost | None = None,
) -> Allocation:
    inst = Instance(workers, seats, allowed=allowed, extra_cost=extra_cost)
    taken = np.zeros(inst.n, dtype=bool)
    free = np.array([len(cls.workers) for cls in inst.classes], dtype=np.int64)
    member = (
        np.column_stack([cls.mask for cls in inst.classes])
        if inst.classes
        else np.zeros((inst.n, 0), dtype=bool)
    )
    seat_worker = np.full(len(seats), -1, dtype=np.int64)
    for i, g in enumerate(inst.seat_group.tolist()):
        c = int(inst.g_class[g])
        if free[c] == 0:
            continue
        cls = inst.classes[c]
        if free[c] * 16 < len(cls.workers):
            # Few left: look at the free ones only.
            left = cls.workers[~taken[cls.workers]]
            d = haversine_km(inst.g_lat[g], inst.g_lon[g], inst.w_lat[left], inst.w_lon[left])
            best = int(left[np.lexsort((left, d))[0]])
        else:
            tree = cls.worker_tree(inst.w_xyz)
            k = 8
            while True:
                k = min(k, len(cls.workers))
                _, near = tree.query(inst.g_xyz[g], k=k)
                near = cls.workers[np.atleast_1d(near)]
                open_ = near[~taken[near]]
                if len(open_):
                    # Equal distances come back in any order: settle them by worker.
                    d = haversine_km(
                        inst.g_lat[g], inst.g_lon[g], inst.w_lat[open_], inst.w_lon[open_]
                    )
                    best = int(open_[np.lexsort((open_, d))[0]])
                    break
                k *= 4
        seat_worker[i] = best
        taken[best] = True
        free -= member[best]
    return inst.result(seat_worker)
