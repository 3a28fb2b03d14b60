"""The optimal allocation: the most seats filled, and of those fillings the cheapest.

A min-cost flow (OR-Tools `SimpleMinCostFlow.solve_max_flow_with_min_cost`, which finds
a maximum flow first and then the cheapest flow of that value, both exactly) on

    source → worker (capacity 1) → group of identical seats (capacity 1 an arc,
    cost = the seat cost in integer units) → sink (capacity = seats in the group)

with an arc only where the worker may take the seat (required skill, extra rule).

The full graph (20,000 workers × 25,000 seats) would have hundreds of millions of
arcs, so the solver starts from a sparse one (each group's nearest feasible workers,
each worker's nearest feasible groups) and then *proves* that its answer is optimal
on the full graph, adding the arcs that break the proof and solving again:

1. Cardinality: a search over the full residual graph, one feasibility class at a time,
   finds an augmenting path if the filling is not maximum; its arcs are added.
2. Cost: node potentials (shortest distances in the residual graph, by Bellman-Ford)
   certify the sparse optimum; every left-out feasible arc must have a non-negative
   reduced cost. Left-out arcs are checked without enumerating
   them all: cost ≥ distance + hours term, so only workers within a radius of each
   group (a KD-tree ball query) can break the certificate; those are costed exactly.

When both hold, no augmenting path and no negative cycle exists in the full residual
graph: the answer is optimal for the integer costs (see docs/allocation.md).
"""

import time
from collections.abc import Sequence

import numpy as np
from ortools.graph.python import min_cost_flow
from scipy.spatial import cKDTree

from .cost import HOURS_WEIGHT, SCALE, chord_for_km, scaled
from .instance import Instance
from .model import Allocation, Allowed, ExtraCost, Seat, Worker


def allocate(
    workers: Sequence[Worker],
    seats: Sequence[Seat],
    *,
    allowed: Allowed | None = None,
    extra_cost: ExtraCost | None = None,
    neighbours: int = 16,
    batch: int = 64,
    exact: bool = True,
) -> Allocation:
    """Fill as many seats as possible, and of those fillings the cheapest one.

    `allowed(seat)` and `extra_cost(seat, worker_indices)` are the app's extra hard
    constraints and cost terms (see `model.Allowed`, `model.ExtraCost`). `neighbours`
    sizes the first sparse graph; each round of the proof adds at most (seats + `batch`)
    arcs a group; `exact=False` stops after the first solve (a heuristic: fast, not
    proven optimal).
    """
    started = time.perf_counter()
    inst = Instance(workers, seats, allowed=allowed, extra_cost=extra_cost)
    graph = _Graph(inst)
    graph.add(*_initial_arcs(inst, neighbours))
    stats: dict[str, float] = {"groups": inst.G, "classes": len(inst.classes), "rounds": 0}
    stats["build_seconds"] = time.perf_counter() - started
    proved = False
    while True:
        stats["rounds"] += 1
        flow = graph.solve()
        if not exact:
            break
        added = graph.add(*_augmenting_arcs(inst, graph, flow, neighbours))
        if added:
            stats.setdefault("augmenting_arcs", 0)
            stats["augmenting_arcs"] += added
            continue
        potentials = graph.potentials(flow)
        added = graph.add(*_violating_arcs(inst, graph, potentials, per_group=inst.g_cap + batch))
        stats["checked_pairs"] = stats.get("checked_pairs", 0) + graph.checked
        if added:
            stats["violating_arcs"] = stats.get("violating_arcs", 0) + added
            continue
        proved = True
        break
    stats.update(arcs=graph.num_arcs, proved_optimal=proved)
    result = _result(inst, graph, flow)
    stats["seconds"] = time.perf_counter() - started
    result.stats = stats
    return result


# -- the sparse graph -------------------------------------------------------------------


