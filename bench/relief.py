"""Relief on PostgreSQL: a street's triage queue, needs asked through the HTTP API by many
residents at once, and the SLA watch.

    .venv/bin/python bench/relief.py [--residents 60000] [--open 50000] [--reuse]
        [--only queue,ingest,watch] [--seconds 30] [--connections 16]

1. A database of its own (default fk_relief_bench): dropped, made, migrated and seeded
   (`fangkong seed`), unless --reuse finds it seeded.
2. `--open` open needs in the first street (one per household and category, as the
   duplicate rule allows), deadlines spread from 6 hours ago to 24 hours on, a fifth of
   them dispatched; VACUUM (ANALYZE).
3. queue: gunicorn (deploy/gunicorn.conf.py) on a spare port; the street office's queue
   page and the API's queue, the first page and the next 19 pages by keyset cursor, one
   request after another; p50/p95/p99. Target: p95 under 300 ms.
4. ingest: 2,000 resident accounts with bearer tokens; wrk posts asks (POST
   /api/v1/relief/requests), every body twice (the second a retry with the same
   client_id); asks per second, p50/p99 (wrk), and after the run: every client id
   stored once, no household with two open needs of one category, retries answered
   `repeat`. Target: 500 asks a second, zero duplicates.
5. watch: the SLA watch (services.sla_watch) over the open needs: the first pass (every
   need already overdue escalated), then passes after 1,000 more fall due, and a pass
   with nothing new. Target: under 1 s a pass.

Every figure comes with the machine, the load average and a CPU probe: the machine is
shared, and other work on its cores shows in each figure.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, cpu_probe, machine  # noqa: E402
from ingest import (  # noqa: E402
    DONE_LUA,
    TICK,
    cpu_seconds,
    django_setup,
    pg,
    recreate_and_seed,
    serve,
    server_pids,
    settle,
    stop,
    wrk,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/fk_relief_bench"
TARGET_QUEUE_MS, TARGET_ASKS, TARGET_WATCH_S = 300, 500, 1.0

ASK_LUA = (
    r"""
