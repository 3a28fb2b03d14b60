"""Workforce benchmarks on PostgreSQL.

    .venv/bin/python bench/workforce.py callout [--workers 5000] [--accepting 500] [--needed 50]
    .venv/bin/python bench/workforce.py report-in [--cadres 20000] [--connections 8]

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


def make_workers(n: int, *, tokens: bool = False) -> list[tuple[int, str, str]]:
    """n available workers spread over the district's communities (all within 3 km of
    PLACE), each with a login; returns (worker id, community code, bearer key or "")."""
    import random

    from django.db import transaction

    from fangkong.accounts.models import ApiToken, User
    from fangkong.areas.models import Area, Level
    from fangkong.core import pii
    from fangkong.core.idnumbers import make_mainland, parse_mainland
    from fangkong.core.roles import Role
    from fangkong.workforce.models import AreaPoint, Worker, worker_id_hash

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
            # Unique for up to lcm(40, 12, 28, 1000) = 21,000 workers.
            birth = dt.date(1960 + i % 40, 1 + i % 12, 1 + i % 28)
            doc = parse_mainland(make_mainland("431102", birth, i % 1000))
            w = Worker(
                name=f"干部{i}",
                home_community=c,
                home_code=c.code,
                area_code=c.code,
                lat=lat,
                lon=lon,
                user=user,
            )
            w.id_type = doc.type
            w.id_cipher = pii.encrypt(doc.number)
            w.id_hash = worker_id_hash(doc.type, doc.number)
            w.id_masked = doc.masked
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
    args = parser.parse_args()
    {"callout": bench_callout, "report-in": bench_report_in}[args.what](args)


if __name__ == "__main__":
    main()
