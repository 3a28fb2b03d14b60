"""One building's not-yet-sampled list, cold: the first query after PostgreSQL restarts.

    FANGKONG_BENCH_PG=postgres://postgres@127.0.0.1:5499 \\
    .venv/bin/python bench/building_cold.py --residents 1000000 \\
        --restart "pg_ctl -D /path/to/data -l /path/to/log restart -m fast -w" \\
        [--buildings 10] [--database NAME] [--drop-os-cache]

(Give pg_ctl a log file: without -l the restarted server keeps the benchmark's output
pipe open and the restart never returns.)

Needs a database kept by `bench/coverage.py --keep` (fk_coverage_<residents>, a round
half sampled) on a PostgreSQL server of the benchmark's own, since it is restarted
before every measured query (never the shared one). For each of --buildings random
buildings: restart the server (its shared buffers are empty after), open a connection,
time `unsampled_residents(round, building)[:100]` through the ORM, then count the pages
the query brought into shared buffers, by relation (pg_buffercache): the pages a cold
query touches, which is what its time depends on when they come from disk. The
operating system's page cache is not dropped (that would slow every other process on
the machine), so the times are those of a restart with the OS cache warm; the page
counts hold either way. With --drop-os-cache (root) it is dropped too, after each
restart: every page then comes from the disk, as after a reboot. Target: 50 ms.

--database names the database (default fk_coverage_<residents>).
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine  # noqa: E402

BASE_URL = os.environ.get("FANGKONG_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
TARGET_MS = 50
PAGES = """
SELECT c.relname, count(*) FROM pg_buffercache b
JOIN pg_class c ON b.relfilenode = pg_relation_filenode(c.oid)
WHERE b.reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
AND c.relnamespace = 'public'::regnamespace GROUP BY c.relname ORDER BY 2 DESC
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--restart", required=True, help="shell command restarting the server")
    parser.add_argument("--buildings", type=int, default=10)
    parser.add_argument("--database", help="the database's name (default fk_coverage_<residents>)")
    parser.add_argument(
        "--drop-os-cache",
        action="store_true",
        help="also drop the OS page cache after each restart (root; slows the whole machine: "
        "keep such a run short)",
    )
    parser.add_argument(
        "--plain-exists", action="store_true", help="the list as before: plain NOT EXISTS"
    )
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"{BASE_URL}/{args.database or f'fk_coverage_{args.residents}'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    from fangkong.areas.models import Area
    from fangkong.testing import selectors
    from fangkong.testing.models import TestingRound

    if args.plain_exists:
        from django.db.models import Exists

        selectors.Probe = Exists

    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_buffercache")
    rnd = TestingRound.objects.get(name="bench")
    codes = list(Area.objects.filter(level=5).values_list("code", flat=True))
    rng = random.Random(11)
    print(f"machine: {machine()}")
    cache = "dropped before each query" if args.drop_os_cache else "warm (not dropped)"
    print(f"{args.residents:,} residents, {len(codes):,} buildings; OS page cache {cache}")
    times, totals = [], []
    for _ in range(args.buildings):
        building = Area(code=rng.choice(codes))
        connection.close()
        subprocess.run(args.restart, shell=True, check=True, capture_output=True)
        if args.drop_os_cache:
            os.sync()
            Path("/proc/sys/vm/drop_caches").write_text("1\n")
        connection.ensure_connection()
        started = time.perf_counter()
        rows = list(selectors.unsampled_residents(rnd, building)[:100])
        ms = (time.perf_counter() - started) * 1000
        with connection.cursor() as cursor:
            cursor.execute(PAGES)
            pages = cursor.fetchall()
        total = sum(n for _, n in pages)
        times.append(ms)
        totals.append(total)
        detail = ", ".join(f"{name} {n}" for name, n in pages[:6])
        print(f"  {building.code}: {len(rows):3d} rows {ms:7.1f} ms, {total:4d} pages ({detail})")
    print(
        f"cold first query: p50 {statistics.median(times):.1f} ms, max {max(times):.1f} ms "
        f"(target {TARGET_MS} ms: {'met' if max(times) < TARGET_MS else 'MISSED'}); "
        f"pages touched p50 {statistics.median(totals):.0f}"
    )
    print(f"after: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
