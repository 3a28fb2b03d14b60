"""The demo district: `seed_district(residents=N)` builds 零陵区 with N residents.

Streets, communities, compounds and buildings are planned first (tree.py); then,
building by building, households and their people are drawn (population.py), in
batches and for big seeds in parallel (batches.py), and written as they come
(load.py): COPY on PostgreSQL, bulk inserts on SQLite. Memory holds the area plan and
a few batches. Then, on PostgreSQL, the indexes are rebuilt and the tables analysed;
last come the building statistics and the demo users (users.py). Everything happens in
one transaction, so a failed seed leaves nothing behind.
"""

import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from fangkong.areas.models import Area, Level
from fangkong.core.actors import SYSTEM
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict, DomainError
from fangkong.people.services import building_stats_refresh_under

from . import data
from .batches import LANES, generate
from .load import loader_for_connection
from .tree import Plan, plan_district
from .users import DemoLogin, demo_users_create, logins_write

PARALLEL_FROM = 100_000


@dataclass
class SeedResult:
    created: bool
    seed: int = 0
    residents: int = 0
    households: int = 0
    areas: dict[str, int] = field(default_factory=dict)
    logins: list[DemoLogin] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    database_cpu: float | None = None  # the database server's CPU seconds, if readable


def district_exists() -> bool:
    return Area.objects.filter(code=data.DISTRICT_CODE).exists()


def seed_district(
    *,
    residents: int,
    seed: int | None = None,
    if_empty: bool = False,
    logins_path: Path | None = None,
    progress=None,
    workers: int | None = None,
) -> SeedResult:
    """Build the demo district with `residents` people and its demo users.

    `if_empty`: do nothing when the district is already there. `logins_path`: where the
    demo users' passwords are written (never committed). `progress(text)` hears how far
    the load has got. `workers`: processes drawing people (default: one a core, for
    big seeds on PostgreSQL); the district is the same however many.
    """
    if district_exists():
        if if_empty:
            return SeedResult(created=False)
        raise Conflict(
            f"区划{data.DISTRICT_CODE}已存在；请用空数据库，或加 --if-empty",
            f"district {data.DISTRICT_CODE} exists; use an empty database or --if-empty",
        )
    if residents < 100:
        raise DomainError("居民数至少100", "seed at least 100 residents", field="residents")
    seed = random.SystemRandom().randrange(1_000_000) if seed is None else seed
    progress = progress or (lambda text: None)
    result = SeedResult(created=True, seed=seed)
    clock = _Clock(result.seconds)
    with transaction.atomic():
        plan = plan_district(residents, seed)
        areas_create(plan, result)
        clock.lap("areas")
        people_load(plan, result, progress, clock, workers or default_workers(residents))
        building_stats_refresh_under(data.DISTRICT_CODE)
        clock.lap("statistics")
        result.logins = demo_users_create(plan, random.Random(seed))
        audit_record(
            actor=SYSTEM,
            event="people.demo_seed",
            area_code=data.DISTRICT_CODE,
            target_label=data.DISTRICT_NAME,
            detail={"residents": result.residents, "seed": seed},
        )
        clock.lap("users")
    if logins_path is not None:
        logins_write(logins_path, result.logins)
    return result


def areas_create(plan: Plan, result: SeedResult) -> None:
    """Every area of the plan, one bulk insert a level (parents need their ids first)."""
    by_level: dict[int, list] = {}
    for level, area, parent in plan.walk():
        by_level.setdefault(level, []).append((area, parent))
    pks: dict[str, int] = {}
    for level in sorted(by_level):
        rows = [
            Area(
                code=area.code,
                name=area.name,
                level=Level(level),
                parent_id=pks[parent.code] if parent else None,
                built_year=getattr(area, "built_year", None),
            )
            for area, parent in by_level[level]
        ]
        Area.objects.bulk_create(rows, batch_size=1000)
        codes = [a.code for a in rows]
        for start in range(0, len(codes), 1000):
            pks.update(
                Area.objects.filter(code__in=codes[start : start + 1000]).values_list("code", "pk")
            )
        result.areas[Level(level).name.lower()] = len(rows)
    for building in plan.buildings():
        building.pk = pks[building.code]


def people_load(plan: Plan, result: SeedResult, progress, clock: "_Clock", workers: int) -> None:
    """Households and residents, drawn batch by batch and written as they come."""
    loader = loader_for_connection(plan.residents)
    first_id = loader.start()
    today = timezone.localdate()
    for payload in generate(plan, first_id, today, workers, encode=loader.encode):
        loader.write(payload)
        progress(f"{loader.residents_written:,} / {plan.residents:,}")
    clock.lap("people")
    loader.finish()
    clock.lap("indexes")
    result.households = loader.households_written
    result.residents = loader.residents_written
    result.database_cpu = loader.database_cpu_seconds()


def default_workers(residents: int) -> int:
    """Draw big seeds in parallel where the database can take rows that fast."""
    if connection.vendor != "postgresql" or residents < PARALLEL_FROM:
        return 1
    return max(1, min(os.cpu_count() or 1, LANES))


class _Clock:
    def __init__(self, laps: dict[str, float]):
        self.laps = laps
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.last, 2)
        self.last = now
