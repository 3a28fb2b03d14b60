"""Screening on PostgreSQL: trace tasks from one match run, a campaign's coverage of a
district, venue-scan ingest through the HTTP API.

    .venv/bin/python bench/screening.py [--residents 1000000] [--tasks 50000]
        [--runs 50] [--seconds 30] [--connections 8] [--skip tasks coverage scans] [--keep]

1. A database of its own (fk_screening_bench), migrated and filled with SQL as
   bench/coverage.py fills it (a district of streets, communities, compounds and buildings
   of ~200 residents in households of 3; secondary indexes built after the load).
2. **tasks**: one match run for a case whose contacts are `--tasks` residents spread over
   the district (a venue each, minutes apart), made into trace tasks by the real service
   (`contacts_to_tasks`: persons made in bulk, deadlines by the policy per community, one
   message a community, the contacts' evidence). Target: 50,000 under 30 s.
3. **coverage**: a campaign launched over the district by the real service (households
   counted per building), 60 % of households screened (counters as the answer service
   moves them), then the district's coverage (totals + one row per street) and one
   building's not-yet list, `--runs` times each. Target: p95 under 500 ms (district).
4. **scans**: gunicorn as in production (deploy/gunicorn.conf.py); wrk posts batches of
   100 scans (`POST /api/v1/screening/scans`, each batch its own client id, made before
   the clock starts) for `--seconds`; scans a second from the batches committed (what
   was acknowledged, durable in the stage, not what was sent); then the staged batches
   are flushed to the Parquet store (`scans_flush`), timed, and the files counted.
   Target: 20,000 scans a second.

The machine is shared: the load average before and after is printed with the figures.
"""

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine  # noqa: E402
from coverage import BASE_URL, DISTRICT, drop, load, percentile, recreate, timed  # noqa: E402
from ingest import POST_LUA, serve, stop, wrk  # noqa: E402

URL = f"{BASE_URL}/fk_screening_bench"
TARGET_TASKS_S, TARGET_COVERAGE_MS, TARGET_SCANS = 30, 500, 20_000

# ingest.py's script, posting to the scans endpoint (a 503's Retry-After honoured too).
SCANS_LUA = POST_LUA.replace("/api/v1/testing/uploads", "/api/v1/screening/scans")


def setup():
    import django

    os.environ["DATABASE_URL"] = URL
    django.setup()


def command_user():
    from fangkong.accounts.models import User
    from fangkong.areas.models import Area
    from fangkong.core.roles import Role

    user, made = User.objects.get_or_create(
        username="bench_command", defaults={"role": Role.COMMAND}
    )
    if made:
        user.areas.set([Area.objects.get(code=DISTRICT)])
    return user


def bench_tasks(n: int, profile: bool = False) -> float:
    from decimal import Decimal

    from django.db import connection

    from fangkong.people import selectors as people
    from fangkong.screening import services
    from fangkong.screening.models import MatchRun, TraceTask
    from fangkong.screening.services import FoundContact

    keys = list(
        people.residents_by_keys_under(DISTRICT, limit=None)
        .order_by("?")
        .values_list("id_hash", flat=True)[: n + 1]
    )
    case_person = services.person_for_resident(people.residents_by_keys([keys[0]]).get())
    run = MatchRun.objects.create(
        case_id=0,
        case_person=case_person,
        area_code=case_person.area_code,
        window_start=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
        window_end=dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
        margin_minutes=30,
    )
    at = dt.datetime(2026, 11, 21, 4, 0, tzinfo=dt.UTC)
    rng = random.Random(7)
    contacts = [
        FoundContact(
            key,
            f"venue-{rng.randrange(2000)}",
            at,
            at + dt.timedelta(minutes=(m := rng.randint(0, 30))),
            Decimal(m),
            1 if rng.random() < 0.8 else 2,
        )
        for key in keys[1:]
    ]
    started, cpu = time.perf_counter(), time.process_time()
    if profile:
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            services.contacts_to_tasks(run=run, contacts=contacts, engine="bench")
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    else:
        services.contacts_to_tasks(run=run, contacts=contacts, engine="bench")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    run.refresh_from_db()
    communities = TraceTask.objects.values("area_code").distinct().count()
    print(
        f"  {run.tasks_created:,} trace tasks from one run ({len(contacts):,} contacts, "
        f"{communities:,} buildings) in {seconds:.1f} s (this process's CPU {cpu:.1f} s); "
        f"target {TARGET_TASKS_S} s: "
        f"{'met' if seconds < TARGET_TASKS_S else 'MISSED'}",
        flush=True,
    )
    with connection.cursor() as c:
        c.execute("SELECT pg_size_pretty(pg_total_relation_size('screening_tracetask'))")
        print(f"  trace task table {c.fetchone()[0]}")
    return seconds


