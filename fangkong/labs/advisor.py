"""Pool-size advice: prevalence from pooled results, Dorfman's expected tests per person.

Two-stage (Dorfman) pooling with pools of k people: one test for the pool, and when it is
positive one test for each member. With individual prevalence p and independent members,
a pool is negative with probability (1 − p)^k, so the expected tests per person are

    E(k) = 1/k + 1 − (1 − p)^k      (k ≥ 2),      E(1) = 1 (no second stage).

Prevalence from pools. A pool of k is positive unless all k are negative:
q_k = 1 − (1 − p)^k, so one pool size alone gives p = 1 − (1 − q_k)^(1/k). Results come
in several sizes at once (single tubes in sealed zones, 10 in controlled, 20 elsewhere),
so `prevalence` takes the maximum-likelihood p over all of them: the log-likelihood

    L(p) = Σ_k [ x_k · log(1 − (1 − p)^k) + (n_k − x_k) · k · log(1 − p) ]

(n_k pools of size k with a result, x_k of them positive) is concave in p, so a golden-
section search finds its maximum; with one size it is the closed form above. Invalid
tubes say nothing about infection and are left out. No positive at all gives p = 0.
Sizes the data come from are weighted by how many people they cover, which is what the
likelihood does: a size with few tubes moves p little.
"""

import math
from dataclasses import dataclass

_GOLDEN = (math.sqrt(5) - 1) / 2


def expected_tests(p: float, k: int) -> float:
    """Dorfman's expected tests per person for pools of `k` at prevalence `p`."""
    if k < 1:
        raise ValueError("pool size must be at least 1")
    if not 0 <= p <= 1:
        raise ValueError("prevalence must lie in [0, 1]")
    if k == 1:
        return 1.0
    return 1 / k + 1 - (1 - p) ** k


def best_pool(p: float, sizes) -> int:
    """The allowed size with the fewest expected tests (the smaller one on a tie)."""
    return min(sorted(sizes), key=lambda k: (round(expected_tests(p, k), 12), k))


def _log_likelihood(p: float, counts: dict[int, tuple[int, int]]) -> float:
    total = 0.0
    log_neg = math.log1p(-p)
    for k, (n, x) in counts.items():
        if x:
            total += x * math.log(-math.expm1(k * log_neg))
        total += (n - x) * k * log_neg
    return total


def prevalence(counts: dict[int, tuple[int, int]]) -> float:
    """Maximum-likelihood individual prevalence from {pool size: (pools, positive pools)}."""
    counts = {k: (n, x) for k, (n, x) in counts.items() if n > 0 and k >= 1}
    if not counts or not any(x for _, x in counts.values()):
        return 0.0
    if all(x == n for n, x in counts.values()):
        return 1.0
    if len(counts) == 1:
        ((k, (n, x)),) = counts.items()
        return 1 - (1 - x / n) ** (1 / k)
    lo, hi = 1e-12, 1 - 1e-12
    a, b = hi - _GOLDEN * (hi - lo), lo + _GOLDEN * (hi - lo)
    fa, fb = _log_likelihood(a, counts), _log_likelihood(b, counts)
    for _ in range(200):
        if hi - lo < 1e-12:
            break
        if fa < fb:
            lo, a, fa = a, b, fb
            b = lo + _GOLDEN * (hi - lo)
            fb = _log_likelihood(b, counts)
        else:
            hi, b, fb = b, a, fa
            a = hi - _GOLDEN * (hi - lo)
            fa = _log_likelihood(a, counts)
    return (lo + hi) / 2


@dataclass
class Advice:
    prevalence: float
    pools: int  # pools with a negative or positive result that the estimate rests on
    positives: int
    people: int  # people those pools held (by pool size)
    table: list[tuple[int, float]]  # (k, E(k)) for each allowed size
    recommended: int
    by_size: dict[int, tuple[int, int]]  # {k: (pools, positive pools)}


def advise(counts: dict[int, tuple[int, int]], sizes) -> Advice:
    p = prevalence(counts)
    table = [(k, expected_tests(p, k)) for k in sorted(sizes)]
    return Advice(
        prevalence=p,
        pools=sum(n for n, _ in counts.values()),
        positives=sum(x for _, x in counts.values()),
        people=sum(n * k for k, (n, _) in counts.items()),
        table=table,
        recommended=best_pool(p, sizes),
        by_size=dict(sorted(counts.items())),
    )
