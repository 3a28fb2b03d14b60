"""Dorfman's expected tests per person, prevalence from pools, and the advisor's choice."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.labs import advisor


def test_expected_tests_at_one_percent():
    assert advisor.expected_tests(0.01, 10) == pytest.approx(0.1 + 1 - 0.99**10)
    assert advisor.expected_tests(0.01, 10) == pytest.approx(0.19562, abs=1e-5)


def test_the_best_integer_pool_at_one_percent_is_eleven():
    best = advisor.best_pool(0.01, range(1, 51))
    assert best == 11
    assert advisor.expected_tests(0.01, 11) == pytest.approx(0.196, abs=5e-4)


def test_among_the_allowed_sizes_ten_wins_at_one_percent():
    assert advisor.best_pool(0.01, (1, 5, 10, 20)) == 10


def test_single_tubes_cost_one_test_a_person():
    assert advisor.expected_tests(0.3, 1) == 1.0


def test_at_high_prevalence_single_tubes_win():
    # Dorfman pooling stops paying above p ≈ 0.31.
    assert advisor.best_pool(0.35, (1, 5, 10, 20)) == 1


def test_with_no_positives_the_largest_pool_wins():
    advice = advisor.advise({10: (500, 0), 20: (100, 0)}, (1, 5, 10, 20))
    assert advice.prevalence == 0.0
    assert advice.recommended == 20
    assert advice.people == 500 * 10 + 100 * 20


def test_prevalence_from_one_pool_size_is_the_closed_form():
    # 10 positive pools of 1,000 pools of 10: q = 0.01, p = 1 − 0.99^(1/10).
    assert advisor.prevalence({10: (1000, 10)}) == pytest.approx(1 - 0.99 ** (1 / 10))


def test_prevalence_from_several_sizes_recovers_the_truth():
    p = 0.004
    counts = {
        k: (n, round(n * (1 - (1 - p) ** k))) for k, n in ((1, 5000), (10, 20000), (20, 8000))
    }
    assert advisor.prevalence(counts) == pytest.approx(p, rel=0.03)


def test_prevalence_combines_sizes_between_their_own_estimates():
    counts = {10: (1000, 30), 20: (1000, 30)}
    alone = [advisor.prevalence({k: v}) for k, v in counts.items()]
    assert min(alone) < advisor.prevalence(counts) < max(alone)


@given(
    st.floats(min_value=1e-6, max_value=0.3),
    st.sampled_from([2, 5, 10, 20]),
)
def test_dorfman_saves_tests_whenever_the_formula_says_so(p, k):
    e = advisor.expected_tests(p, k)
    assert 1 / k <= e <= 1 / k + 1
    assert math.isclose(e, 1 / k + 1 - (1 - p) ** k)


@given(st.integers(min_value=1, max_value=999), st.sampled_from([1, 5, 10, 20]))
def test_one_size_estimate_inverts_the_pool_rate(positives, k):
    q = positives / 1000
    p = advisor.prevalence({k: (1000, positives)})
    assert 1 - (1 - p) ** k == pytest.approx(q)
