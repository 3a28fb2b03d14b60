"""The optimal allocation against an independent reference (SciPy's Hungarian method on
the dense cost matrix), the hard constraints, the unfilled seats' reasons, the greedy
baseline."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from fangkong.workforce.allocation import (
    EARTH_RADIUS_KM,
    Seat,
    Unfilled,
    Worker,
    allocate,
    allocate_greedy,
    haversine_km,
    pair_cost,
)

SKILLS = ("a", "b", "c")
# Spots where several seats (and workers) stand, so identical seats get grouped.
SPOTS = [(36.0 + 0.013 * i, 103.8 + 0.021 * ((i * 7) % 5)) for i in range(6)]


def reference(workers, seats, allowed=None, extra=None):
    """(filled, cost) of the lexicographic optimum from the dense matrix."""
    if not workers or not seats:
        return 0, 0.0
    cost = np.zeros((len(workers), len(seats)))
    feasible = np.zeros_like(cost, dtype=bool)
    for i, w in enumerate(workers):
        for j, s in enumerate(seats):
            ok = not s.required_skill or s.required_skill in w.skills
            if allowed is not None and allowed(s) is not None:
                ok = ok and w.worker_id in allowed(s)
            feasible[i, j] = ok
            cost[i, j] = pair_cost(w, s) + (extra(s, np.array([i]))[0] if extra else 0.0)
    # Each filled seat earns a reward larger than any total cost: the optimum of the
    # rewarded problem fills the most seats, then costs the least.
    reward = 1e6
    rows, cols = linear_sum_assignment(np.where(feasible, cost - reward, 0.0))
    chosen = feasible[rows, cols]
    return int(chosen.sum()), float(cost[rows, cols][chosen].sum())


def check_hard_constraints(workers, seats, result, allowed=None, extra=None):
    by_id = {w.worker_id: w for w in workers}
    seat_ids = {s.seat_id for s in seats}
    assert set(result.assignment) <= seat_ids
    taken = list(result.assignment.values())
    assert len(taken) == len(set(taken)), "a worker holds two seats"
    for seat in seats:
        worker = result.assignment.get(seat.seat_id)
        if worker is None:
            continue
        if seat.required_skill:
            assert seat.required_skill in by_id[worker].skills
        if allowed is not None and allowed(seat) is not None:
            assert worker in allowed(seat)
    assert {u.seat_id for u in result.unfilled} == seat_ids - set(result.assignment)
    assert (
        result.cost
        == pytest.approx(
            sum(
                pair_cost(by_id[w], next(s for s in seats if s.seat_id == sid))
                for sid, w in result.assignment.items()
            )
        )
        or allowed is not None
    )


def check_reasons(workers, seats, result, allowed=None):
    taken = set(result.assignment.values())
    for u in result.unfilled:
        seat = next(s for s in seats if s.seat_id == u.seat_id)
        skilled = [w for w in workers if not seat.required_skill or seat.required_skill in w.skills]
        rule = allowed(seat) if allowed is not None else None
        feasible = [w for w in skilled if rule is None or w.worker_id in rule]
        assert (u.with_skill, u.candidates) == (len(skilled), len(feasible))
        if u.reason == Unfilled.NO_SKILL:
            assert seat.required_skill and not skilled
        elif u.reason == Unfilled.UNAVAILABLE:
            assert not feasible
        else:
            # A maximum filling: everyone who could take this seat has another one.
            assert feasible and all(w.worker_id in taken for w in feasible)


workers_st = st.lists(
    st.builds(
        Worker,
        worker_id=st.just(""),
        lat=st.floats(36.0, 36.1),
        lon=st.floats(103.8, 103.9),
        skills=st.frozensets(st.sampled_from(SKILLS), max_size=2),
        hours_7d=st.floats(0, 60).map(lambda h: round(h, 1)),
    ),
    max_size=9,
).map(lambda ws: [Worker(f"w{i}", w.lat, w.lon, w.skills, w.hours_7d) for i, w in enumerate(ws)])

seats_st = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(SPOTS),
        st.sampled_from(("",) + SKILLS + ("d",)),
        st.sampled_from(("",) + SKILLS),
    ),
    max_size=11,
).map(
    lambda rows: [
        Seat(f"s{i}", f"r{r}", lat, lon, req, pref)
        for i, (r, (lat, lon), req, pref) in enumerate(rows)
    ]
)

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(workers_st, seats_st, st.integers(1, 3), st.integers(0, 2))
def test_the_allocation_is_the_optimum_of_the_dense_problem(workers, seats, neighbours, batch):
    # Few neighbours: the first sparse graph misses arcs, so the proof has to add them,
    # a few at a time.
    result = allocate(workers, seats, neighbours=neighbours, batch=batch)
    check_hard_constraints(workers, seats, result)
    check_reasons(workers, seats, result)
    filled, cost = reference(workers, seats)
    assert result.filled == filled
    # Optimal for costs rounded to 0.001: within 0.001 a seat of the float optimum.
    assert result.cost == pytest.approx(cost, abs=0.001 * filled + 1e-9)
    assert result.stats["proved_optimal"]


@FAST
@given(workers_st, seats_st)
def test_the_allocation_is_never_worse_than_the_greedy_baseline(workers, seats):
    best, greedy = allocate(workers, seats), allocate_greedy(workers, seats)
    check_hard_constraints(workers, seats, greedy)
    assert best.filled >= greedy.filled
    if best.filled == greedy.filled:
        assert best.cost <= greedy.cost + 0.001 * best.filled + 1e-9


@FAST
@given(workers_st, seats_st, st.data())
def test_extra_rules_and_costs_from_the_app_hold(workers, seats, data):
    # Per request, the workers available then; a penalty for leaving one's "own" request.
    ids = [w.worker_id for w in workers]
    available = {
        f"r{r}": frozenset(data.draw(st.sets(st.sampled_from(ids))) if ids else ())
        for r in range(3)
    }
    own = {i: f"r{i % 3}" for i in range(len(workers))}

    def allowed(seat):
        return available[seat.request_id] if seat.request_id != "r2" else None

    def extra(seat, indices):
        return np.array([0.0 if own[i] == seat.request_id else 2.5 for i in indices.tolist()])

    result = allocate(workers, seats, allowed=allowed, extra_cost=extra, neighbours=1)
    check_hard_constraints(workers, seats, result, allowed, extra)
    check_reasons(workers, seats, result, allowed)
    filled, cost = reference(workers, seats, allowed, extra)
    assert result.filled == filled
    assert result.cost == pytest.approx(cost, abs=0.001 * filled + 1e-9)


def random_instance(rng, workers, seats, requests):
    skills = ["a", "b", "c", "rare"]
    have = np.array([0.4, 0.3, 0.2, 0.01])
    ws = [
        Worker(
            f"w{i}",
            36 + rng.uniform(0, 0.3),
            103.7 + rng.uniform(0, 0.4),
            frozenset(s for s, p in zip(skills, have, strict=True) if rng.random() < p),
            float(rng.integers(0, 50)),
        )
        for i in range(workers)
    ]
    places = [(36 + rng.uniform(0, 0.3), 103.7 + rng.uniform(0, 0.4)) for _ in range(requests)]
    ss = []
    for i in range(seats):
        r = int(rng.integers(0, requests))
        req = rng.choice(["", "", "a", "b", "c", "rare"])
        ss.append(Seat(f"s{i}", f"r{r}", *places[r], str(req), str(rng.choice(["", "a", "c"]))))
    return ws, ss


@pytest.mark.parametrize(("workers", "seats", "neighbours"), [(150, 220, 1), (220, 150, 2)])
def test_a_larger_instance_from_a_poor_first_graph_reaches_the_optimum(workers, seats, neighbours):
    ws, ss = random_instance(np.random.default_rng(workers), workers, seats, 25)
    result = allocate(ws, ss, neighbours=neighbours, batch=0)
    assert result.stats["rounds"] > 1  # the proof did add arcs
    check_hard_constraints(ws, ss, result)
    filled, cost = reference(ws, ss)
    assert result.filled == filled
    assert result.cost == pytest.approx(cost, abs=0.001 * filled)
    greedy = allocate_greedy(ws, ss)
    assert (result.filled, -result.cost) >= (greedy.filled, -greedy.cost)


def test_unfilled_seats_say_why():
    here = (36.05, 103.80)
    workers = [
        Worker("driver", *here, frozenset({"driving"}), 0),
        Worker("nurse", *here, frozenset({"medical"}), 0),
    ]
    seats = [
        Seat("s-drive-1", "r1", *here, "driving"),
        Seat("s-drive-2", "r1", *here, "driving"),
        Seat("s-sign", "r1", *here, "sign_language"),
        Seat("s-med", "r2", *here, "medical"),
    ]
    result = allocate(
        workers, seats, allowed=lambda s: frozenset() if s.request_id == "r2" else None
    )
    reasons = {u.seat_id: u.reason for u in result.unfilled}
    assert result.filled == 1 and result.assignment["s-drive-1"] == "driver"
    assert reasons == {
        "s-drive-2": Unfilled.ALL_TAKEN,
        "s-sign": Unfilled.NO_SKILL,
        "s-med": Unfilled.UNAVAILABLE,
    }


def test_a_scarce_worker_goes_where_only_they_can_go():
    # Greedy gives the near seat (no skill needed) to the only medic; the optimum sends
    # the medic to the medical seat and fills both.
    workers = [Worker("medic", 36.0, 103.8, frozenset({"medical"})), Worker("any", 36.2, 103.8)]
    seats = [Seat("near", "r1", 36.0, 103.8), Seat("med", "r2", 36.01, 103.8, "medical")]
    assert allocate_greedy(workers, seats).filled == 1
    best = allocate(workers, seats)
    assert best.assignment == {"near": "any", "med": "medic"}


def test_the_cost_is_distance_plus_penalty_plus_hours():
    worker = Worker("w", 36.0, 103.8, frozenset({"a"}), hours_7d=40)
    seat = Seat("s", "r", 36.1, 103.8, preferred_skill="b")
    km = EARTH_RADIUS_KM * np.radians(0.1)  # along a meridian
    assert float(haversine_km(36.0, 103.8, 36.1, 103.8)) == pytest.approx(km, rel=1e-12)
    assert pair_cost(worker, seat) == pytest.approx(km + 3 + 0.4)
    result = allocate([worker], [seat])
    assert result.cost == pytest.approx(km + 3.4)


def test_a_negative_extra_cost_is_refused():
    with pytest.raises(ValueError, match="≥ 0"):
        allocate(
            [Worker("w", 36, 103)],
            [Seat("s", "r", 36, 103)],
            extra_cost=lambda seat, idx: -np.ones(len(idx)),
        )


def test_nothing_to_allocate():
    assert allocate([], []).filled == 0
    result = allocate([], [Seat("s", "r", 36, 103)])
    assert [u.reason for u in result.unfilled] == [Unfilled.UNAVAILABLE]
    assert allocate([Worker("w", 36, 103)], []).assignment == {}