class _Graph:
    """The worker → group arcs chosen so far, and the flow problems built on them."""

    def __init__(self, inst: Instance):
        self.inst = inst
        self.w = np.empty(0, dtype=np.int64)
        self.g = np.empty(0, dtype=np.int64)
        self.cost = np.empty(0, dtype=np.int64)
        self.keys = np.empty(0, dtype=np.int64)  # w * G + g, sorted
        self.checked = 0

    @property
    def num_arcs(self) -> int:
        return len(self.w)

    def add(self, w: np.ndarray, g: np.ndarray) -> int:
        """Add arcs (w[i], g[i]) not there yet; return how many were new."""
        if len(w) == 0:
            return 0
        keys = np.unique(w.astype(np.int64) * self.inst.G + g)
        if len(self.keys):
            at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
            keys = keys[self.keys[at] != keys]
        if len(keys) == 0:
            return 0
        w, g = np.divmod(keys, self.inst.G)
        self.w = np.concatenate([self.w, w])
        self.g = np.concatenate([self.g, g])
        self.cost = np.concatenate([self.cost, scaled(self.inst.arc_costs(w, g))])
        self.keys = np.sort(np.concatenate([self.keys, keys]))
        return len(keys)

    # Nodes: 0 source, 1..n workers, n+1..n+G groups, n+G+1 sink.
    def solve(self) -> np.ndarray:
        """The flow on each arc (0 or 1) of a maximum flow of least cost."""
        inst = self.inst
        n, G = inst.n, inst.G
        if self.num_arcs == 0:
            return np.zeros(0, dtype=np.int64)
        source, sink = 0, n + G + 1
        workers = np.unique(self.w)
        tails = np.concatenate([np.zeros(len(workers), np.int64), 1 + self.w, 1 + n + np.arange(G)])
        heads = np.concatenate([1 + workers, 1 + n + self.g, np.full(G, sink, np.int64)])
        caps = np.concatenate(
            [np.ones(len(workers), np.int64), np.ones(self.num_arcs, np.int64), inst.g_cap]
        )
        costs = np.concatenate([np.zeros(len(workers), np.int64), self.cost, np.zeros(G, np.int64)])
        smcf = min_cost_flow.SimpleMinCostFlow()
        smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
        most = int(min(len(workers), inst.g_cap.sum()))
        smcf.set_node_supply(source, most)
        smcf.set_node_supply(sink, -most)
        status = smcf.solve_max_flow_with_min_cost()
        if status != smcf.OPTIMAL:
            raise RuntimeError(f"min-cost flow failed: {status}")
        first = len(workers)
        return np.asarray(smcf.flows(np.arange(first, first + self.num_arcs)), dtype=np.int64)

    def potentials(self, flow: np.ndarray) -> np.ndarray:
        """Shortest distances in the residual graph of `flow` from a root joined to every
        node by a 0-cost arc (Bellman-Ford, one numpy pass per round over the arcs out of
        the nodes that changed). The flow is optimal, so there is no negative cycle."""
        inst = self.inst
        n, G = inst.n, inst.G
        source, sink = 0, n + G + 1
        nodes = n + G + 2
        used = flow > 0
        assigned = np.zeros(n, dtype=bool)
        assigned[self.w[used]] = True
        filled = np.bincount(self.g[used], minlength=G)
        all_w, all_g = 1 + np.arange(n), 1 + n + np.arange(G)
        open_g, busy_g = filled < inst.g_cap, filled > 0
        parts = [
            # source → free worker, assigned worker → source
            (np.full((~assigned).sum(), source, np.int64), all_w[~assigned], 0),
            (all_w[assigned], np.full(assigned.sum(), source, np.int64), 0),
            # unused arc forward, used arc backward at minus its cost
            (1 + self.w[~used], 1 + n + self.g[~used], self.cost[~used]),
            (1 + n + self.g[used], 1 + self.w[used], -self.cost[used]),
            # group with room → sink, sink → group with someone on it
            (all_g[open_g], np.full(open_g.sum(), sink, np.int64), 0),
            (np.full(busy_g.sum(), sink, np.int64), all_g[busy_g], 0),
        ]
        tails = np.concatenate([p[0] for p in parts])
        heads = np.concatenate([p[1] for p in parts])
        costs = np.concatenate(
            [np.broadcast_to(np.asarray(p[2], np.int64), len(p[0])) for p in parts]
        )
        return _shortest_distances(tails, heads, costs, nodes)


