"""Workforce benchmarks on PostgreSQL.

    .venv/bin/python bench/workforce.py callout [--workers 5000] [--accepting 500] [--needed 50]
    .venv/bin/python bench/workforce.py report-in [--cadres 20000] [--connections 8]
    .venv/bin/python bench/workforce.py allocate [--workers 20000] [--requests 2000] [--seats 25000]

A database of its own (default fk_workforce_bench) is dropped, made and migrated; the
district is built with `fangkong seed` (small: the benches need its areas), and the
workers are written in bulk before the clock starts.

callout: 5,000 available workers near one place, each with a login; a call-out for
`--needed` people is posted through the service (the fan-out: select, one response row
and one notification a worker, a text message each after commit) and timed; then
`--accepting` of them accept at the same instant: all are submitted at once to
`--server-threads` threads, each with its own database connection (as server workers
would take them), and each answer is timed from that instant. Prints the fan-out's server time (the
service's own, and the text messages after commit), how many got it (must be exactly
`--needed`), how many were told it was filled, and the acceptances' p50/p99.
Target: exactly N accepted; the fan-out under 1 s of server time.

report-in: `--cadres` workers with bearer tokens report in at their communities through
the real HTTP API (gunicorn with deploy/gunicorn.conf.py, as in production), each a
`POST /api/v1/workforce/report-ins` with the community's signed code as a phone sends it
after scanning; `--connections` clients send as fast as the server answers. Prints the
sustained report-ins a second (from rows in the database) and the p50/p99 latency; the
goal is 20,000 in 30 minutes (11 a second) with room to spare (a Lanzhou morning).

allocate: the issue's allocation end to end on PostgreSQL. The input of
bench/allocate.py (same draw, same seed) is written into the app's tables: one community
with a map point per drawn request, the workers at their drawn places with their skills,
hours on duty in the last 7 days as closed attendance rows, and one staffing request per
kind of seat of a drawn request (a drawn request asks for one or two kinds; the app's
request has one required skill), over the next 7 days, 08:00-17:00 by day and, for a
tenth of them, 20:00-08:00 (a quarter of the workers take nights). Then the command
centre's `services.allocation_run` over the district is timed: workers, skills, teams,
placements and hours loaded from the database, the app's hard constraints (availability,
nights, placements) and cost terms, the solver, the greedy baseline on the same input,
25,000 proposed seats stored with their costs or their reasons. Target: under 10 s.
"""

import argparse
import datetime as dt
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, cpu_probe, fangkong, machine  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/fk_workforce_bench"
PLACE = (26.22, 111.62)


def fresh_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    base = url.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    fangkong("migrate", "--noinput", "-v", "0", url=url)
    logins = ROOT / "bench" / "out"
    logins.mkdir(exist_ok=True)
    fangkong(
        "seed",
        "--residents",
        "2000",
        "--logins-file",
        str(logins / "wf-logins.json"),
        url=url,
        stdout=subprocess.DEVNULL,
    )


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    os.environ.setdefault("FANGKONG_SMS_BACKEND", "fangkong.core.messaging.DatabaseBackend")
    import django

    django.setup()


def worker_row(i: int, home, lat: float, lon: float, **fields):
    """The i-th bench worker (unique ID number for up to lcm(40, 12, 28, 1000) = 21,000
    workers), living and serving at `home`, encrypted as the app stores them."""
    from fangkong.core import pii
    from fangkong.core.idnumbers import make_mainland, parse_mainland
    from fangkong.workforce.models import Worker, worker_id_hash

    birth = dt.date(1960 + i % 40, 1 + i % 12, 1 + i % 28)
    doc = parse_mainland(make_mainland("431102", birth, i % 1000))
    w = Worker(
        name=f"干部{i}",
        home_community=home,
        home_code=home.code,
        area_code=home.code,
        lat=lat,
        lon=lon,
        **fields,
    )
    w.id_type = doc.type
    w.id_cipher = pii.encrypt(doc.number)
    w.id_hash = worker_id_hash(doc.type, doc.number)
    w.id_masked = doc.masked
    return w


ROUND_THE_CLOCK = {"nights": True, "day_from": dt.time(0), "day_until": dt.time(23, 59, 59)}


