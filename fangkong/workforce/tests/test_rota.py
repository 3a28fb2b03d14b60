"""Rotas: rest, the weekly cap, no double-booking, balance, and why a shift is short."""

from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.workforce.rota import (
    DAY_ONLY,
    PATTERNS,
    THREE_EIGHTS,
    TWO_TWELVES,
    Gap,
    Post,
    RotaRules,
    RotaWorker,
    build_rota,
    shifts_for,
)


def check_rules(posts, workers, rules, rota):
    by_id = {w.worker_id: w for w in workers}
    pools = {p.post_id: set(p.workers) for p in posts}
    heads = {p.post_id: p.heads for p in posts}
    held = Counter()
    for shift, worker in rota.assignments:
        assert worker in pools[shift.post_id], "a worker outside the post's pool"
        for u0, u1 in by_id[worker].unavailable:
            assert shift.end <= u0 or u1 <= shift.start, "on shift while unavailable"
        held[shift] += 1
    missing = {s.shift: s.missing for s in rota.short}
    for shift in shifts_for(posts, rules.days):
        assert held[shift] + missing.get(shift, 0) == heads[shift.post_id]
    for short in rota.short:
        assert "free" not in short.states, "a free worker was left idle beside a short shift"
        assert short.missing > 0
    for worker in workers:
        shifts = rota.shifts_of(worker.worker_id)
        previous_end = worker.last_end
        block = defaultdict(float)
        for shift in shifts:
            assert shift.start - previous_end >= rules.min_rest_hours, "too little rest"
            previous_end = shift.end
            block[shift.start // 168] += shift.hours
        if 0 in block:
            block[0] += worker.hours_before
        assert all(h <= rules.weekly_cap_hours for h in block.values()), "over the cap"
        assert rota.hours[worker.worker_id] == sum(s.hours for s in shifts)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_a_rota_never_breaks_a_rule(data):
    n = data.draw(st.integers(0, 7))
    workers = [
        RotaWorker(
            f"w{i}",
            hours_before=data.draw(st.sampled_from([0, 8, 30, 44])),
            last_end=data.draw(st.sampled_from([-1e9, -4.0, 0.0])),
            unavailable=data.draw(
                st.lists(
                    st.tuples(st.integers(0, 150), st.integers(1, 30)).map(
                        lambda t: (float(t[0]), float(t[0] + t[1]))
                    ),
                    max_size=2,
                )
            ),
        )
        for i in range(n)
    ]
    ids = [w.worker_id for w in workers]
    posts = [
        Post(
            f"p{j}",
            data.draw(st.sampled_from(list(PATTERNS.values()))),
            tuple(data.draw(st.lists(st.sampled_from(ids), unique=True)) if ids else ()),
            heads=data.draw(st.integers(1, 2)),
        )
        for j in range(data.draw(st.integers(1, 4)))
    ]
    rules = RotaRules(
        days=data.draw(st.integers(1, 9)),
        min_rest_hours=data.draw(st.sampled_from([8.0, 11.0, 16.0])),
        weekly_cap_hours=data.draw(st.sampled_from([24.0, 48.0, 60.0])),
    )
    check_rules(posts, workers, rules, build_rota(posts, workers, rules))


@pytest.mark.parametrize(
    ("pattern", "heads", "pool"), [(THREE_EIGHTS, 2, 10), (TWO_TWELVES, 1, 4), (DAY_ONLY, 3, 6)]
)
def test_every_shift_is_filled_when_there_are_people_enough(pattern, heads, pool):
    workers = [RotaWorker(f"w{i}") for i in range(pool)]
    posts = [Post("gate", pattern, tuple(w.worker_id for w in workers), heads=heads)]
    rules = RotaRules(days=7, min_rest_hours=8, weekly_cap_hours=48)
    rota = build_rota(posts, workers, rules)
    check_rules(posts, workers, rules, rota)
    assert rota.short == []
    assert len(rota.assignments) == 7 * len(pattern.shifts) * heads


def test_hours_are_balanced():
    workers = [RotaWorker(f"w{i}") for i in range(12)]
    posts = [
        Post(f"p{j}", THREE_EIGHTS, tuple(w.worker_id for w in workers), heads=1) for j in range(2)
    ]
    rota = build_rota(posts, workers)
    hours = sorted(rota.hours.values())
    # 2 posts × 21 shifts × 8 h = 336 h over 12 people: 28 h each, within one shift.
    assert sum(hours) == 336
    assert hours[-1] - hours[0] <= 8


def test_hours_worked_before_the_rota_go_last():
    # Both may work (30 + 10 ≤ 48); the one who worked less this week goes.
    tired, fresh = RotaWorker("tired", hours_before=30), RotaWorker("fresh", hours_before=8)
    rota = build_rota([Post("p", DAY_ONLY, ("tired", "fresh"))], [tired, fresh], RotaRules(days=1))
    assert [w for _, w in rota.assignments] == ["fresh"]
    rota = build_rota([Post("p", DAY_ONLY, ("fresh", "tired"))], [fresh, tired], RotaRules(days=1))
    assert [w for _, w in rota.assignments] == ["fresh"]


def test_short_shifts_say_why():
    rules = RotaRules(days=2, min_rest_hours=8, weekly_cap_hours=30)
    workers = [
        RotaWorker("solo"),
        RotaWorker("off", unavailable=((0.0, 48.0),)),
        RotaWorker("capped", hours_before=24),
    ]
    posts = [
        Post("empty", DAY_ONLY, ()),
        Post("night-and-day", TWO_TWELVES, ("solo",)),
        Post("away", DAY_ONLY, ("off",)),
        Post("tired", DAY_ONLY, ("capped",)),
    ]
    rota = build_rota(posts, workers, rules)
    check_rules(posts, workers, rules, rota)
    reasons = {(s.shift.post_id, s.shift.start): s.reason for s in rota.short}
    assert reasons[("empty", 8)] == Gap.NO_WORKERS
    assert reasons[("away", 8)] == Gap.UNAVAILABLE
    assert reasons[("tired", 8)] == Gap.AT_CAP  # 24 + 10 > 30
    # solo works 08–20; 20:00 is too soon; 08:00 the next day is fine; 20:00 too soon.
    assert [s.start for s in rota.shifts_of("solo")] == [8, 32]
    assert reasons[("night-and-day", 20)] == Gap.RESTING
    assert reasons[("night-and-day", 44)] == Gap.RESTING
    # After 24 h, a third shift would break the cap of 30 even when rested.
    assert rota.hours["solo"] == 24


def test_one_person_cannot_stand_at_two_posts_at_once():
    rota = build_rota(
        [Post("a", DAY_ONLY, ("w",)), Post("b", DAY_ONLY, ("w",))],
        [RotaWorker("w")],
        RotaRules(days=1),
    )
    assert len(rota.assignments) == 1
    [short] = rota.short
    assert short.reason == Gap.TAKEN and short.states == {"taken": 1}


def test_a_long_shift_still_running_is_on_shift():
    rules = RotaRules(days=2)
    rota = build_rota(
        [Post("night", TWO_TWELVES, ("w",)), Post("dawn", THREE_EIGHTS, ("w",))],
        [RotaWorker("w", last_end=-12.0)],
        rules,
    )
    assert [(s.post_id, s.start) for s in rota.shifts_of("w")][:2] == [("dawn", 0), ("dawn", 16)]
    reasons = {(s.shift.post_id, s.shift.start): s.reason for s in rota.short}
    assert reasons[("night", 20)] == Gap.ON_SHIFT  # 16–24 still running at 20:00


def test_rest_after_a_shift_before_the_rota_counts():
    rota = build_rota(
        [Post("p", THREE_EIGHTS, ("w",))], [RotaWorker("w", last_end=-2.0)], RotaRules(days=1)
    )
    first = rota.shifts_of("w")[0]
    assert first.start == 8  # not 00:00, two hours after their last shift


@pytest.mark.parametrize("days", [3, 7, 10])
def test_posts_of_every_pattern_sharing_workers_are_all_filled_with_some_slack(days):
    # 2 heads on each of 3 patterns: 2 × (24 + 24 + 10) = 116 h a day, 812 h a week.
    # 24 people at 48 h, less 192 h worked before: 960 h, about 18 % to spare.
    workers = [RotaWorker(f"w{i}", hours_before=8 * (i % 3)) for i in range(24)]
    pool = tuple(w.worker_id for w in workers)
    posts = [Post(p.name, p, pool, heads=2) for p in (THREE_EIGHTS, TWO_TWELVES, DAY_ONLY)]
    rules = RotaRules(days=days)
    rota = build_rota(posts, workers, rules)
    check_rules(posts, workers, rules, rota)
    assert rota.short == []
