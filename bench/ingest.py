"""Sampling ingest through the real HTTP API, on PostgreSQL, served as in production.

    .venv/bin/python bench/ingest.py [--residents 1000000] [--reuse] [--seconds 30]
        [--connections 8] [--overload-connections 256] [--unprotected]

1. A database of its own (default fk_ingest): dropped, made, migrated and filled by
   `fangkong seed` (unless --reuse finds it filled already).
2. A round over the whole district; a sampling site of 3 channels in each of 150
   communities; a sampler with a bearer token.
3. The uploads, made before the clock starts: each is one tube as a channel sends it
   when the tube is sealed (tube_open, 10 or 20 samples with valid signed codes,
   tube_seal). Each site samples its own community building by building, door by
   door (as communities call buildings down in turn); nobody is sampled twice. One
   JSON body a line.
4. VACUUM (ANALYZE) and CHECKPOINT, as a database in service would have had; then
   gunicorn with deploy/gunicorn.conf.py on a spare port (access log off).
5. wrk (`apt-get install -y wrk`) posts the bodies with a Lua script: a warm-up, the
   measured run with --connections, then an overload run with many more connections.
   A baseline (GET /healthz, one `SELECT 1`) with the same connections, measured in the
   same run, shows what the machine gives to the simplest request.
6. People a second come from the rows that reached the database (samples before and
   after), not from the client's count; p50/p99 are wrk's, per upload. Each phase
   prints what it stored (samples, markers, tubes, kept events, counters).
7. The baseline (unless --no-direct): after the sustained phases, the server idle, the
   same rows for fresh people of their own (tubes, samples, first-sample markers, the
   opens and seals kept, the coverage counters) written straight from this one Python
   client with psycopg, an upload a transaction, for as long as a sustained phase.
   Printed: both rates, both CPU costs a 1,000 people (API: server processes +
   PostgreSQL; direct: this client + PostgreSQL, from /proc) and their ratio, API /
   direct (target: at most 2x).

Target: 5,000 people a second on a 2-core machine, and under overload 503s with
Retry-After instead of a collapse. The load generator shares the two cores with the
server and PostgreSQL; the script prints the load average before and after.
"""

import argparse
import datetime as dt
import itertools
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, ROOT, collect_static, cpu_probe, machine  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/fk_ingest"
TARGET_PEOPLE = 5000
CHANNELS = 3
TUBE_SERIALS = itertools.count(1)  # printed tubes' barcodes count up

# wrk's report, as JSON in the file named by $WRK_REPORT (both scripts end with it).
DONE_LUA = r"""
function done(summary, latency, requests)
  local out = io.open(os.getenv("WRK_REPORT"), "w")
  out:write(string.format(
    '{"requests": %d, "seconds": %f, "p50_ms": %f, "p90_ms": %f, "p99_ms": %f, ' ..
    '"max_ms": %f, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d}}',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(90) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
  out:close()
end
"""

# Each wrk thread posts its share of the bodies (one JSON upload a line), in order.
POST_LUA = (
    r"""
local counter = 1
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  bodies, sent = {}, 0
  local i = 0
  for line in io.lines(path) do
    if i % nthreads == id - 1 then bodies[#bodies + 1] = line end
    i = i + 1
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. args[3]
end

function request()
  sent = sent + 1
  return wrk.format(nil, "/api/v1/testing/uploads", nil, bodies[((sent - 1) % #bodies) + 1])
end

-- Devices honour Retry-After: after a 503, a connection of this thread waits that long
-- before its next upload (wrk keeps the count per thread, not per connection).
backoffs = {}
function response(status, headers, body)
  if status == 503 then
    backoffs[#backoffs + 1] = (tonumber(headers["Retry-After"]) or 2) * 1000
  end
end

function delay()
  if #backoffs > 0 then return table.remove(backoffs) end
  return 0
end
"""
    + DONE_LUA
)