def make_workers(n: int, *, tokens: bool = False) -> list[tuple[int, str, str]]:
    """n available workers spread over the district's communities (all within 3 km of
    PLACE), each with a login, offering every hour (so a call-out reaches them whenever
    the bench runs); returns (worker id, community code, bearer key or "")."""
    import random

    from django.db import transaction

    from fangkong.accounts.models import ApiToken, User
    from fangkong.areas.models import Area, Level
    from fangkong.core.roles import Role
    from fangkong.workforce.models import AreaPoint, Worker

    rng = random.Random(7)
    communities = list(Area.objects.filter(level=Level.COMMUNITY).order_by("code"))
    points = []
    for c in communities:
        lat = PLACE[0] + rng.uniform(-0.02, 0.02)
        lon = PLACE[1] + rng.uniform(-0.02, 0.02)
        AreaPoint.objects.update_or_create(
            area=c, defaults={"code": c.code, "lat": lat, "lon": lon}
        )
        points.append((c, lat, lon))
    out = []
    with transaction.atomic():
        users = User.objects.bulk_create(
            [User(username=f"wf{i:06d}", role=Role.WORKER, password="!") for i in range(n)],
            batch_size=5000,
        )
        rows = []
        for i, user in enumerate(users):
            c, lat, lon = points[i % len(points)]
            w = worker_row(i, c, lat, lon, user=user, **ROUND_THE_CLOCK)
            w.set_phone(f"139{i:08d}")
            rows.append(w)
        workers = Worker.objects.bulk_create(rows, batch_size=5000)
        keys = []
        if tokens:
            tokens_rows = []
            for user in users:
                key = "fk_" + uuid.uuid4().hex
                keys.append(key)
                tokens_rows.append(
                    ApiToken(user=user, key_hash=ApiToken.hash_key(key), prefix=key[:10])
                )
            ApiToken.objects.bulk_create(tokens_rows, batch_size=5000)
    for i, w in enumerate(workers):
        out.append((w.pk, w.area_code, keys[i] if keys else ""))
    return out


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench_callout(args) -> None:
    fresh_database(args.url)
    django_setup(args.url)
    from django.db import connections, transaction

    from fangkong.areas.models import Area, Level
    from fangkong.core.actors import SYSTEM
    from fangkong.core.models import Notification, OutboundMessage
    from fangkong.workforce import services
    from fangkong.workforce.models import CallOutResponse, Worker

    made = make_workers(args.workers)
    community = Area.objects.filter(level=Level.COMMUNITY).order_by("code").first()
    with connections["default"].cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"machine: {machine()}; CPU probe {cpu_probe():.3f} s")
    print(f"{len(made):,} available workers within reach")

    started = time.perf_counter()
    with transaction.atomic():
        callout = services.callout_post(
            actor=SYSTEM,
            area=community,
            place="集合点",
            lat=PLACE[0],
            lon=PLACE[1],
            needed=args.needed,
            radius_km=10,
        )
        in_service = callout.fanout_seconds
    total = time.perf_counter() - started  # with the commit and the texts after it
    print(
        f"fan-out: {callout.notified:,} told in {in_service:.3f} s of server time "
        f"(select, responses, notifications), {total:.3f} s with commit and {OutboundMessage.objects.count():,} texts"
    )

    from fangkong.accounts.models import User

    users = {u.pk: u for u in User.objects.filter(worker__isnull=False)}
    takers = [
        users[uid]
        for uid in Worker.objects.filter(pk__in=[m[0] for m in made[: args.accepting]]).values_list(
            "user_id", flat=True
        )
    ]
    seconds, answers = [], []
    lock = threading.Lock()
    local = threading.local()

    def accept(user, sent):
        # Each thread of the pool is a server worker with its own database connection.
        local.used = True
        answer = services.callout_answer(actor=user, callout=callout)
        waited = time.perf_counter() - sent
        with lock:
            seconds.append(waited)
            answers.append(answer)

    def close(_):
        connections.close_all()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.server_threads) as pool:
        # All presses arrive at once; each is timed from then to its answer.
        list(pool.map(lambda u: accept(u, t0), takers))
        list(pool.map(close, range(args.server_threads)))
    wall = time.perf_counter() - t0
    callout.refresh_from_db()
    accepted = CallOutResponse.objects.filter(callout=callout, answer="accepted").count()
    told_filled = Notification.objects.filter(kind="workforce.callout_closed").count()
    print(
        f"{len(takers)} accepted at once: {answers.count('accepted')} got it "
        f"(stored {accepted}, counter {callout.accepted}, needed {callout.needed}), "
        f"{answers.count('too_late')} too late; {told_filled:,} told it was filled; "
        f"all answered in {wall:.2f} s wall, p50 {percentile(seconds, 50) * 1000:.0f} ms, "
        f"p99 {percentile(seconds, 99) * 1000:.0f} ms"
    )
    assert accepted == callout.needed == answers.count("accepted"), "not exactly N"


