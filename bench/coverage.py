"""Coverage of a whole district and one building's not-yet-sampled list, with a round
half done, at 1,000,000 and 10,000,000 residents on PostgreSQL.

    .venv/bin/python bench/coverage.py [--residents 1000000 10000000] [--keep] [--reuse]
        [--database NAME]

For each size, a database of its own (fk_coverage_<size>, or --database) is made and filled with SQL
(generate_series, INSERT … SELECT; the residents' secondary indexes are dropped for the
load and built again after, as one would for a bulk load): a district of streets,
communities, compounds and buildings of ~200 residents in households of 3. A round is
launched over the district through the real service (which snapshots the expected
counts), then half of the residents are sampled (tubes of 10, samples, first-sample
markers, the building counters moved as the upload path moves them) and 1% of the
rest are exempt. Then, after ANALYZE:

- district coverage: `coverage_of_area` + `coverage_children` (what the coverage page
  and API compute for a district: totals and one row per street), repeated;
- one building's not-yet-sampled list: the first page (100) of `unsampled_residents`,
  for random buildings, repeated.

Prints p50/p95/max of each, the time each load step took, the database size, EXPLAIN
ANALYZE of both queries; then drops the database (unless --keep; --reuse measures a
kept one again without building it).
Targets: p95 500 ms (district) and 50 ms (building).
"""

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine  # noqa: E402