def _shortest_distances(tails, heads, costs, nodes) -> np.ndarray:
    """Bellman-Ford from a virtual root with a 0-cost arc to every node."""
    order = np.argsort(tails, kind="stable")
    tails, heads, costs = tails[order], heads[order], costs[order]
    indptr = np.searchsorted(tails, np.arange(nodes + 1))
    dist = np.zeros(nodes, dtype=np.int64)
    frontier = np.arange(nodes)
    for _ in range(nodes + 1):
        starts = indptr[frontier]
        lens = indptr[frontier + 1] - starts
        total = int(lens.sum())
        if total == 0:
            return dist
        arcs = np.repeat(starts - np.r_[0, np.cumsum(lens)[:-1]], lens) + np.arange(total)
        reach = dist[tails[arcs]] + costs[arcs]
        head = heads[arcs]
        better = reach < dist[head]
        if not better.any():
            return dist
        head, reach = head[better], reach[better]
        order = np.lexsort((reach, head))
        head, reach = head[order], reach[order]
        first = np.r_[True, head[1:] != head[:-1]]
        frontier = head[first]
        dist[frontier] = reach[first]
    raise RuntimeError("potentials: a negative cycle (the flow is not optimal)")


# -- the arcs ---------------------------------------------------------------------------


def _nearest(
    inst: Instance,
    workers: np.ndarray,
    groups: np.ndarray,
    per_group: np.ndarray,
    per_worker: int,
    tree: cKDTree | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Arcs from each group to its per_group[i] nearest of `workers` (`tree`: theirs, if
    made already) and from each worker to its `per_worker` nearest of `groups`."""
    ws, gs = [], []
    want = np.minimum(per_group, len(workers))
    if len(groups) and want.max() > 0:
        tree = tree if tree is not None else cKDTree(inst.w_xyz[workers])
        _, near = tree.query(inst.g_xyz[groups], k=int(want.max()))
        near = near.reshape(len(groups), -1)
        keep = np.arange(near.shape[1]) < want[:, None]
        ws.append(workers[near[keep]])
        gs.append(np.broadcast_to(groups[:, None], near.shape)[keep])
    kg = min(per_worker, len(groups))
    if kg > 0 and len(workers):
        _, near = cKDTree(inst.g_xyz[groups]).query(inst.w_xyz[workers], k=kg)
        ws.append(np.repeat(workers, kg))
        gs.append(groups[near.reshape(len(workers), -1).ravel()])
    if not ws:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(ws), np.concatenate(gs)


def _initial_arcs(inst: Instance, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each group's (seats + k) nearest feasible workers, each worker's k nearest groups."""
    ws, gs = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for cls in inst.classes:
        if len(cls.workers) == 0 or len(cls.groups) == 0:
            continue
        tree = cls.worker_tree(inst.w_xyz)
        w, g = _nearest(inst, cls.workers, cls.groups, inst.g_cap[cls.groups] + k, k, tree)
        ws.append(w)
        gs.append(g)
    return np.concatenate(ws), np.concatenate(gs)


def _augmenting_arcs(inst: Instance, graph: _Graph, flow: np.ndarray, k: int):
    """Arcs of augmenting paths in the FULL residual graph (none: the filling is maximum).

    Breadth first from the free workers, a class at a time: a reached worker reaches
    every group of every class it belongs to (an arc of the full graph); a reached full
    group reaches the workers on it. When a layer reaches groups with room, each of them
    is joined to its nearest workers of that layer (and each of those workers to its
    nearest groups with room), and every such worker's path back to a free worker is
    added: enough arcs for the solver to find many augmenting paths at once.
    """
    n, G = inst.n, inst.G
    used = flow > 0
    on = np.full(n, -1, dtype=np.int64)
    on[graph.w[used]] = graph.g[used]
    filled = np.bincount(graph.g[used], minlength=G)
    spare = inst.g_cap - filled
    reached_w = on < 0
    came_from = np.full(G, -1, dtype=np.int64)  # a worker through whom a group is reached
    pending = [c for c, cls in enumerate(inst.classes) if len(cls.groups)]
    frontier = np.flatnonzero(reached_w)
    while len(frontier) and pending:
        layer = []
        still = []
        for c in pending:
            cls = inst.classes[c]
            members = frontier[cls.mask[frontier]]
            if len(members):
                _, nearest = cKDTree(inst.w_xyz[members]).query(inst.g_xyz[cls.groups], k=1)
                came_from[cls.groups] = members[nearest]
                layer.append((cls, members))
            else:
                still.append(c)
        pending = still
        if not layer:
            break
        ws, gs = [], []
        for cls, members in layer:
            room = cls.groups[spare[cls.groups] > 0]
            if len(room):
                w, g = _nearest(inst, members, room, spare[room] + k, k)
                ws.append(w)
                gs.append(g)
        if ws:
            w, g = np.concatenate(ws), np.concatenate(gs)
            back_w, back_g = [], []
            for start in np.unique(w).tolist():
                x = start
                while on[x] >= 0:
                    back_w.append(came_from[on[x]])
                    back_g.append(on[x])
                    x = back_w[-1]
            return np.r_[w, np.array(back_w, np.int64)], np.r_[g, np.array(back_g, np.int64)]
        groups = np.concatenate([cls.groups for cls, _ in layer])
        nxt = np.flatnonzero(np.isin(on, groups) & ~reached_w)
        reached_w[nxt] = True
        frontier = nxt
    return np.empty(0, np.int64), np.empty(0, np.int64)


def _violating_arcs(
    inst: Instance,
    graph: _Graph,
    dist: np.ndarray,
    *,
    per_group: np.ndarray | None = None,
    bins: int = 32,
):
    """Feasible arcs not in the graph with a negative reduced cost under the potentials
    `dist` (at most `per_group[g]` of them for group g, the most negative).

    Arc (w, g) has reduced cost c(w, g) + dist[w] − dist[g], and c ≥ SCALE·(distance +
    hours term) − ½ (rounding; the other terms are ≥ 0), so it can be negative only if
    distance < (dist[g] − weight[w] + ½) / SCALE with weight = dist[w] + SCALE·hours term.
    Workers are cut into bins by weight, so each bin's radius is tight; the pairs within
    it are costed exactly.
    """
    n = inst.n
    d_w, d_g = dist[1 : 1 + n], dist[1 + n : 1 + n + inst.G]
    weight = d_w + SCALE * HOURS_WEIGHT * inst.w_hours
    ws, gs, rs = [], [], []
    graph.checked = 0
    for cls in inst.classes:
        if len(cls.workers) == 0 or len(cls.groups) == 0:
            continue
        by_weight = cls.workers[np.argsort(weight[cls.workers], kind="stable")]
        for part in np.array_split(by_weight, min(bins, len(by_weight))):
            radius = (d_g[cls.groups] - weight[part[0]] + 0.5) / SCALE
            near = radius > 0
            if not near.any():
                continue
            groups = cls.groups[near]
            hits = cKDTree(inst.w_xyz[part]).query_ball_point(
                inst.g_xyz[groups], chord_for_km(radius[near]) * (1 + 1e-9) + 1e-12
            )
            lens = np.fromiter((len(h) for h in hits), np.int64, len(hits))
            if lens.sum() == 0:
                continue
            w = part[np.concatenate([np.asarray(h, np.int64) for h in hits if h])]
            g = np.repeat(groups, lens)
            graph.checked += len(w)
            reduced = scaled(inst.arc_costs(w, g)) + d_w[w] - d_g[g]
            # All new arcs: the graph's unused arcs have reduced cost ≥ 0 (they are
            # residual arcs), its used ones exactly 0 (an assigned worker is reached
            # only through its group, at minus the arc's cost).
            bad = reduced < 0
            ws.append(w[bad])
            gs.append(g[bad])
            rs.append(reduced[bad])
    if not ws:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    w, g, reduced = np.concatenate(ws), np.concatenate(gs), np.concatenate(rs)
    if per_group is not None and len(g):
        # The most negative arcs of each group only: the rest mostly stop being
        # negative once these are in, and a smaller graph solves faster.
        order = np.lexsort((reduced, g))
        w, g = w[order], g[order]
        first = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
        rank = np.arange(len(g)) - np.repeat(first, np.diff(np.r_[first, len(g)]))
        keep = rank < per_group[g]
        w, g = w[keep], g[keep]
    return w, g


# -- the answer -------------------------------------------------------------------------


def _result(inst: Instance, graph: _Graph, flow: np.ndarray) -> Allocation:
    used = flow > 0 if len(flow) else np.zeros(0, dtype=bool)
    w_used, g_used = graph.w[used], graph.g[used]
    # Workers of a group, in worker order, go to its seats in seat order.
    order = np.lexsort((w_used, g_used))
    group_workers: dict[int, list[int]] = {}
    for w, g in zip(w_used[order].tolist(), g_used[order].tolist(), strict=True):
        group_workers.setdefault(g, []).append(w)
    for queue in group_workers.values():
        queue.reverse()
    seat_worker = np.full(len(inst.seats), -1, dtype=np.int64)
    for i, g in enumerate(inst.seat_group.tolist()):
        waiting = group_workers.get(g)
        if waiting:
            seat_worker[i] = waiting.pop()
    return inst.result(seat_worker)