def bench_report_in(args) -> None:
    fresh_database(args.url)
    django_setup(args.url)
    from django.db import connections

    from fangkong.areas.models import Area
    from fangkong.core.actors import SYSTEM
    from fangkong.workforce import services
    from fangkong.workforce.models import Enrollment

    made = make_workers(args.cadres, tokens=True)
    codes = {
        a.code: services.community_code(actor=SYSTEM, community=a)
        for a in Area.objects.filter(code__in={m[1] for m in made})
    }
    with connections["default"].cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connections.close_all()
    bodies = [
        (key, json.dumps({"client_id": uuid.uuid4().hex, "code": codes[code]}))
        for _, code, key in made
    ]
    port = 8731
    env = {
        **os.environ,
        "DATABASE_URL": args.url,
        "FANGKONG_BIND": f"127.0.0.1:{port}",
        "FANGKONG_ACCESS_LOG": "",
        "FANGKONG_WEB_MAX_REQUESTS": "0",
    }
    fangkong("collectstatic", "--noinput", "-v", "0", url=args.url)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"], cwd=ROOT, env=env
    )
    try:
        for _ in range(300):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        print(f"machine: {machine()}; CPU probe {cpu_probe():.3f} s")
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        chunks = [bodies[i :: args.connections] for i in range(args.connections)]

        def client(chunk):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine, seen = [], {}
            for key, body in chunk:
                t0 = time.perf_counter()
                conn.request(
                    "POST",
                    "/api/v1/workforce/report-ins",
                    body=body,
                    headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                )
                response = conn.getresponse()
                response.read()
                mine.append(time.perf_counter() - t0)
                seen[response.status] = seen.get(response.status, 0) + 1
            with lock:
                latencies.extend(mine)
                for s, n in seen.items():
                    statuses[s] = statuses.get(s, 0) + n

        started = time.perf_counter()
        with ThreadPoolExecutor(args.connections) as pool:
            list(pool.map(client, chunks))
        seconds = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    stored = Enrollment.objects.count()
    print(
        f"{len(bodies):,} report-ins over {args.connections} connections in {seconds:.1f} s: "
        f"{stored / seconds:.0f} a second sustained ({stored:,} stored), statuses {statuses}, "
        f"p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms; "
        f"20,000 in 30 minutes needs {20000 / 1800:.1f} a second"
    )


def _timed(module, name: str, spent: dict) -> None:
    """Wrap module.name so its (wall, CPU) seconds add up in spent[name]."""
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            wall0, cpu0 = spent.get(name, (0.0, 0.0))
            spent[name] = (
                wall0 + time.perf_counter() - started,
                cpu0 + time.process_time() - cpu,
            )

    setattr(module, name, wrapper)