BASE_URL = os.environ.get("FANGKONG_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
TARGET_DISTRICT_MS, TARGET_BUILDING_MS = 500, 50
DISTRICT = "439901"
HOUSEHOLD = 3  # residents a household
HOUSEHOLDS = 67  # households a building: ~200 residents


def shape(residents: int) -> tuple[int, int, int, int]:
    """(streets, communities a street, compounds a community, buildings a compound)."""
    buildings = max(1, round(residents / (HOUSEHOLD * HOUSEHOLDS)))
    if buildings >= 25_000:
        return 20, 25, 10, max(1, round(buildings / 5000))
    streets = max(1, min(20, buildings // 500))
    return streets, 10, 5, max(1, buildings // (streets * 50))


def pg(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def step(label: str, started: float) -> float:
    now = time.perf_counter()
    print(f"  {label:<52} {now - started:7.1f} s", flush=True)
    return now


def recreate(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(pg(f"{BASE_URL}/postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def exists(url: str) -> bool:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(pg(f"{BASE_URL}/postgres"), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return found is not None


def drop(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(pg(f"{BASE_URL}/postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load(residents: int) -> None:
    """Fill the tree, households, residents and building statistics with SQL."""
    from django.db import connection

    streets, communities, compounds, buildings = shape(residents)
    t = time.perf_counter()
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO areas_area (code, name, level, parent_id) VALUES (%s, '基准区', 1, NULL)",
            [DISTRICT],
        )
        for level, per, label in (
            (2, streets, "街道"),
            (3, communities, "社区"),
            (4, compounds, "小区"),
            (5, buildings, "号楼"),
        ):
            c.execute(
                "INSERT INTO areas_area (code, name, level, parent_id) "
                "SELECT p.code || lpad(n::text, 3, '0'), n || %s, %s, p.id "
                "FROM areas_area p, generate_series(1, %s) n WHERE p.level = %s",
                [label, level, per, level - 1],
            )
        c.execute("SELECT count(*) FROM areas_area WHERE level = 5")
        n_buildings = c.fetchone()[0]
        t = step(f"tree: {n_buildings:,} buildings", t)
        c.execute(
            "INSERT INTO areas_household (building_id, area_code, unit, room, created_at) "
            "SELECT b.id, b.code, ((h - 1) / 20 + 1)::text, lpad(h::text, 4, '0'), now() "
            "FROM areas_area b, generate_series(1, %s) h WHERE b.level = 5",
            [HOUSEHOLDS],
        )
        t = step("households", t)
        # Load without the secondary indexes, then build them (as for any bulk load).
        c.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'people_resident' "
            "AND indexname <> 'people_resident_pkey' AND indexname NOT LIKE '%%_key' "
            # An index behind a constraint (resident_unique_id) stays: it cannot be
            # dropped alone, and the load keeps it correct.
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = indexname)"
        )
        indexes = c.fetchall()
        for name, _ in indexes:
            c.execute(f'DROP INDEX "{name}"')
        c.execute(
            "INSERT INTO people_resident (name, name_pinyin, name_initials, id_type, id_cipher, "
            "id_hash, id_tail, id_masked, phone_cipher, phone_hash, phone_tail, phone_masked, "
            "sex, birth_date, household_id, area_code, residency, tags, language, treatment, "
            "note, created_at, updated_at) "
            "SELECT '居民' || h.id || '-' || r, 'jumin', 'jm', 'ID', '\\x00'::bytea, "
            "md5(h.id || '-' || r), lpad(((h.id * 7 + r) %% 10000)::text, 4, '0'), "
            "'4399**********' || lpad(((h.id * 7 + r) %% 10000)::text, 4, '0'), "
            "'\\x00'::bytea, md5('p' || h.id || '-' || r), '0000', '138****0000', "
            "CASE WHEN r %% 2 = 0 THEN 'F' ELSE 'M' END, "
            "date '1940-01-01' + ((h.id * 31 + r * 17) %% 29000)::int, "
            "h.id, h.area_code, 'permanent', CASE WHEN (h.id + r) %% 97 = 0 THEN 4 ELSE 0 END, "
            "'', '', '', now(), now() "
            "FROM areas_household h, generate_series(1, %s) r",
            [HOUSEHOLD],
        )
        t = step(f"residents ({c.rowcount:,})", t)
        for _, definition in indexes:
            c.execute(definition)
        t = step(f"residents' {len(indexes)} secondary indexes", t)
        c.execute(
            "INSERT INTO areas_buildingstats (building_id, code, households, residents, aged_70, "
            "bedridden, living_alone, tenants, aged_70_alone, disabled, regular_treatment, "
            'pregnant, infant, no_smartphone, "foreign", stranded_student, refreshed_at) '
            "SELECT b.id, b.code, count(DISTINCT r.household_id), count(r.id), 0, "
            "count(r.id) FILTER (WHERE r.tags & 4 = 4), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, now() "
            "FROM areas_area b JOIN people_resident r ON r.area_code = b.code "
            "WHERE b.level = 5 GROUP BY b.id, b.code"
        )
        step("building statistics", t)


def launch_and_half_sample(residents: int):
    """A round over the district (the real service), half of everyone sampled."""
    from django.db import connection
    from django.utils import timezone

    from fangkong.accounts.models import Role, User
    from fangkong.areas.models import Area
    from fangkong.testing import services

    district = Area.objects.get(code=DISTRICT)
    command = User.objects.create(username="bench_command", role=Role.COMMAND)
    command.areas.set([district])
    t = time.perf_counter()
    rnd = services.round_launch(
        actor=command,
        name="bench",
        areas=[district],
        starts_at=timezone.now() - dt.timedelta(hours=4),
        deadline=timezone.now() + dt.timedelta(hours=8),
    )
    t = step("round launched (expected counts snapshotted)", t)
    community = Area.objects.filter(level=3).order_by("code").first()
    site = services.site_create(actor=command, area=community, name="基准采样点", channels=2)
    channel = site.channels.order_by("name").first()
    with connection.cursor() as c:
        # Half the residents, spread over all buildings unevenly: some buildings done.
        c.execute(
            "CREATE TEMP TABLE picked AS SELECT id, area_code, "
            "(row_number() OVER (ORDER BY area_code, id) - 1) / 10 AS tube_no "
            "FROM people_resident WHERE (hashtext(id::text) & 1023) < "
            "512 + 400 * sin(hashtext(area_code)::float)"
        )
        c.execute("SELECT count(*) FROM picked")
        sampled = c.fetchone()[0]
        c.execute(
            "INSERT INTO testing_tube (barcode, round_id, via, site_id, channel_id, area_code, "
            "pool_size, pool_source, sample_count, opened_at, sealed_at, created_at, device_id) "
            "SELECT 'C' || lpad(tube_no::text, 10, '0'), %s, 'site', %s, %s, %s, 10, 2, "
            "count(*), now(), now(), now(), 'bench' FROM picked GROUP BY tube_no",
            [rnd.pk, site.pk, channel.pk, site.area_code],
        )
        c.execute(
            "INSERT INTO testing_sample (client_id, round_id, tube_id, resident_id, area_code, "
            "at, received_at, flags, via, site_id, channel_id, device_id, id_type, id_cipher, "
            "id_hash, id_masked) "
            "SELECT md5('s' || p.id), %s, t.id, p.id, p.area_code, now(), now(), 0, 'site', "
            "%s, %s, 'bench', '', '\\x'::bytea, '', '' "
            "FROM picked p JOIN testing_tube t ON t.barcode = 'C' || lpad(p.tube_no::text, 10, '0')",
            [rnd.pk, site.pk, channel.pk],
        )
        c.execute(
            "INSERT INTO testing_firstsample (round_id, resident_id, area_code, sample_id, at, "
            "client_id) SELECT s.round_id, s.resident_id, s.area_code, s.id, s.at, s.client_id "
            "FROM testing_sample s WHERE s.round_id = %s",
            [rnd.pk],
        )
        c.execute(
            "UPDATE testing_buildingcoverage c SET sampled = f.n FROM (SELECT area_code, count(*) n "
            "FROM testing_firstsample WHERE round_id = %s GROUP BY area_code) f "
            "WHERE c.round_id = %s AND c.area_code = f.area_code",
            [rnd.pk, rnd.pk],
        )
        t = step(f"half sampled: {sampled:,} samples, markers, counters", t)
        c.execute(
            "INSERT INTO testing_exemption (round_id, resident_id, area_code, reason, note, "
            "granted_at, end_reason) SELECT %s, r.id, r.area_code, 'away', '', now(), '' "
            "FROM people_resident r WHERE hashtext('x' || r.id::text) & 127 = 0 "
            "AND NOT EXISTS (SELECT 1 FROM picked p WHERE p.id = r.id)",
            [rnd.pk],
        )
        c.execute(
            "UPDATE testing_buildingcoverage c SET exempt = e.n FROM (SELECT area_code, count(*) n "
            "FROM testing_exemption WHERE round_id = %s GROUP BY area_code) e "
            "WHERE c.round_id = %s AND c.area_code = e.area_code",
            [rnd.pk, rnd.pk],
        )
        t = step("exemptions (~1% of the rest)", t)
        c.execute("ANALYZE")
        step("ANALYZE", t)
        c.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        print(f"  database size {c.fetchone()[0]}")
    return rnd, sampled


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(fn, runs: int) -> tuple[list[float], float]:
    """Wall times (ms) of `runs` calls, and this process's mean CPU a call (ms)."""
    times = []
    cpu = time.process_time()
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times, (time.process_time() - cpu) * 1000 / runs


def explain(sql: str, params) -> None:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        for (line,) in c.fetchall():
            print("    " + line)


def measure(rnd, runs: int) -> tuple[float, float]:
    from fangkong.areas.models import Area
    from fangkong.testing import selectors

    district = Area.objects.get(code=DISTRICT)
    buildings = list(Area.objects.filter(level=5).values_list("code", flat=True))
    rng = random.Random(3)

    def district_coverage():
        selectors.coverage_of_area(rnd, district.code)
        selectors.coverage_children(rnd, district)

    def building_list():
        building = Area(code=rng.choice(buildings))
        return list(selectors.unsampled_residents(rnd, building)[:100])

    for _ in range(3):  # warm the caches as a running server would be
        district_coverage()
        building_list()
    d, d_cpu = timed(district_coverage, runs)
    b, b_cpu = timed(building_list, runs * 4)
    total = selectors.coverage_of_area(rnd, district.code)
    print(
        f"  coverage: expected {total.expected:,}, sampled {total.sampled:,} "
        f"({total.percent}%), exempt {total.exempt:,}, not yet {total.unsampled:,}"
    )
    for label, times, cpu, target in (
        ("district coverage (totals + streets)", d, d_cpu, TARGET_DISTRICT_MS),
        ("one building's not-yet-sampled list", b, b_cpu, TARGET_BUILDING_MS),
    ):
        p95 = percentile(times, 95)
        print(
            f"  {label:<40} p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  "
            f"max {max(times):7.1f} ms  (Python CPU {cpu:.1f} ms a call)  target p95 "
            f"{target} ms: {'met' if p95 < target else 'MISSED'}"
        )
    qs = selectors.unsampled_residents(rnd, Area(code=buildings[len(buildings) // 2]))[:100]
    sql, params = qs.query.sql_with_params()
    print("  EXPLAIN ANALYZE, one building's list:")
    explain(sql, params)
    from django.db.models import Sum

    from fangkong.testing.models import BuildingCoverage

    agg = BuildingCoverage.objects.filter(round=rnd, area_code__startswith=DISTRICT).values("round")
    sql, params = agg.annotate(n=Sum("sampled")).query.sql_with_params()
    print("  EXPLAIN ANALYZE, district sum:")
    explain(sql, params)
    return percentile(d, 95), percentile(b, 95)


def run(residents: int, runs: int, reuse: bool) -> None:
    """One size, in this process, against the database in $DATABASE_URL."""
    import django

    django.setup()
    from fangkong.testing.models import TestingRound

    print(f"\n{residents:,} residents (database {os.environ['DATABASE_URL'].rsplit('/', 1)[1]})")
    rnd = TestingRound.objects.filter(name="bench").first() if reuse else None
    if rnd is None:
        started = time.perf_counter()
        load(residents)
        rnd, _ = launch_and_half_sample(residents)
        print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    else:
        print("  reusing the database built before (--reuse)")
    measure(rnd, runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database again")
    parser.add_argument(
        "--database", help="the database's name (default fk_coverage_<residents>); one size only"
    )
    parser.add_argument("--only", type=int, help=argparse.SUPPRESS)  # one size, in a child
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    sys.path.insert(0, str(ROOT))
    if args.only:
        run(args.only, args.runs, args.reuse)
        return 0
    print(f"machine: {machine()}", flush=True)
    if args.database and len(args.residents) > 1:
        parser.error("--database names one database: give one --residents")
    for n in args.residents:
        url = f"{BASE_URL}/{args.database or f'fk_coverage_{n}'}"
        if not (args.reuse and exists(url)):
            recreate(url)
        env = {**os.environ, "DATABASE_URL": url}
        try:
            subprocess.run(
                [sys.executable, "-m", "fangkong", "migrate", "-v", "0"],
                env=env,
                cwd=ROOT,
                check=True,
            )
            child = [sys.executable, __file__, "--only", str(n), "--runs", str(args.runs)]
            subprocess.run(child + (["--reuse"] if args.reuse else []), env=env, check=True)
        finally:
            if not args.keep:
                drop(url)
                print("  database dropped", flush=True)
    print(f"after: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