def bench_coverage(runs: int) -> float:
    from django.db import connection
    from django.utils import timezone

    from fangkong.areas.models import Area, Level
    from fangkong.screening import selectors, services

    district = Area.objects.get(code=DISTRICT)
    t = time.perf_counter()
    campaign = services.campaign_launch(
        actor=command_user(),
        name="bench",
        areas=[district],
        deadline=timezone.now() + dt.timedelta(days=1),
    )
    print(f"  campaign launched over the district in {time.perf_counter() - t:.1f} s")
    with connection.cursor() as c:
        c.execute(
            "UPDATE screening_campaigncoverage SET done = (households * (0.4 + "
            "0.4 * (hashtext(area_code) & 1)))::int, open_visited = households / 20 "
            "WHERE campaign_id = %s",
            [campaign.pk],
        )
        c.execute("ANALYZE screening_campaigncoverage")
    buildings = list(Area.objects.filter(level=Level.BUILDING).values_list("code", flat=True))
    rng = random.Random(3)

    def district_coverage():
        selectors.coverage_of_area(campaign, district.code)
        selectors.coverage_children(campaign, district)

    def building_list():
        return list(selectors.not_yet_households(campaign, Area(code=rng.choice(buildings)))[:100])

    for _ in range(3):
        district_coverage()
        building_list()
    d, _ = timed(district_coverage, runs)
    b, _ = timed(building_list, runs)
    total = selectors.coverage_of_area(campaign, district.code)
    print(
        f"  households {total.households:,}, screened {total.done:,} ({total.percent}%), "
        f"not yet {total.not_yet:,}"
    )
    p95 = percentile(d, 95)
    print(
        f"  district coverage (totals + streets)   p50 {statistics.median(d):7.1f} ms  "
        f"p95 {p95:7.1f} ms  max {max(d):7.1f} ms; target p95 {TARGET_COVERAGE_MS} ms: "
        f"{'met' if p95 < TARGET_COVERAGE_MS else 'MISSED'}"
    )
    print(
        f"  one building's not-yet list            p50 {statistics.median(b):7.1f} ms  "
        f"p95 {percentile(b, 95):7.1f} ms  max {max(b):7.1f} ms"
    )
    return p95


def bench_scans(seconds: int, connections: int) -> float:
    from fangkong.accounts.services import token_issue
    from fangkong.core.actors import SYSTEM

    analytics = Path(tempfile.mkdtemp(prefix="fk-scans-"))
    token = token_issue(actor=SYSTEM, user=command_user(), name="bench place-code system")
    bodies = Path(tempfile.mkdtemp()) / "scans.jsonl"
    rng = random.Random(11)
    base = dt.datetime(2026, 11, 21, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with open(bodies, "w") as out:
        for _ in range(40_000):  # more batches than a run sends: none is a replay
            scans = [
                {
                    "venue_code": f"venue-{rng.randrange(50_000)}",
                    "scanned_at": (base + dt.timedelta(seconds=rng.randrange(86400))).isoformat(),
                    "person_key": uuid.uuid4().hex + "00000000",
                }
                for _ in range(100)
            ]
            out.write(json.dumps({"client_id": uuid.uuid4().hex, "scans": scans}) + "\n")
    lua = bodies.with_suffix(".lua")
    lua.write_text(SCANS_LUA)
    port = 8000 + random.Random().randrange(1000, 2000)
    server = serve(URL, port, {"FANGKONG_ANALYTICS_DIR": str(analytics)})
    base_url = f"http://127.0.0.1:{port}"
    try:
        wrk(base_url, seconds=5, connections=connections, lua=lua, args=(str(bodies), "2", token))
        before = _stored(analytics)
        report = wrk(
            base_url,
            seconds=seconds,
            connections=connections,
            lua=lua,
            args=(str(bodies), "2", token),
        )
        stored = _stored(analytics) - before
    finally:
        stop(server)
    from fangkong.screening import services

    os.environ["FANGKONG_ANALYTICS_DIR"] = str(analytics)
    t, cpu = time.perf_counter(), time.process_time()
    written = services.scans_flush()
    t, cpu = time.perf_counter() - t, time.process_time() - cpu
    files = len(list((analytics / "scans").glob("day=*/*.parquet")))
    print(
        f"  flushed {written:,} staged scans to Parquet in {t:.1f} s ({written / t:,.0f} "
        f"scans/s, this process's CPU {cpu:.1f} s): {files} files",
        flush=True,
    )
    rate = stored / report["seconds"]
    print(
        f"  {stored:,} scans stored in {report['seconds']:.1f} s: {rate:,.0f} scans/s "
        f"({report['requests']:,} batches of 100, p50 {report['p50_ms']:.0f} ms, p99 "
        f"{report['p99_ms']:.0f} ms, errors {report['errors']}); target {TARGET_SCANS:,}/s: "
        f"{'met' if rate >= TARGET_SCANS else 'MISSED'}",
        flush=True,
    )
    return rate


def _stored(analytics: Path) -> int:
    """Scans acknowledged: committed with their batch (staged, or flushed already)."""
    from django.db.models import Sum

    from fangkong.screening.models import ScanBatch

    return ScanBatch.objects.filter(source="api").aggregate(n=Sum("rows"))["n"] or 0


def child(args) -> None:
    setup()
    from fangkong.screening.models import TraceTask

    if not args.reuse:
        started = time.perf_counter()
        load(args.residents)
        print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    if "tasks" not in args.skip:
        print("trace tasks from one match run:", flush=True)
        TraceTask.objects.all().delete()
        bench_tasks(args.tasks, args.profile)
    if "coverage" not in args.skip:
        print("campaign coverage:", flush=True)
        bench_coverage(args.runs)
    if "scans" not in args.skip:
        print("venue-scan ingest through the HTTP API:", flush=True)
        bench_scans(args.seconds, args.connections)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--skip", nargs="*", default=[], choices=["tasks", "coverage", "scans"])
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--profile", action="store_true", help="profile the tasks step")
    parser.add_argument("--reuse", action="store_true", help="a kept database, filled")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    sys.path.insert(0, str(ROOT))
    if args.child:
        child(args)
        return 0
    print(f"{dt.datetime.now():%Y-%m-%d %H:%M} machine: {machine()}", flush=True)
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    if not args.reuse:
        recreate(URL)
    env = {**os.environ, "DATABASE_URL": URL}
    try:
        subprocess.run(
            [sys.executable, "-m", "fangkong", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True
        )
        subprocess.run([sys.executable, __file__, "--child", *sys.argv[1:]], env=env, check=True)
    finally:
        if not args.keep:
            drop(URL)
    print(f"after: {machine()}")
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
