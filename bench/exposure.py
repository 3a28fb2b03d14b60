"""Exposure matching over generated venue scans: DuckDB at 100,000,000, Spark beside
DuckDB at 10,000,000.

    .venv/bin/python bench/exposure.py                       # both runs
    .venv/bin/python bench/exposure.py --scans 100000000 --engines duckdb
    .venv/bin/python bench/exposure.py --scans 10000000 --engines duckdb,local[2]

Target: 100,000,000 scans against 1,000 case windows on DuckDB in under 60 s.

The scans are made by DuckDB's own SQL generators straight into the store's layout
(store.py: `day=YYYY-MM-DD/b-<batch>-0.parquet`, sorted by venue and time, zstd), in
bench/out/exposure-<N>/ (git-ignored), and kept for the next run (`--fresh` makes
them anew). A city of 10,000,000 people (1,000,000 for 10M scans), 14 days from
2026-11-09 UTC, 200,000 venues (20,000), each scan a uniform draw of person, venue,
day and second, so each person scans about 10 times; person keys are 40 hex
characters (sha256 of the person number), as stored keys are.

The 1,000 cases are people number k × 9,973 (mod the city); each case's window starts
on day 3 + (k mod 9) at midnight UTC and lasts 2 to 4 days. Margin: 30 minutes.

Timed: `matching.match_stored` (reading the Parquet, both joins, ranking, fetching the
contacts), on each engine named, in this process, one after another; Spark's time
includes starting its JVM once. Printed: seconds, contacts, pairs, peak RSS of this
process (DuckDB runs inside it; for Spark, the JVM is a child process and its peak is
shown separately), the CPU seconds of this process (DuckDB's threads; for Spark only
the Python side), and the load average before and after: on a shared machine the CPU
seconds say what the work costs, the wall clock what the neighbours left of it.
"""

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from _common import machine  # noqa: E402

OUT = ROOT / "bench" / "out"
START = dt.datetime(2026, 11, 9, tzinfo=dt.UTC)
DAYS = 14
CASES = 1000
TARGET_S = 60


def generate(folder: Path, scans: int, people: int, venues: int) -> None:
    import duckdb

    scans_dir = folder / "scans"
    con = duckdb.connect(config={"memory_limit": "6GB", "temp_directory": str(folder / "tmp")})
    con.execute("SET TimeZone = 'UTC'")
    per_day = scans // DAYS
    for day in range(DAYS):
        date = (START + dt.timedelta(days=day)).date().isoformat()
        target = scans_dir / f"day={date}"
        target.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        # setseed + random() makes each day the same on every run.
        con.execute(f"SELECT setseed({(day + 1) / 100})")
        con.execute(
            f"""
            COPY (
              SELECT substr(sha256(CAST(p AS VARCHAR)), 1, 40) AS person_key,
                     'V' || lpad(CAST(v AS VARCHAR), 6, '0') AS venue_code,
                     TIMESTAMPTZ '{date} 00:00:00+00' + to_microseconds(s) AS scanned_at
              FROM (
                SELECT CAST(floor(random() * {people}) AS BIGINT) AS p,
                       CAST(floor(random() * {venues}) AS BIGINT) AS v,
                       CAST(floor(random() * 86400000000) AS BIGINT) AS s
                FROM range({per_day})
              )
              ORDER BY venue_code, scanned_at
            ) TO '{target}/b-bench-0.parquet' (FORMAT parquet, COMPRESSION zstd)
            """
        )
        print(f"  {date}: {per_day:,} scans in {time.perf_counter() - started:.1f} s", flush=True)
    con.close()
    (folder / "done").write_text(f"{scans} {people} {venues}\n")


