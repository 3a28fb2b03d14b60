"""A 7-day rota for 1,000 posts from 6,000 workers (target: under 5 s).

    .venv/bin/python bench/rota.py [--posts 1000] [--workers 6000] [--days 7] [--seed 1]

Posts stand in 200 communities (five each), with a mix of patterns: 3 × 8 h around the
clock (40 %), 2 × 12 h (30 %), day only (30 %), one person a shift (two at 30 %). Each post is
filled from its community's workers (30 each on average, drawn unevenly, so some
communities are short and their gaps show), some of whom worked earlier in the week or
are off for a day. Prints the time, heads filled, the short shifts by reason, and the
spread of hours.
"""

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import cpu_probe, machine  # noqa: E402
from fangkong.workforce.rota import (  # noqa: E402
    DAY_ONLY,
    THREE_EIGHTS,
    TWO_TWELVES,
    Post,
    RotaRules,
    RotaWorker,
    build_rota,
)


def generate(posts: int, workers: int, days: int, seed: int):
    rng = np.random.default_rng(seed)
    communities = max(1, posts // 5)
    home = rng.choice(communities, workers, p=rng.dirichlet(np.full(communities, 20.0)))
    people = []
    for i in range(workers):
        off = ()
        if rng.random() < 0.05:  # a day off (or in quarantine)
            day = int(rng.integers(0, days))
            off = ((day * 24.0, day * 24.0 + 24.0),)
        people.append(
            RotaWorker(f"W{i:05d}", hours_before=float(rng.choice([0, 0, 8, 16])), unavailable=off)
        )
    pools = [[] for _ in range(communities)]
    for i, c in enumerate(home):
        pools[c].append(people[i].worker_id)
    patterns = [THREE_EIGHTS, TWO_TWELVES, DAY_ONLY]
    stands = [
        Post(
            f"P{p:04d}",
            patterns[rng.choice(3, p=[0.4, 0.3, 0.3])],
            tuple(pools[p % communities]),
            heads=int(rng.choice([1, 2], p=[0.7, 0.3])),
        )
        for p in range(posts)
    ]
    return stands, people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=6_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {machine()}; CPU probe {cpu_probe():.3f} s")
    posts, workers = generate(args.posts, args.workers, args.days, args.seed)
    rules = RotaRules(days=args.days)
    wall, cpu = time.perf_counter(), time.process_time()
    rota = build_rota(posts, workers, rules)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    st = rota.stats
    print(
        f"rota: {len(posts):,} posts, {len(workers):,} workers, {args.days} days: "
        f"{st['shifts']:,} shifts in {st['slices']} time slices, {st['heads']:,} heads"
    )
    print(f"time: {wall:.2f} s ({cpu:.2f} s CPU)")
    missing = sum(s.missing for s in rota.short)
    print(
        f"filled {st['filled']:,} of {st['heads']:,} heads ({st['filled'] / st['heads']:.1%}); "
        f"{len(rota.short):,} shifts short of {missing:,} people, by reason: "
        f"{dict(Counter(s.reason.value for s in rota.short))}"
    )
    worked = np.array([h for h in rota.hours.values() if h > 0])
    if len(worked):
        print(
            f"hours of the {len(worked):,} workers on the rota: min {worked.min():.0f}, "
            f"median {np.median(worked):.0f}, max {worked.max():.0f} (cap {rules.weekly_cap_hours:g})"
        )
    print(f"load after: {machine().rsplit('load average ', 1)[1]}")


if __name__ == "__main__":
    main()