local counter = 1
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  lines, sent = {}, 0
  local i = 0
  for line in io.lines(path) do
    if i % nthreads == id - 1 then lines[#lines + 1] = line end
    i = i + 1
  end
end

function request()
  sent = sent + 1
  local line = lines[((sent - 1) % #lines) + 1]
  local tab = string.find(line, "\t")
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer " .. string.sub(line, 1, tab - 1)
  return wrk.format("POST", "/api/v1/relief/requests", headers, string.sub(line, tab + 1))
end
"""
    + DONE_LUA
)


def backends_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to `database` (its command line
    names it), so the shared server's other databases do not count."""
    out = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not words.startswith("postgres: ") or f" {database} " not in words:
                continue
            stat = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(cmdline.parent.name)] = (int(stat[11]) + int(stat[12])) / TICK
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def seeded(url: str) -> bool:
    try:
        with psycopg.connect(pg(url)) as conn:
            return conn.execute("SELECT count(*) FROM people_resident").fetchone()[0] > 0
    except psycopg.Error:
        return False


def fill_open(count: int) -> str:
    """`count` open needs in the first street, written in bulk (arranging the data, not
    timing it). Returns the street's code."""
    from django.db import connection
    from django.utils import timezone

    from fangkong.areas.models import Area, Household, Level
    from fangkong.relief.models import Category, ReliefRequest
    from fangkong.relief.policies import SLA

    street = Area.objects.filter(level=Level.STREET).order_by("code").first()
    ReliefRequest.objects.all().delete()
    households = list(
        Household.objects.filter(area_code__startswith=street.code).values_list("id", "area_code")
    )
    categories = list(Category.objects.filter(area_code="").values_list("id", "kind", "urgency"))
    pairs = [(h, c) for c in categories for h in households][:count]
    if len(pairs) < count:
        raise SystemExit(f"the street has room for {len(pairs)} open needs; seed more residents")
    rng = random.Random(5)
    rng.shuffle(pairs)
    now = timezone.now()
    rule = SLA.at(now)
    rows = []
    for (household, area_code), (category, kind, urgency) in pairs:
        deadline = now + timezone.timedelta(minutes=rng.randint(-6 * 60, 24 * 60))
        assigned = rng.random() < 0.2
        rows.append(
            ReliefRequest(
                household_id=household,
                area_code=area_code,
                category_id=category,
                kind=kind,
                urgency=urgency,
                detail="bench",
                status="assigned" if assigned else "open",
                registered_at=deadline - timezone.timedelta(minutes=rule.value.minutes(urgency)),
                registered_by_name="bench",
                deadline=deadline,
                sla_version=rule.version,
                sla_minutes=rule.value.minutes(urgency),
            )
        )
    started = time.perf_counter()
    ReliefRequest.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE relief_reliefrequest")
    print(
        f"{count:,} open needs in {street.name} ({street.code}) in {time.perf_counter() - started:.0f} s"
    )
    return street.code


def session_cookie(username: str) -> str:
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.get(username=username)
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    return f"sessionid={session.session_key}"


def fetch(base: str, path: str, headers: dict) -> tuple[int, bytes, float]:
    request = urllib.request.Request(base + path, headers=headers)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    return status, body, (time.perf_counter() - started) * 1000


def bench_queue(base: str, rounds: int) -> None:
    from django.contrib.auth import get_user_model

    from fangkong.accounts.services import token_issue
    from fangkong.core.actors import SYSTEM

    street = get_user_model().objects.get(username="street")
    cookie = {"Cookie": session_cookie("street")}
    bearer = {"Authorization": f"Bearer {token_issue(actor=SYSTEM, user=street, name='bench')}"}
    timings: dict[str, list[float]] = {
        "page, first": [],
        "page, next": [],
        "API, first": [],
        "API, next": [],
    }
    for _ in range(rounds):
        after = ""
        for n in range(20):
            path = "/relief/queue/" + (f"?after={after}" if after else "")
            # Next pages come as the page asks for them: by htmx, the rows alone.
            headers = {**cookie, "HX-Request": "true"} if after else cookie
            status, body, ms = fetch(base, path, headers)
            assert status == 200, (status, body[:300])
            timings["page, first" if n == 0 else "page, next"].append(ms)
            marker = b"after="
            at = body.rfind(marker)
            after = body[at + len(marker) :].split(b'"')[0].decode() if at > 0 else ""
            if not after:
                break
        after = ""
        for n in range(20):
            path = "/api/v1/relief/requests" + (f"?after={after}" if after else "")
            status, body, ms = fetch(base, path, bearer)
            assert status == 200, (status, body[:300])
            timings["API, first" if n == 0 else "API, next"].append(ms)
            after = json.loads(body)["next_cursor"]
            if not after:
                break
    print(f"\nqueue of a street with its open needs ({machine()}, probe {cpu_probe():.2f} s)")
    for label, values in timings.items():
        p95 = percentile(values, 95)
        verdict = "ok" if p95 < TARGET_QUEUE_MS else f"OVER {TARGET_QUEUE_MS} ms"
        print(
            f"  {label:<12} n={len(values):>4}  p50 {statistics.median(values):6.1f} ms  "
            f"p95 {p95:6.1f} ms  p99 {percentile(values, 99):6.1f} ms  {verdict}"
        )


def resident_tokens(residents: list[int], name: str) -> list[str]:
    """A bearer token a day long for each resident, with a resident account
    (`<name>_res_<id>`) made the first time."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from fangkong.accounts.models import ApiToken

    User = get_user_model()
    have = {u.resident_id: u for u in User.objects.filter(username__startswith=f"{name}_res_")}
    keys = []
    for pk in residents:
        user = have.get(pk) or User.objects.create(
            username=f"{name}_res_{pk}", role="resident", resident_id=pk
        )
        key = uuid.uuid4().hex + uuid.uuid4().hex
        ApiToken.objects.create(
            user=user,
            name=name,
            key_hash=ApiToken.hash_key(key),
            prefix=key[:8],
            expires_at=timezone.now() + timezone.timedelta(days=1),
        )
        keys.append(key)
    return keys


def ask_bodies(path: Path, residents: int, street: str) -> tuple[int, list[str]]:
    """Resident accounts with tokens (made once), and the asks: every body twice."""
    from fangkong.people.models import Resident
    from fangkong.relief.models import Category

    # One resident a household, households outside the queue's street.
    chosen = list(
        Resident.objects.exclude(area_code__startswith=street)
        .exclude(household__residents__user__isnull=False)
        .order_by("household_id", "id")
        .distinct("household_id")
        .values_list("id", flat=True)[:residents]
    )
    tokens = resident_tokens(chosen, "bench")
    codes = list(
        Category.objects.filter(area_code="", for_residents=True).values_list("code", flat=True)
    )
    rng = random.Random(9)
    client_ids = []
    with path.open("w", encoding="utf-8") as out:
        for round_ in range(len(codes)):
            for token in tokens:
                cid = uuid.uuid4().hex
                body = json.dumps(
                    {
                        "client_id": cid,
                        "category": codes[(round_ + rng.randrange(3)) % len(codes)],
                        "detail": "bench",
                    }
                )
                client_ids.append(cid)
                out.write(f"{token}\t{body}\n")
                out.write(f"{token}\t{body}\n")  # the retry
    return len(client_ids), client_ids


def bench_ingest(url, base, seconds, connections, residents, street, server) -> None:
    from fangkong.relief.models import ReliefRequest, Submission

    OUT.mkdir(exist_ok=True)
    bodies = OUT / "relief-asks.txt"
    asks, _ = ask_bodies(bodies, residents, street)
    lua = OUT / "relief-ask.lua"
    lua.write_text(ASK_LUA)
    requests_before = ReliefRequest.objects.count()
    submissions_before = Submission.objects.count()
    probe = cpu_probe()
    load = machine()
    database = url.rsplit("/", 1)[1].split("?")[0]
    app_before, db_before = cpu_seconds(server_pids(server)), backends_cpu(database)
    result = wrk(
        base,
        seconds=seconds,
        connections=connections,
        lua=lua,
        args=(str(bodies), "2"),
        path="/api/v1/relief/requests",
    )
    app_after, db_after = cpu_seconds(server_pids(server)), backends_cpu(database)
    app_s = sum(v - app_before.get(k, 0) for k, v in app_after.items())
    db_s = sum(v - db_before.get(k, 0) for k, v in db_after.items())
    sent = result["requests"]
    made = ReliefRequest.objects.count() - requests_before
    stored = Submission.objects.count() - submissions_before
    with psycopg.connect(pg(url)) as conn:
        doubled = conn.execute(
            "SELECT count(*) FROM (SELECT household_id, category_id FROM relief_reliefrequest "
            "WHERE status IN ('open','assigned','accepted','picked_up') AND plan_id IS NULL "
            "GROUP BY 1, 2 HAVING count(*) > 1) d"
        ).fetchone()[0]
        repeated = conn.execute(
            "SELECT count(*) FROM (SELECT actor_key, client_id FROM relief_submission "
            "GROUP BY 1, 2 HAVING count(*) > 1) d"
        ).fetchone()[0]
    print(f"\nasks through the API ({load}, probe {probe:.2f} s)")
    print(
        f"  {sent:,} requests in {result['seconds']:.1f} s = {sent / result['seconds']:,.0f} a second "
        f"(half of them retries), p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
        f"non-2xx {result['errors']['status']}, timeouts {result['errors']['timeout']}"
    )
    print(
        f"  submissions stored {stored:,} (the other {sent - stored:,} requests were retries, "
        f"answered from them); needs made {made:,} (the rest merged into a household's open "
        f"need); duplicate client ids "
        f"{repeated}; households with two open needs of one category {doubled}"
    )
    if sent:
        print(
            f"  server CPU: app {app_s:.1f} s + PostgreSQL backends {db_s:.1f} s = "
            f"{(app_s + db_s) / sent * 1000:.2f} ms a request ({app_s / sent * 1000:.2f} app + "
            f"{db_s / sent * 1000:.2f} PostgreSQL; half are retries); client (wrk) "
            f"{result['cpu_client_s']:.1f} s; load {os.getloadavg()[0]:.2f} at the end"
        )
    verdict = "ok" if sent / result["seconds"] >= TARGET_ASKS else f"UNDER {TARGET_ASKS}/s"
    print(
        f"  target {TARGET_ASKS} requests a second: {verdict}; duplicates: {'none' if not (repeated or doubled) else 'FOUND'}"
    )


def bench_watch() -> None:
    from django.db import connection
    from django.utils import timezone

    from fangkong.core.actors import SYSTEM
    from fangkong.relief import services
    from fangkong.relief.models import Escalation, ReliefRequest

    open_now = ReliefRequest.objects.active().count()
    print(f"\nSLA watch over {open_now:,} open needs ({machine()}, probe {cpu_probe():.2f} s)")
    # A running watch has its URLs loaded (the escalation link); a fresh process pays it once.
    from django.urls import reverse

    started = time.perf_counter()
    reverse("relief:escalations")
    print(f"  loading the URLs (once a process): {time.perf_counter() - started:.3f} s")
    started = time.perf_counter()
    first = services.sla_watch(actor=SYSTEM)
    print(
        f"  first pass: {first.escalated:,} overdue escalated, {first.notified} people told, {time.perf_counter() - started:.3f} s"
    )
    for label in ("1,000 more fall due", "1,000 more fall due"):
        ids = list(
            ReliefRequest.objects.active()
            .filter(escalated_at__isnull=True, deadline__gt=timezone.now())
            .order_by("deadline")
            .values_list("id", flat=True)[:1000]
        )
        ReliefRequest.objects.filter(pk__in=ids).update(
            deadline=timezone.now() - timezone.timedelta(seconds=1)
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE relief_reliefrequest")
        started = time.perf_counter()
        result = services.sla_watch(actor=SYSTEM)
        seconds = time.perf_counter() - started
        print(
            f"  {label}: {result.escalated:,} escalated in {seconds:.3f} s  {'ok' if seconds < TARGET_WATCH_S else 'OVER 1 s'}"
        )
    times = []
    for _ in range(5):
        started = time.perf_counter()
        assert services.sla_watch(actor=SYSTEM).escalated == 0
        times.append(time.perf_counter() - started)
    print(
        f"  nothing new: best {min(times) * 1000:.1f} ms, worst {max(times) * 1000:.1f} ms a pass"
    )
    print(f"  escalations kept: {Escalation.objects.count():,}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--residents", type=int, default=60000)
    parser.add_argument("--open", type=int, default=50000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--only", default="queue,ingest,watch")
    parser.add_argument("--rounds", type=int, default=15, help="queue: walks of 20 pages")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--askers", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()
    parts = set(args.only.split(","))
    OUT.mkdir(exist_ok=True)
    print(f"start: {machine()}; uptime: {os.popen('uptime').read().strip()}")
    if not (args.reuse and seeded(args.database_url)):
        recreate_and_seed(args.database_url, args.residents)
    django_setup(args.database_url)
    street = fill_open(args.open)
    settle(args.database_url)
    base = f"http://127.0.0.1:{args.port}"
    if parts & {"queue", "ingest"}:
        server = serve(args.database_url, args.port)
        try:
            if "queue" in parts:
                bench_queue(base, args.rounds)
            if "ingest" in parts:
                bench_ingest(
                    args.database_url,
                    base,
                    args.seconds,
                    args.connections,
                    args.askers,
                    street,
                    server,
                )
        finally:
            stop(server)
    if "watch" in parts:
        fill_open(args.open)
        settle(args.database_url)
        bench_watch()
    print(f"end: {machine()}; uptime: {os.popen('uptime').read().strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