def cases_for(people: int):
    import duckdb

    from fangkong.screening.analytics.matching import CaseWindow

    numbers = [(k * 9973) % people for k in range(CASES)]
    con = duckdb.connect()
    keys = dict(
        con.execute(
            "SELECT p, substr(sha256(CAST(p AS VARCHAR)), 1, 40) FROM unnest(?) t(p)", [numbers]
        ).fetchall()
    )
    cases = []
    for k, number in enumerate(numbers):
        start = START + dt.timedelta(days=3 + k % 9)
        cases.append(
            CaseWindow(f"C{k:04d}", keys[number], start, start + dt.timedelta(days=2 + k % 3))
        )
    return cases


def jvm_peak_kib() -> int:
    """Peak RSS of the Spark JVM (the java child of this process), from /proc."""
    try:
        children = subprocess.run(
            ["pgrep", "-P", str(os.getpid()), "java"], capture_output=True, text=True
        ).stdout.split()
        for pid in children:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scans", type=int, nargs="+", default=[100_000_000, 10_000_000])
    parser.add_argument(
        "--engines",
        default=None,
        help="comma-separated; default: duckdb for 100M, duckdb,local[2] for 10M",
    )
    parser.add_argument("--margin-minutes", type=float, default=30)
    parser.add_argument("--fresh", action="store_true", help="generate the scans anew")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    import django

    django.setup()
    from fangkong.screening.analytics.conf import analytics_conf
    from fangkong.screening.analytics.matching import match_stored

    print(f"machine: {machine()}")
    print(f"date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    for scans in args.scans:
        people = 10_000_000 if scans >= 50_000_000 else max(scans // 10, 1000)
        venues = max(people // 50, 100)
        folder = OUT / f"exposure-{scans}"
        if args.fresh or not (folder / "done").exists():
            print(f"generating {scans:,} scans, {people:,} people, {venues:,} venues → {folder}")
            started = time.perf_counter()
            generate(folder, scans, people, venues)
            print(f"generated in {time.perf_counter() - started:.1f} s")
        size = sum(p.stat().st_size for p in (folder / "scans").rglob("*.parquet"))
        print(f"\n{scans:,} scans ({size / 2**30:.2f} GiB of Parquet), {CASES} cases")
        cases = cases_for(people)
        engines = (args.engines or ("duckdb" if scans >= 50_000_000 else "duckdb,local[2]")).split(
            ","
        )
        os.environ["FANGKONG_ANALYTICS_DIR"] = str(folder)
        os.environ.setdefault("FANGKONG_ANALYTICS_TEMP_DIR", str(OUT / "exposure-tmp"))
        conf = analytics_conf()
        results = {}
        for engine in engines:
            load = os.getloadavg()[0]
            before = resource.getrusage(resource.RUSAGE_SELF)
            result = match_stored(
                cases=cases, margin_minutes=args.margin_minutes, engine=engine, conf=conf
            )
            usage = resource.getrusage(resource.RUSAGE_SELF)
            peak = usage.ru_maxrss / 1024
            cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
            jvm = jvm_peak_kib() / 1024
            results[engine] = result.contacts
            print(
                f"  {result.engine:<16} {result.seconds:7.1f} s  contacts {result.people:,}  "
                f"pairs {len(result.contacts):,}  CPU {cpu:.1f} s (this process)  "
                f"peak RSS {peak:,.0f} MiB"
                + (f" (+ JVM {jvm:,.0f} MiB)" if jvm else "")
                + f"  load {load:.2f} → {os.getloadavg()[0]:.2f}"
                + (
                    f"  memory_limit {conf.memory_limit}, threads {conf.threads}"
                    if engine == "duckdb"
                    else ""
                )
            )
            if engine == "duckdb" and scans >= 50_000_000:
                verdict = "met" if result.seconds < TARGET_S else "MISSED"
                print(f"  target < {TARGET_S} s: {verdict}")
        first = next(iter(results.values()))
        if all(r == first for r in results.values()) and len(results) > 1:
            print("  every engine gave the same contacts")
        elif len(results) > 1:
            print("  ENGINES DISAGREE")


if __name__ == "__main__":
    main()