def pg(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def recreate_and_seed(url: str, residents: int) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(pg(url.rsplit("/", 1)[0] + "/postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url}
    run = [sys.executable, "-m", "fangkong"]
    subprocess.run([*run, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    started = time.perf_counter()
    subprocess.run(
        [*run, "seed", "--residents", str(residents), "--seed", "7"]
        + ["--logins-file", str(OUT / "ingest-logins")],
        env=env,
        cwd=ROOT,
        check=True,
    )
    print(f"seeded {residents:,} residents in {time.perf_counter() - started:.0f} s")


def settle(url: str) -> None:
    """VACUUM and CHECKPOINT before the clock starts: a freshly loaded table's first
    vacuum (hint bits, the visibility map) otherwise lands in the first phase, and shows
    there as PostgreSQL's CPU. A database in service has long had it."""
    started = time.perf_counter()
    with psycopg.connect(pg(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")
    print(f"vacuumed and checkpointed in {time.perf_counter() - started:.0f} s")


def django_setup(url: str):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare(sites: int):
    """The round, a site of 3 channels in each of `sites` communities, the token, and
    each site's queue: its community's residents (id, name, masked ID, building) by
    building and door, as communities call their buildings down in turn. A queue is
    (site, channels, residents, the site's area)."""
    from django.db import connection
    from django.utils import timezone

    from fangkong.accounts.models import Role, User
    from fangkong.accounts.services import token_issue, user_create
    from fangkong.areas.models import Area, Level
    from fangkong.core.actors import SYSTEM
    from fangkong.testing import services

    district = Area.objects.get(level=Level.DISTRICT)
    command = User.objects.filter(username="bench_command").first() or user_create(
        actor=SYSTEM, username="bench_command", password=None, role=Role.COMMAND, areas=[district]
    )
    sampler = User.objects.filter(username="bench_sampler").first() or user_create(
        actor=SYSTEM, username="bench_sampler", password=None, role=Role.SAMPLER, areas=[district]
    )
    now = timezone.now()
    started = time.perf_counter()
    rnd = services.round_launch(
        actor=command,
        name=f"bench {now:%H:%M:%S}",
        areas=[district],
        starts_at=now - dt.timedelta(minutes=5),
        deadline=now + dt.timedelta(hours=12),
    )
    launch_s = time.perf_counter() - started
    communities = list(Area.objects.filter(level=Level.COMMUNITY).order_by("code"))[:sites]
    queues = []
    for area in communities:
        site = services.site_create(
            actor=command, area=area, name=f"bench {rnd.pk}", channels=CHANNELS
        )
        channels = list(site.channels.order_by("name").values_list("pk", flat=True))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT r.id, r.name, r.id_masked, r.area_code FROM people_resident r "
                "JOIN areas_household h ON h.id = r.household_id WHERE r.area_code LIKE %s "
                "ORDER BY r.area_code, h.unit, h.room, r.id",
                [area.code + "%"],
            )
            queues.append((site.pk, channels, cursor.fetchall(), site.area_code))
    token = token_issue(actor=command, user=sampler, name="bench")
    connection.close()
    return rnd.pk, queues, token, launch_s


def plan_uploads(
    rnd_id: int,
    queues,
    *,
    tubes_per_upload: int = 1,
    events_per_upload: int = 0,
    random_ids: bool = False,
):
    """The uploads as channels send them: whole tubes of 10 or 20 when sealed, the sites
    taking turns; or, with `events_per_upload`, those events cut into uploads of that
    many (the sampler page, at a normal pace, sends each scan on its own). Client ids are
    UUIDv7 and tube barcodes count up (as printed tubes do), unless `random_ids` (uuid4
    for both, as before the protocol asked for time-ordered ids).

    Yields (site, channel, events); an event is a dict as a device sends it, but a
    sample carries "person": (resident id, name, masked ID, building) in place of a
    code (`write_bodies` signs it; the direct write needs none)."""
    from fangkong.core.ids import uuid7

    new_id = (lambda: uuid.uuid4().hex) if random_ids else (lambda: uuid7().hex)
    rng = random.Random(rnd_id)
    # The scans' times run 300 ms apart and end before now: a time ahead of the server
    # beyond FANGKONG_CLIENT_TIME_FUTURE_S is refused (core.clock), as a device's would be.
    scans = sum(len(q[2]) for q in queues)
    clock = dt.datetime.now(dt.UTC) - dt.timedelta(milliseconds=300 * scans * 1.2, minutes=1)
    cursors = [0] * len(queues)
    turn = 0
    while any(cursors[i] < len(q[2]) for i, q in enumerate(queues)):
        k = turn % len(queues)
        turn += 1
        site, channels, queue = queues[k][:3]
        if cursors[k] >= len(queue):
            continue
        channel = channels[(turn // len(queues)) % len(channels)]
        events = []
        for _ in range(tubes_per_upload):
            size = rng.choice((10, 20))
            group = queue[cursors[k] : cursors[k] + size]
            cursors[k] += size
            if not group:
                break
            serial = uuid.uuid4().hex[:16] if random_ids else f"{next(TUBE_SERIALS):012d}"
            tube = f"B{rnd_id:03d}{serial}"
            base = {"round": rnd_id, "site": site, "channel": channel, "tube": tube}

            def event(kind):
                nonlocal clock
                clock += dt.timedelta(milliseconds=300)
                return {"client_id": new_id(), "type": kind, "at": clock.isoformat()}

            events.append({**event("tube_open"), **base, "pool_size": size})
            for person in group:
                events.append({**event("sample"), **base, "person": person})
            events.append({**event("tube_seal"), **base})
        step = events_per_upload or len(events)
        for start in range(0, len(events), step):
            yield site, channel, events[start : start + step]


def write_bodies(path: Path, rnd_id: int, queues, **plan) -> tuple:
    """One upload a line (see `plan_uploads`), samples with valid signed codes.
    Returns (uploads, people)."""
    from fangkong.people.codes import CodeClaims, sign_claims

    today = dt.date.today()
    uploads = people = 0
    with path.open("w", encoding="utf-8") as out:
        for _site, channel, events in plan_uploads(rnd_id, queues, **plan):
            sent = []
            for ev in events:
                if "person" in ev:
                    ev = dict(ev)
                    pk, name, masked = ev.pop("person")[:3]
                    ev["code"] = sign_claims(CodeClaims(pk, name, masked, today))
                    people += 1
                sent.append(ev)
            out.write(json.dumps({"device_id": f"bench-{channel}", "events": sent}))
            out.write("\n")
            uploads += 1
    return uploads, people


def upload_size(token: str) -> dict:
    """`5` -> five sealed tubes an upload; `e1` -> one event an upload."""
    if token.startswith("e"):
        return {"events_per_upload": int(token[1:])}
    return {"tubes_per_upload": int(token)}


def size_label(token: str) -> str:
    if token.startswith("e"):
        return f"{token[1:]} event(s)/upload"
    return f"{token} tube(s)/upload"


STORED = {
    "samples": "SELECT count(*) FROM testing_sample",
    "markers": "SELECT count(*) FROM testing_firstsample",
    "tubes": "SELECT count(*) FROM testing_tube",
    "events": "SELECT count(*) FROM testing_uploadevent",
    "counted": "SELECT coalesce(sum(sampled), 0) FROM testing_buildingcoverage",
}


def stored_rows(url: str) -> dict[str, int]:
    """What one upload stores, counted: samples, first-sample markers, tubes, kept
    events (opens and seals), and the coverage counters' sum."""
    with psycopg.connect(pg(url)) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot
        return {name: conn.execute(sql).fetchone()[0] for name, sql in STORED.items()}


def stored_line(before: dict, after: dict) -> str:
    return ", ".join(f"{k} +{after[k] - before[k]:,}" for k in STORED)


def _casts(model, columns):
    from django.db import connection

    fields = {f.column: f for f in model._meta.concrete_fields}
    out = []
    for i, name in enumerate(columns):
        f = fields[name]
        kind = f.rel_db_type(connection) if f.is_relation else f.db_type(connection)
        out.append(f"(r->>{i})::{kind}")
    return ", ".join(out)


def direct_statements() -> tuple[str, str, str]:
    """The direct write's three statements (for one upload, with BEGIN and COMMIT in one
    pipeline): tubes + samples + first-sample markers; the kept opens and seals; the
    coverage counters. The same columns and values the upload path stores."""
    from fangkong.testing.models import FirstSample, Sample, Tube, UploadEvent

    tube_cols = ["barcode", "round_id", "via", "site_id", "channel_id", "area_code"]
    tube_cols += ["pool_size", "pool_source", "sample_count", "opened_at", "sealed_at"]
    tube_cols += ["created_at", "device_id", "opened_by_id"]
    sample_cols = ["client_id", "round_id", "resident_id", "area_code", "at", "received_at"]
    sample_cols += ["flags", "via", "site_id", "channel_id", "device_id", "sampler_id"]
    sample_cols += ["id_type", "id_cipher", "id_hash", "id_masked"]
    event_cols = ["client_id", "type", "round_id", "area_code", "tube", "device_id", "user_id"]
    event_cols += ["at", "received_at", "status", "code", "message", "message_zh", "payload"]
    n = len(sample_cols)
    samples = (
        f"WITH t AS (INSERT INTO {Tube._meta.db_table} ({', '.join(tube_cols)}) "
        f"SELECT {_casts(Tube, tube_cols)} FROM jsonb_array_elements(%s::jsonb) r "
        "RETURNING id, barcode), "
        f"s AS (INSERT INTO {Sample._meta.db_table} ({', '.join(sample_cols)}, tube_id) "
        f"SELECT {_casts(Sample, sample_cols)}, t.id FROM jsonb_array_elements(%s::jsonb) r "
        f"JOIN t ON t.barcode = r->>{n} "
        "RETURNING id, round_id, resident_id, area_code, at, client_id) "
        f"INSERT INTO {FirstSample._meta.db_table} "
        "(round_id, resident_id, area_code, sample_id, at, client_id) "
        "SELECT round_id, resident_id, area_code, id, at, client_id FROM s"
    )
    events = (
        f"INSERT INTO {UploadEvent._meta.db_table} ({', '.join(event_cols)}) "
        f"SELECT {_casts(UploadEvent, event_cols)} FROM jsonb_array_elements(%s::jsonb) r"
    )
    counters = (
        "UPDATE testing_buildingcoverage c SET sampled = c.sampled + (r->>1)::int "
        "FROM jsonb_array_elements(%s::jsonb) r "
        "WHERE c.round_id = %s AND c.area_code = r->>0"
    )
    return samples, events, counters


def direct_write(url: str, rnd_id: int, queues, *, seconds: float, **plan) -> dict:
    """The baseline: the rows the API stores for one upload, written straight from this
    one Python client, an upload a transaction (BEGIN, three statements and COMMIT in
    one round trip), for fresh people of its own. The rows are planned before the clock
    starts (as the API's bodies are); building each upload's JSON parameters is timed.
    Returns people, seconds, and the CPU of this process and of PostgreSQL."""
    from fangkong.accounts.models import User
    from fangkong.testing.models import EventStatus, PoolSource, Via

    sampler = User.objects.get(username="bench_sampler").pk
    area_of = {q[0]: q[3] for q in queues}
    planned = []
    for site, channel, events in plan_uploads(rnd_id, queues, **plan):
        planned.append((site, channel, events))
    sql_samples, sql_events, sql_counters = direct_statements()
    conn = psycopg.connect(pg(url), autocommit=True)
    people = 0
    backends = Backends(url)
    backends.start()
    me_before = time.process_time()
    started = time.perf_counter()
    for site, channel, events in planned:
        if time.perf_counter() - started >= seconds:
            break
        now = dt.datetime.now(dt.UTC).isoformat()
        device = f"bench-{channel}"
        area = area_of[site]
        tubes, samples, kept, moves = {}, [], [], {}
        for ev in events:
            barcode = ev["tube"]
            tube = tubes.get(barcode)
            if tube is None:
                tube = [barcode, rnd_id, Via.SITE, site, channel, area, 1, PoolSource.RULE]
                tube += [0, None, None, now, device, sampler]
                tubes[barcode] = tube
            if ev["type"] == "sample":
                pk, _name, _masked, building = ev["person"]
                samples.append(
                    [ev["client_id"], rnd_id, pk, building, ev["at"], now, 0, Via.SITE]
                    + [site, channel, device, sampler, "", "\\x", "", "", barcode]
                )
                tube[8] += 1
                moves[building] = moves.get(building, 0) + 1
                continue
            if ev["type"] == "tube_open":
                tube[6], tube[7], tube[9] = ev["pool_size"], PoolSource.OPEN, ev["at"]
            else:
                tube[10] = ev["at"]
            kept.append(
                [ev["client_id"], ev["type"], rnd_id, area, barcode, device, sampler]
                + [ev["at"], now, EventStatus.ACCEPTED, "", "", "", "{}"]
            )
        with conn.pipeline():
            conn.execute("BEGIN")
            conn.execute(
                sql_samples, [json.dumps(list(tubes.values())), json.dumps(samples)], prepare=True
            )
            conn.execute(sql_events, [json.dumps(kept)], prepare=True)
            conn.execute(sql_counters, [json.dumps(sorted(moves.items())), rnd_id], prepare=True)
            conn.execute("COMMIT")
        people += len(samples)
    elapsed = time.perf_counter() - started
    client_s = time.process_time() - me_before
    db_s = backends.stop()
    conn.close()
    return {"people": people, "seconds": elapsed, "cpu_client_s": client_s, "cpu_db_s": db_s}


def wait_up(base: str, process: subprocess.Popen) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit("gunicorn stopped")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer")


def serve(url: str, port: int, extra_env: dict | None = None) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "FANGKONG_BIND": f"127.0.0.1:{port}",
        "FANGKONG_ACCESS_LOG": "",
        # A long benchmark must not be cut by the periodic worker recycling.
        "FANGKONG_WEB_MAX_REQUESTS": "0",
        **(extra_env or {}),
    }
    collect_static(url)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"], cwd=ROOT, env=env
    )
    wait_up(f"http://127.0.0.1:{port}", server)
    return server


def stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def wrk(
    base: str, *, seconds: int, connections: int, lua: Path | None, args=(), path="/", until=None
):
    """Run wrk for `seconds`, or, with `until`, until `until()` is true (asked every 2 s;
    wrk is then stopped with SIGINT, and reports as at its end)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as report:
        pass
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s"]
    if lua is not None:
        command += ["-s", str(lua), base + path, "--", *args]
    else:
        command += ["-s", str(OUT / "ingest-get.lua"), base + path]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "WRK_REPORT": report.name}
    if until is None:
        subprocess.run(command, check=True, env=env, capture_output=True)
    else:
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        while process.poll() is None and not until():
            time.sleep(2)
        process.send_signal(signal.SIGINT)
        process.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(Path(report.name).read_text())
    os.unlink(report.name)
    # The load generator's own CPU (it shares the two cores with the server).
    result["cpu_client_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> dict[int, float]:
    """user + system CPU seconds of each process (those that still exist)."""
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def server_pids(server: subprocess.Popen) -> list[int]:
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    except OSError:
        children = []
    return [server.pid, *map(int, children)]


def postgres_cpu() -> float:
    """CPU seconds of the whole PostgreSQL server so far: every live process (backends,
    WAL writer, checkpointer, ...) plus what the postmaster has reaped from exited ones
    (a backend whose connection Django recycles mid-phase would otherwise be lost).
    It is the whole server's: other databases' work counts too (see `Backends`)."""
    total, procs = 0.0, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        if comm == "postgres":
            fields = text.rsplit(")", 1)[1].split()
            procs[int(stat.parent.name)] = fields
    for fields in procs.values():
        total += (int(fields[11]) + int(fields[12])) / TICK
        if int(fields[1]) not in procs:  # the postmaster: add its reaped children
            total += (int(fields[13]) + int(fields[14])) / TICK
    return total


class Backends:
    """CPU seconds of the PostgreSQL backends connected to one database, from /proc: on a
    server shared with other people's databases, only this benchmark's work. Each
    backend's CPU is taken at `start` and `stop`; a backend that ends between them loses
    what it spent since `start` (the server and the direct writer keep theirs open), and
    the server's shared processes (WAL writer, checkpointer) are left out, so this is a
    slight floor. `whole_server` also gives the whole server's, as before."""

    def __init__(self, url: str):
        self.name = url.rsplit("/", 1)[1]

    def _now(self) -> dict[int, float]:
        out = {}
        tag = f" {self.name} ".encode()
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                line = cmdline.read_bytes()
                if not line.startswith(b"postgres: ") or tag not in line:
                    continue
                fields = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[int(cmdline.parent.name)] = (int(fields[11]) + int(fields[12])) / TICK
        return out

    def start(self) -> None:
        self.before, self.whole_before = self._now(), postgres_cpu()

    def stop(self) -> float:
        after = self._now()
        self.whole_server = postgres_cpu() - self.whole_before
        return sum(v - self.before.get(pid, 0.0) for pid, v in after.items())


class Runner:
    """Runs wrk phases against one server, each posting its own file of bodies, and
    accounts the CPU the server's processes, PostgreSQL and the client spent."""

    def __init__(self, url: str, base: str, lua: Path, token: str, bodies: dict, server):
        self.url, self.base, self.lua, self.token, self.bodies = url, base, lua, token, bodies
        self.server = server

    def phase(self, label: str, name: str, seconds: int, connections: int, *, until=None) -> dict:
        """`until`: the bodies are posted once (ONCE_LUA) until `until()` says the round is
        done (see `wrk`); the rows are counted a second after wrk ends, when the uploads
        its connections left in flight are done."""
        once = until is not None
        path, uploads = self.bodies[name]
        probe = cpu_probe()
        rows_before = stored_rows(self.url)
        app_before = cpu_seconds(server_pids(self.server))
        backends = Backends(self.url)
        backends.start()
        result = wrk(
            self.base,
            seconds=seconds,
            connections=connections,
            lua=self.lua,
            args=(str(path), "2", self.token),
            until=until,
        )
        if once:
            time.sleep(1)
        app = cpu_seconds(server_pids(self.server))
        db_s = backends.stop()
        app_s = sum(v - app_before.get(k, 0) for k, v in app.items())
        rows_after = stored_rows(self.url)
        stored = rows_after["samples"] - rows_before["samples"]
        wrapped = result["requests"] > uploads and not once
        rate = stored / result["seconds"]
        errors = result["errors"]
        client_s = result["cpu_client_s"]
        per_k = (app_s + db_s) / stored * 1000 if stored else 0
        cores = os.cpu_count() or 1
        print(
            f"{label:<30} {connections:>4} conns  {rate:8,.0f} people/s  "
            f"{result['requests'] / result['seconds']:7,.0f} req/s  "
            f"p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms  "
            f"non-2xx {errors['status']:,}  timeouts {errors['timeout']:,}"
            + ("  (bodies wrapped: replays)" if wrapped else ""),
            flush=True,
        )
        share = client_s / (result["seconds"] * cores) * 100
        print(
            f"{'':<30} CPU: app {app_s:.1f} s + PostgreSQL {db_s:.1f} s (its backends; "
            f"the whole server {backends.whole_server:.1f} s); "
            f"client (wrk) {client_s:.1f} s = {share:.0f}% of the {cores} cores; "
            f"load {os.getloadavg()[0]:.2f}; CPU probe before {probe:.2f} s",
            flush=True,
        )
        print(f"{'':<30} stored: {stored_line(rows_before, rows_after)}", flush=True)
        if stored:
            print(
                f"{'':<30} server CPU a 1,000 people: {app_s / stored * 1000:.2f} app + "
                f"{db_s / stored * 1000:.2f} PostgreSQL = {per_k:.2f} s -> one core takes "
                f"{1000 / per_k:,.0f} people/s, {cores} cores with no client "
                f"{cores * 1000 / per_k:,.0f}",
                flush=True,
            )
        return {
            **result,
            "people_per_s": rate,
            "stored": stored,
            "wrapped": wrapped,
            "cpu_app_s": app_s,
            "cpu_db_s": db_s,
            "load": os.getloadavg()[0],
            "probe_s": probe,
        }


def direct_phase(args, rnd_id: int, queues, size: str, api: dict) -> dict:
    """The direct write of the first upload size, for as long as a sustained phase, the
    server idle; printed beside that API phase with the ratios."""
    probe = cpu_probe()
    before = stored_rows(args.database_url)
    out = direct_write(
        args.database_url,
        rnd_id,
        queues,
        seconds=args.seconds,
        random_ids=args.random_ids,
        **upload_size(size),
    )
    after = stored_rows(args.database_url)
    people = out["people"]
    if not people:
        print("direct write: no people left for it (seed more residents)", flush=True)
        return out
    rate = people / out["seconds"]
    cpu_k = (out["cpu_client_s"] + out["cpu_db_s"]) / people * 1000 if people else 0
    api_k = (api["cpu_app_s"] + api["cpu_db_s"]) / api["stored"] * 1000 if api["stored"] else 0
    label = f"direct write ({size_label(size)})"
    print(
        f"{label:<30} {1:>4} client {rate:8,.0f} people/s  "
        f"load {os.getloadavg()[0]:.2f}; CPU probe before {probe:.2f} s",
        flush=True,
    )
    print(f"{'':<30} stored: {stored_line(before, after)}", flush=True)
    print(
        f"{'':<30} CPU a 1,000 people: {out['cpu_client_s'] / people * 1000:.2f} client + "
        f"{out['cpu_db_s'] / people * 1000:.2f} PostgreSQL = {cpu_k:.2f} s",
        flush=True,
    )
    ratio = api_k / cpu_k if cpu_k else 0
    print(
        f"{'API / direct':<30} people/s {api['people_per_s']:,.0f} / {rate:,.0f} = "
        f"{api['people_per_s'] / rate:.2f}; CPU a 1,000 people {api_k:.2f} / {cpu_k:.2f} s "
        f"= {ratio:.2f}x (target <= 2x: {'met' if ratio <= 2 else 'MISSED'})",
        flush=True,
    )
    return {**out, "people_per_s": rate, "cpu_per_1000": cpu_k, "api_cpu_per_1000": api_k}


# The rounds' wrk script: each body once; a thread that has sent all of its bodies asks
# GET /healthz until the benchmark stops wrk (SIGINT: wrk then reports as at its end),
# once the round's people are stored or nothing has moved for a while (`until_done`).
ONCE_LUA = POST_LUA.replace(
    """function request()
  sent = sent + 1
  return wrk.format(nil, "/api/v1/testing/uploads", nil, bodies[((sent - 1) % #bodies) + 1])
end""",
    """function request()
  sent = sent + 1
  if sent > #bodies then return wrk.format("GET", "/healthz") end
  return wrk.format(nil, "/api/v1/testing/uploads", nil, bodies[sent])
end""",
).replace(
    """function delay()
  if #backoffs > 0 then return table.remove(backoffs) end
  return 0""",
    """function delay()
  if #backoffs > 0 then return table.remove(backoffs) end
  if sent >= #bodies then return 1000 end
  return 0""",
)


def until_done(url: str, rnd_id: int, people: int, idle_s: float = 10.0):
    """A check for `wrk(until=…)`: true once the round's samples number `people`, or
    when their number has not moved for `idle_s` (uploads refused with 503 are not
    sent again by wrk)."""
    state = {"n": -1, "since": time.monotonic()}
    conn = psycopg.connect(pg(url), autocommit=True)

    def done() -> bool:
        done.last_change = state["since"]  # type: ignore[attr-defined]
        n = conn.execute(
            "SELECT count(*) FROM testing_sample WHERE round_id = %s", [rnd_id]
        ).fetchone()[0]
        now = time.monotonic()
        if n != state["n"]:
            state["n"], state["since"] = n, now
            done.last_change = now  # type: ignore[attr-defined]
        finished = n >= people or now - state["since"] > idle_s
        if finished:
            conn.close()
        return finished

    return done


def rounds(args) -> int:
    """`--rounds N`: N rounds one after another on the same database, each a new round
    over the district in which --round-people people (default: every resident) are
    sampled through the API once, one sealed tube an upload, with --connections; the
    bodies of a round are made before its clock starts. Nothing is vacuumed between
    rounds (autovacuum runs as in service). Prints each round's rate, p50/p99 and server
    CPU a 1,000 people, and the ratio of the last round's rate to the first's."""
    lua = OUT / "ingest-once.lua"
    lua.write_text(ONCE_LUA)
    base = f"http://127.0.0.1:{args.port}"
    server_env = dict(item.split("=", 1) for item in args.server_env)
    print(f"machine: {machine()}")
    settle(args.database_url)
    server = serve(args.database_url, args.port, server_env)
    out = []
    try:
        for number in range(1, args.rounds + 1):
            rnd_id, queues, token, launch_s = prepare(args.sites)
            total = sum(len(q[2]) for q in queues)
            wanted = min(args.round_people or total, total)
            sliced = [
                (site, channels, queue[: -(-len(queue) * wanted // total)], area)
                for site, channels, queue, area in queues
            ]
            path = OUT / f"ingest-round-{number}.jsonl"
            started = time.perf_counter()
            uploads, people = write_bodies(
                path, rnd_id, sliced, random_ids=args.random_ids, tubes_per_upload=1
            )
            print(
                f"round {number}: {uploads:,} uploads of {people:,} people made in "
                f"{time.perf_counter() - started:.0f} s (launch {launch_s * 1000:.0f} ms)",
                flush=True,
            )
            run = Runner(args.database_url, base, lua, token, {"r": (path, uploads)}, server)
            done = until_done(args.database_url, rnd_id, people)
            started = time.monotonic()
            result = run.phase(f"round {number}", "r", 24 * 3600, args.connections, until=done)
            # The round's rate: its people over the time until the last of them was
            # stored (seen every 2 s), not over wrk's run, which waits a while longer
            # when some uploads were refused (wrk does not send them again).
            busy = max(done.last_change - started, 1e-9)  # type: ignore[attr-defined]
            result["people_per_s"] = result["stored"] / busy
            print(
                f"{'':<30} round {number}: {result['stored']:,} people stored in {busy:.1f} s = "
                f"{result['people_per_s']:,.0f} people/s",
                flush=True,
            )
            out.append(result)
            path.unlink()
    finally:
        stop(server)
    first, last = out[0]["people_per_s"], out[-1]["people_per_s"]
    ratio = last / first if first else 0
    print(f"after: {machine()}")
    for number, r in enumerate(out, 1):
        print(
            f"round {number}: {r['people_per_s']:,.0f} people/s, {r['stored']:,} stored, "
            f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
            f"server CPU a 1,000 people {(r['cpu_app_s'] + r['cpu_db_s']) / r['stored'] * 1000:.2f} s"
            if r["stored"]
            else f"round {number}: nothing stored"
        )
    print(
        f"round {len(out)} / round 1: {ratio:.3f} "
        f"(target: no more than 10 % slower than the first: "
        f"{'met' if ratio >= 0.9 else 'MISSED'})"
    )
    (OUT / "ingest-rounds.json").write_text(json.dumps(out, indent=2))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep a filled database")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--overload-connections", type=int, default=256)
    parser.add_argument(
        "--tubes-per-upload",
        default="1,5",
        help="sealed tubes an upload, one sustained phase each (comma-separated; e1 = "
        "one event an upload, as the sampler page sends at a normal pace); "
        "the overload phases use the first",
    )
    parser.add_argument("--no-overload", action="store_true", help="sustained phases only")
    parser.add_argument("--no-direct", action="store_true", help="skip the direct-write baseline")
    parser.add_argument("--unprotected", action="store_true", help="also run overload ungated")
    parser.add_argument("--sites", type=int, default=150, help="one a community, 3 channels")
    parser.add_argument("--port", type=int, default=8771)
    parser.add_argument(
        "--random-ids",
        action="store_true",
        help="uuid4 client ids and random tube barcodes (default: UUIDv7, counting barcodes)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=0,
        metavar="N",
        help="instead of the phases: N consecutive rounds, each sampling --round-people "
        "(default: every resident) through the API once; prints each round's rate and "
        "the last's ratio to the first (target: the third within 10 %% of the first)",
    )
    parser.add_argument("--round-people", type=int, default=0, help="people a round with --rounds")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="for the server, e.g. FANGKONG_WEB_WORKERS=3 (deploy/gunicorn.conf.py's knobs)",
    )
    args = parser.parse_args()
    tubes = args.tubes_per_upload.split(",")
    server_env = dict(item.split("=", 1) for item in args.server_env)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ingest-get.lua").write_text(DONE_LUA)
    lua = OUT / "ingest.lua"
    lua.write_text(POST_LUA)

    filled = False
    if args.reuse:
        try:
            with psycopg.connect(pg(args.database_url)) as conn:
                filled = conn.execute("SELECT count(*) FROM people_resident").fetchone()[0] > 0
        except psycopg.Error:
            filled = False
    if not filled:
        recreate_and_seed(args.database_url, args.residents)
    django_setup(args.database_url)
    if args.rounds:
        return rounds(args)

    # Each phase takes its own slice of every site's queue (nobody is sampled twice),
    # sized for 1.5 times the target rate over the phase.
    phases = {("warm-up", tubes[0]): 10}
    for t in tubes:
        phases[("sustained", t)] = args.seconds
    if not args.no_direct:
        phases[("direct", tubes[0])] = args.seconds * 2  # room for a faster writer
    if not args.no_overload:
        phases[("overload", tubes[0])] = args.seconds
        if args.unprotected:
            phases[("unprotected", tubes[0])] = args.seconds
    rnd_id, queues, token, launch_s = prepare(args.sites)
    bodies = {}
    started = time.perf_counter()
    per_second = TARGET_PEOPLE * 1.5 / len(queues)
    offsets = [0] * len(queues)
    for (name, t), seconds in phases.items():
        share = int(per_second * seconds)
        sliced = []
        for i, (site, channels, queue, area) in enumerate(queues):
            sliced.append((site, channels, queue[offsets[i] : offsets[i] + share], area))
            offsets[i] += share
        if name == "direct":
            direct_queues = sliced
            continue
        path = OUT / f"ingest-bodies-{name}-{t}.jsonl"
        uploads, people = write_bodies(
            path, rnd_id, sliced, random_ids=args.random_ids, **upload_size(t)
        )
        bodies[f"{name}-{t}"] = (path, uploads)
        print(f"  {name}, {size_label(t)}: {uploads:,} uploads of {people:,} people")
    print(
        f"made the uploads with signed codes in {time.perf_counter() - started:.0f} s; "
        f"round launched over the district in {launch_s * 1000:.0f} ms"
    )

    settle(args.database_url)
    base = f"http://127.0.0.1:{args.port}"
    print(f"machine: {machine()}")
    if server_env:
        print(f"server environment: {server_env}")
    print(f"{'phase':<30} {'':>10} {'stored':>17}")
    server = serve(args.database_url, args.port, server_env)
    run = Runner(args.database_url, base, lua, token, bodies, server)
    results = {}
    try:
        baseline = wrk(base, seconds=10, connections=args.connections, lua=None, path="/healthz")
        print(
            f"{'baseline GET /healthz':<30} {args.connections:>4} conns  {'':>17}  "
            f"{baseline['requests'] / baseline['seconds']:7,.0f} req/s  "
            f"p50 {baseline['p50_ms']:7.1f} ms  p99 {baseline['p99_ms']:7.1f} ms"
        )
        run.phase("warm-up", f"warm-up-{tubes[0]}", 10, args.connections)
        for t in tubes:
            results[f"sustained-{t}"] = run.phase(
                f"sustained ({size_label(t)})", f"sustained-{t}", args.seconds, args.connections
            )
        if not args.no_direct:
            results["direct"] = direct_phase(
                args, rnd_id, direct_queues, tubes[0], results[f"sustained-{tubes[0]}"]
            )
        if not args.no_overload:
            results["overload"] = run.phase(
                f"overload, shedding on ({tubes[0]})",
                f"overload-{tubes[0]}",
                args.seconds,
                args.overload_connections,
            )
    finally:
        stop(server)
    if args.unprotected and not args.no_overload:
        ungated = {
            **server_env,
            "FANGKONG_INGEST_SLOTS": "256",
            "FANGKONG_INGEST_QUEUE": "10000",
            "FANGKONG_INGEST_WAIT_MS": "60000",
        }
        server = serve(args.database_url, args.port, ungated)
        run.server = server
        try:
            results["unprotected"] = run.phase(
                f"overload, shedding off ({tubes[0]})",
                f"unprotected-{tubes[0]}",
                args.seconds,
                args.overload_connections,
            )
        finally:
            stop(server)
    print(f"after: {machine()}")
    for t in tubes:
        rate = results[f"sustained-{t}"]["people_per_s"]
        print(
            f"sustained, {size_label(t)}: {rate:,.0f} people/s "
            f"(target {TARGET_PEOPLE:,}: {'met' if rate >= TARGET_PEOPLE else 'MISSED'})"
        )
    if "overload" in results:
        print(
            f"overload kept {results['overload']['people_per_s']:,.0f} people/s with "
            f"{results['overload']['errors']['status']:,} refusals (503) and "
            f"{results['overload']['errors']['timeout']:,} timeouts"
        )
    (OUT / "ingest-result.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
