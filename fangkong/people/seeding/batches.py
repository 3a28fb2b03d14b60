"""Drawing the rows of households and residents, in batches, optionally in parallel.

Batches are runs of buildings of about CHUNK people. Batch i draws its ID numbers in
lane i % LANES: each lane keeps its own counters and owns every LANES-th sequence
number, so lanes never collide and the rows do not depend on how many processes
draw them. With more than one worker, forked processes draw the lanes and the caller
takes the batches back in order; each queue holds two batches at most, so memory
stays bounded however large the seed.

The workers never touch the database (they inherit the parent's connection but exit
through os._exit, which multiprocessing does, so it is never closed under it).
"""

import datetime as dt
import multiprocessing
import queue
from collections.abc import Iterator

from .population import People
from .tree import Building, Plan

CHUNK = 20_000
LANES = 4

Batch = tuple[list[tuple], list[tuple]]


def batch_rows(plan: Plan, buildings: list[Building], first_id: int, people: People) -> Batch:
    """(household rows, resident rows) of a run of buildings; households numbered on."""
    households: list[tuple] = []
    residents: list[tuple] = []
    household_id = first_id
    for building in buildings:
        rng = plan.building_rng(building)
        for h in building.occupied_households(rng):
            households.append((household_id, building.pk, building.code, h.unit, h.room))
            residents.extend(people.rows(rng, building, h, household_id, h.size))
            household_id += 1
    return households, residents


def _jobs(plan: Plan, first_id: int) -> list[tuple[int, list[Building], int]]:
    jobs = []
    for i, buildings in enumerate(plan.batches(CHUNK)):
        jobs.append((i, buildings, first_id))
        first_id += sum(b.household_count for b in buildings)
    return jobs


def _rows(households, residents):
    return households, residents


def generate(plan: Plan, first_id: int, today: dt.date, workers: int = 1, encode=_rows) -> Iterator:
    """Every batch, in order, as `encode(households, residents)` makes it (where the
    rows are drawn: in the worker processes, if there are any)."""
    jobs = _jobs(plan, first_id)
    if workers <= 1:
        lanes = {lane: People(today, lane=lane, lanes=LANES) for lane in range(LANES)}
        for i, buildings, first in jobs:
            yield encode(*batch_rows(plan, buildings, first, lanes[i % LANES]))
        return
    workers = min(workers, LANES)
    context = multiprocessing.get_context("fork")
    queues = [context.Queue(maxsize=2) for _ in range(workers)]
    processes = [
        context.Process(
            target=_work, args=(plan, jobs, today, w, workers, encode, queues[w]), daemon=True
        )
        for w in range(workers)
    ]
    for p in processes:
        p.start()
    try:
        for i, _buildings, _first in jobs:
            w = (i % LANES) % workers
            yield _take(queues[w], processes[w])
    finally:
        for p in processes:
            if p.is_alive():
                p.terminate()
            p.join()


def _work(plan, jobs, today, worker: int, workers: int, encode, out) -> None:
    lanes = {
        lane: People(today, lane=lane, lanes=LANES)
        for lane in range(LANES)
        if lane % workers == worker
    }
    for i, buildings, first in jobs:
        if i % LANES in lanes:
            out.put(encode(*batch_rows(plan, buildings, first, lanes[i % LANES])))


def _take(q, process):
    while True:
        try:
            return q.get(timeout=1)
        except queue.Empty:
            if not process.is_alive():
                raise RuntimeError(
                    f"a seeding process stopped (exit code {process.exitcode})"
                ) from None
