"""Allocate 20,000 workers to 2,000 requests needing 25,000 seats (target: under 10 s).

    .venv/bin/python bench/allocate.py [--workers 20000] [--requests 2000] [--seats 25000]
                                        [--seed 1] [--no-cli]

Draws a city (Lanzhou's size: 300 communities over about 50 × 30 km), workers living in
its communities with skills (some scarce: sign language, hazardous materials,
counselling, English), and requests at community sites asking for seats with a required
and a preferred skill, more seats than workers, and more demand for the scarce skills
than there are people who have them, so some seats cannot be filled. Then it times

1. the solver (`fangkong.workforce.allocation.allocate`) on the objects in memory,
2. the greedy baseline on the same input (nearest free feasible worker, seat by seat),
3. `fangkong allocate` end to end on CSV files (parsing, solving, writing),

and prints filled seats, cost and seconds for each, and by how much the optimum beats
the greedy baseline. The same draw end to end on PostgreSQL, through the app's
`allocation_run`: `bench/workforce.py allocate`.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, cpu_probe, machine  # noqa: E402
from fangkong.workforce.allocation import Seat, Worker, allocate, allocate_greedy  # noqa: E402
from fangkong.workforce.allocation.files import write_seats, write_workers  # noqa: E402

CENTRE = (36.06, 103.83)  # Lanzhou
# skill: share of workers who have it, share of seats that require it
SKILLS = {
    "driving": (0.30, 0.14),
    "data_entry": (0.25, 0.10),
    "heavy_lifting": (0.25, 0.08),
    "dialect": (0.15, 0.0),
    "sampling_cert": (0.08, 0.10),
    "medical": (0.05, 0.06),
    "counselling": (0.02, 0.03),
    "english": (0.015, 0.015),
    "sign_language": (0.002, 0.01),
    "hazmat": (0.001, 0.005),
    # asked for, and nobody has it: those seats are unfilled for want of the skill
    "tibetan": (0.0, 0.002),
}
PREFERRED = ["dialect", "medical", "driving", "english", ""]


def generate(workers: int, requests: int, seats: int, seed: int):
    rng = np.random.default_rng(seed)
    km_lat = 1 / 111.2
    km_lon = 1 / (111.2 * np.cos(np.radians(CENTRE[0])))
    communities = np.column_stack(
        (
            CENTRE[0] + rng.uniform(-15, 15, 300) * km_lat,
            CENTRE[1] + rng.uniform(-25, 25, 300) * km_lon,
        )
    )
    names = list(SKILLS)
    have = np.array([SKILLS[s][0] for s in names])
    home = rng.integers(0, len(communities), workers)
    lat = communities[home, 0] + rng.normal(0, 0.3, workers) * km_lat
    lon = communities[home, 1] + rng.normal(0, 0.3, workers) * km_lon
    skilled = rng.random((workers, len(names))) < have
    hours = np.round(rng.gamma(2.0, 10.0, workers), 1)
    people = [
        Worker(
            f"W{i:06d}",
            round(float(lat[i]), 6),
            round(float(lon[i]), 6),
            frozenset(n for n, s in zip(names, skilled[i], strict=True) if s),
            float(hours[i]),
        )
        for i in range(workers)
    ]

    # Seats per request: 1 to 30, adding up to `seats`.
    sizes = rng.integers(1, 25, requests)
    sizes = np.maximum(1, np.round(sizes * seats / sizes.sum())).astype(int)
    while sizes.sum() != seats:
        i = rng.integers(0, requests)
        if sizes.sum() > seats and sizes[i] > 1:
            sizes[i] -= 1
        elif sizes.sum() < seats:
            sizes[i] += 1
    need = np.array([SKILLS[s][1] for s in names])
    need = np.r_[need, 1 - need.sum()]
    places = rng.integers(0, len(communities), requests)
    wanted = []
    for r in range(requests):
        r_lat = communities[places[r], 0] + rng.normal(0, 1.0) * km_lat
        r_lon = communities[places[r], 1] + rng.normal(0, 1.0) * km_lon
        # A request asks for one or two kinds of seat.
        kinds = [(names + [""])[rng.choice(len(need), p=need)] for _ in range(rng.integers(1, 3))]
        prefs = [PREFERRED[rng.integers(0, len(PREFERRED))] for _ in kinds]
        for j in range(sizes[r]):
            k = j % len(kinds)
            wanted.append(
                Seat(
                    f"S{len(wanted):06d}",
                    f"R{r:05d}",
                    round(float(r_lat), 6),
                    round(float(r_lon), 6),
                    kinds[k],
                    prefs[k] if prefs[k] != kinds[k] else "",
                )
            )
    return people, wanted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--seats", type=int, default=25_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-cli", action="store_true", help="skip the command-line run")
    args = parser.parse_args()
    print(f"machine: {machine()}; CPU probe {cpu_probe():.3f} s")
    started = time.perf_counter()
    workers, seats = generate(args.workers, args.requests, args.seats, args.seed)
    print(
        f"input: {len(workers):,} workers, {len(seats):,} seats in "
        f"{len({s.request_id for s in seats}):,} requests "
        f"(drawn in {time.perf_counter() - started:.1f} s)"
    )

    started, cpu = time.perf_counter(), time.process_time()
    best = allocate(workers, seats)
    solver_s, solver_cpu = time.perf_counter() - started, time.process_time() - cpu
    st = best.stats
    print(
        f"optimal: filled {best.filled:,}, cost {best.cost:,.3f}, {solver_s:.2f} s "
        f"({solver_cpu:.2f} s CPU) "
        f"({st['groups']:,} seat groups, {st['classes']} classes, {st['arcs']:,} arcs, "
        f"{st['rounds']} rounds, {st.get('checked_pairs', 0):,} pairs checked, "
        f"proved optimal: {st['proved_optimal']})"
    )
    reasons: dict[str, int] = {}
    for u in best.unfilled:
        reasons[u.reason.value] = reasons.get(u.reason.value, 0) + 1
    print(f"unfilled: {len(best.unfilled):,} {reasons}")

    started, cpu = time.perf_counter(), time.process_time()
    greedy = allocate_greedy(workers, seats)
    greedy_s, greedy_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"greedy:  filled {greedy.filled:,}, cost {greedy.cost:,.3f}, {greedy_s:.2f} s "
        f"({greedy_cpu:.2f} s CPU)"
    )
    print(
        f"optimal vs greedy: {best.filled - greedy.filled:+,} seats filled; "
        f"cost {best.cost - greedy.cost:+,.3f} "
        f"({(best.cost - greedy.cost) / greedy.cost:+.1%}); "
        f"cost a filled seat {best.cost / max(best.filled, 1):.3f} vs "
        f"{greedy.cost / max(greedy.filled, 1):.3f}"
    )

    if not args.no_cli:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            write_workers(tmp / "workers.csv", workers)
            write_seats(tmp / "seats.csv", seats)
            started = time.perf_counter()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run(
                [sys.executable, "-m", "fangkong", "allocate", "--workers", tmp / "workers.csv"]
                + ["--seats", tmp / "seats.csv", "--out", tmp / "assignment.csv"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            last = json.loads(done.stdout.strip().splitlines()[-1])
            print(done.stdout.strip().splitlines()[0])
            print(
                f"command: filled {last['filled']:,}, cost {last['cost']:,.3f}, "
                f"{last['seconds']:.2f} s inside, {wall:.2f} s with interpreter start-up "
                f"({cpu:.2f} s CPU)"
            )
    print(f"load after: {machine().rsplit('load average ', 1)[1]}")


if __name__ == "__main__":
    main()