def _backend_cpu() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend so far (a local server whose
    processes this one can read in /proc), else None."""
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def bench_allocate(args) -> None:
    import random
    from collections import Counter

    print(f"machine: {machine()}; CPU probe {cpu_probe():.3f} s")
    if not args.reuse:
        fresh_database(args.url)
    django_setup(args.url)
    sys.path.insert(0, str(ROOT))
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.allocate import generate
    from fangkong.areas.models import Area, Level
    from fangkong.core.actors import command_line
    from fangkong.workforce import costing
    from fangkong.workforce.models import (
        AreaPoint,
        Attendance,
        Post,
        ProposedSeat,
        Skill,
        SkillKind,
        StaffingRequest,
        Worker,
    )
    from fangkong.workforce.services import staffing

    district = Area.objects.get(level=Level.DISTRICT)
    if args.reuse:
        allocation_stage(district, staffing, costing, ProposedSeat, command_line, args.profile)
        return
    started = time.perf_counter()
    drawn_workers, drawn_seats = generate(args.workers, args.requests, args.seats, args.seed)
    streets = list(Area.objects.filter(level=Level.STREET).order_by("code"))
    # A street holds 900 new communities here; add streets for a larger draw.
    street_codes = {s.code for s in streets}
    extra = [f"{district.code}{n:03d}" for n in range(900, 1000)]
    extra = [c for c in extra if c not in street_codes][: args.requests // 900 + 1]
    streets += Area.objects.bulk_create(
        [Area(code=c, name=f"需求街道{c[-3:]}", level=Level.STREET, parent=district) for c in extra]
    )
    taken = set(Area.objects.filter(level=Level.COMMUNITY).values_list("code", flat=True))
    free_codes = [
        f"{s.code}{n:03d}"
        for n in range(100, 1000)
        for s in streets
        if f"{s.code}{n:03d}" not in taken
    ]
    places: dict[str, tuple[float, float]] = {}
    for seat in drawn_seats:
        places.setdefault(seat.request_id, (seat.lat, seat.lon))
    parent = {s.code: s for s in streets}
    rng = random.Random(args.seed)
    today = timezone.localdate()
    with transaction.atomic():
        communities = Area.objects.bulk_create(
            [
                Area(code=code, name=f"需求社区{i}", level=Level.COMMUNITY, parent=parent[code[:9]])
                for i, code in enumerate(free_codes[: len(places)])
            ],
            batch_size=2000,
        )
        at = dict(zip(places, communities, strict=False))
        AreaPoint.objects.bulk_create(
            [AreaPoint(area=at[r], code=at[r].code, lat=p[0], lon=p[1]) for r, p in places.items()]
        )
        codes = {s for w in drawn_workers for s in w.skills} | {
            s for seat in drawn_seats for s in (seat.required_skill, seat.preferred_skill) if s
        }
        skills = {
            c: Skill.objects.get_or_create(
                code=c, defaults={"kind": SkillKind.OTHER, "name_zh": c, "name_en": c}
            )[0]
            for c in sorted(codes)
        }
        homes = list(places)
        rows = []
        for i, w in enumerate(drawn_workers):
            home = at[homes[i % len(homes)]]
            row = worker_row(i, home, w.lat, w.lon, nights=rng.random() < 0.25)
            rows.append(row)
        workers = Worker.objects.bulk_create(rows, batch_size=5000)
        through = Worker.skills.through
        through.objects.bulk_create(
            [
                through(worker_id=row.pk, skill_id=skills[s].pk)
                for row, w in zip(workers, drawn_workers, strict=True)
                for s in w.skills
            ],
            batch_size=10000,
        )
        post = Post.objects.create(
            name="bench", kind="checkpoint", area=communities[0], area_code=communities[0].code
        )
        now = timezone.now()
        Attendance.objects.bulk_create(
            [
                Attendance(
                    worker=row,
                    post=post,
                    area_code=post.area_code,
                    in_client_id=f"bench-{row.pk}",
                    check_in_at=now - dt.timedelta(days=2),
                    check_out_at=now - dt.timedelta(days=2) + dt.timedelta(hours=w.hours_7d),
                )
                for row, w in zip(workers, drawn_workers, strict=True)
                if w.hours_7d
            ],
            batch_size=5000,
        )
        kinds = Counter(
            (seat.request_id, seat.required_skill, seat.preferred_skill) for seat in drawn_seats
        )
        requests = []
        for (r, required, preferred), count in kinds.items():
            night = rng.random() < 0.1
            requests.append(
                StaffingRequest(
                    area=at[r],
                    area_code=at[r].code,
                    count=count,
                    post_kind="checkpoint",
                    required_skill=skills[required] if required else None,
                    preferred_skill=skills[preferred] if preferred else None,
                    first_day=today + dt.timedelta(days=1),
                    last_day=today + dt.timedelta(days=7),
                    hours_from=dt.time(20) if night else dt.time(8),
                    hours_until=dt.time(8) if night else dt.time(17),
                )
            )
        StaffingRequest.objects.bulk_create(requests, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"database: {len(workers):,} workers, {len(requests):,} requests "
        f"({len(places):,} drawn, at {len(communities):,} communities), "
        f"{sum(r.count for r in requests):,} seats; written in {time.perf_counter() - started:.1f} s"
    )

    allocation_stage(district, staffing, costing, ProposedSeat, command_line, args.profile)


def allocation_stage(
    district, staffing, costing, ProposedSeat, command_line, profile: bool = False
) -> None:
    """The timed part: the command centre's allocation run over the district."""
    from collections import Counter

    spent: dict[str, tuple[float, float]] = {}
    _timed(costing, "candidates", spent)
    _timed(costing, "solve", spent)
    _timed(staffing, "_store_run", spent)
    print(f"load before: {machine().rsplit('load average ', 1)[1]}")
    db_cpu = _backend_cpu()
    started, cpu = time.perf_counter(), time.process_time()
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        run = profiler.runcall(staffing.allocation_run, actor=command_line(), area=district)
    else:
        run = staffing.allocation_run(actor=command_line(), area=district)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if profile:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    db_cpu = _backend_cpu() - db_cpu if db_cpu is not None else None
    print(f"load after: {machine().rsplit('load average ', 1)[1]}")

    def phase(wall_cpu) -> str:
        return f"{wall_cpu[0]:.2f} s ({wall_cpu[1]:.2f} CPU)"

    load, solve, store = spent["candidates"], spent["solve"], spent["_store_run"]
    storing = (store[0] - solve[0], store[1] - solve[1])
    rest = (wall - store[0] - load[0], cpu - store[1] - load[1])
    reasons = Counter(
        ProposedSeat.objects.filter(run=run, worker__isnull=True).values_list("unfilled", flat=True)
    )
    print(
        f"allocation_run end to end: {wall:.2f} s wall, {cpu:.2f} s CPU in this process"
        + (f" + {db_cpu:.2f} s in its PostgreSQL backend" if db_cpu is not None else "")
        + f": loading candidates {phase(load)}, seats and rules {phase(rest)}, "
        f"solver and greedy {phase(solve)} (solver alone {run.seconds:.2f} s wall), "
        f"storing the proposal {phase(storing)}"
    )
    print(
        f"optimal: filled {run.filled:,} of {run.seats:,}, cost {run.cost:,.3f} "
        f"(proved optimal: {run.stats.get('proved_optimal')}, {run.stats.get('arcs', 0):,} arcs, "
        f"{run.stats.get('rounds')} rounds); unfilled {dict(reasons)}"
    )
    print(
        f"greedy:  filled {run.greedy_filled:,}, cost {run.greedy_cost:,.3f}; optimal vs greedy: "
        f"{run.filled - run.greedy_filled:+,} seats, cost {run.cost - run.greedy_cost:+,.3f} "
        f"({(run.cost - run.greedy_cost) / run.greedy_cost:+.1%})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("callout")
    c.add_argument("--workers", type=int, default=5000)
    c.add_argument("--accepting", type=int, default=500)
    c.add_argument("--needed", type=int, default=50)
    c.add_argument(
        "--server-threads", type=int, default=16, help="answers served at once (connections)"
    )
    r = sub.add_parser("report-in")
    r.add_argument("--cadres", type=int, default=20000)
    r.add_argument("--connections", type=int, default=8)
    a = sub.add_parser("allocate")
    a.add_argument("--workers", type=int, default=20000)
    a.add_argument("--requests", type=int, default=2000)
    a.add_argument("--seats", type=int, default=25000)
    a.add_argument("--seed", type=int, default=1)
    a.add_argument(
        "--reuse", action="store_true", help="allocate again in the database of a previous run"
    )
    a.add_argument("--profile", action="store_true", help="print where the run's time goes")
    args = parser.parse_args()
    {"callout": bench_callout, "report-in": bench_report_in, "allocate": bench_allocate}[args.what](
        args
    )


if __name__ == "__main__":
    main()
