"""The fault run: a bounded stream of sampling uploads while the server is hurt, then
every scan the server acknowledged is looked for in the database.

    .venv/bin/python bench/faults.py [--residents 50000] [--uploads 0] [--clients 4]
        [--faults 6] [--reuse] [--database-url postgres://postgres@127.0.0.1:5432/fk_faults]

1. A database of its own (default fk_faults): dropped, made, migrated and seeded (unless
   --reuse finds it filled); a round over the district, a site of 3 channels in each
   community, a sampler's token; the uploads written before the clock starts, one
   sealed tube each (tube_open, 10 or 20 samples with signed codes, tube_seal), as
   `bench/ingest.py` makes them.
2. gunicorn with deploy/gunicorn.conf.py, as in production.
3. `--clients` threads post the uploads, each as a device does: the same body again
   until it gets a 200 (after a 503 as long as Retry-After says; after a dropped
   connection or any other answer, a short back-off). Every event a 200 answered
   `accepted` is an acknowledged scan.
4. `--faults` faults spread evenly over the stream (by uploads answered), in turn: a
   gunicorn worker killed with SIGKILL (its in-flight uploads die with it; the master
   starts another); every connection of the bench database cut (`pg_terminate_backend`
   on that database's backends only: other databases on the same server are left
   alone, as a restart would not); and both at once.
5. Then: acknowledged samples, stored samples, acknowledged but not stored (lost),
   stored twice (a client id twice, or a person of the stream with two samples:
   duplicated), refused, and how many retries and of which kind the faults caused.

The figures go to docs/benchmarks.md with the machine, the load and the date.
"""

import argparse
import datetime as dt
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, machine  # noqa: E402
from ingest import (  # noqa: E402
    django_setup,
    pg,
    prepare,
    recreate_and_seed,
    serve,
    server_pids,
    settle,
    stop,
    write_bodies,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/fk_faults"


class Stream:
    """The uploads, posted by a few device-like clients until each is answered 200."""

    def __init__(self, base: str, token: str, bodies: list[str]):
        self.base, self.token, self.bodies = base, token, bodies
        self.next = 0
        self.done = 0
        self.lock = threading.Lock()
        self.acknowledged: set[str] = set()
        self.refused: Counter = Counter()
        self.retries: Counter = Counter()
        self.sample_ids: set[str] = set()

    def take(self) -> str | None:
        with self.lock:
            if self.next >= len(self.bodies):
                return None
            body = self.bodies[self.next]
            self.next += 1
            return body

    def post(self, body: str) -> None:
        delay = 0.2
        while True:
            request = urllib.request.Request(
                self.base + "/api/v1/testing/uploads",
                data=body.encode(),
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {self.token}",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    answer = json.loads(response.read())
                break
            except urllib.error.HTTPError as exc:
                kind = f"http {exc.code}"
                wait = float(exc.headers.get("Retry-After") or delay) if exc.code == 503 else delay
                exc.read()
            except (OSError, ValueError) as exc:  # reset, refused, timed out, cut short
                kind, wait = type(exc).__name__, delay
            with self.lock:
                self.retries[kind] += 1
            time.sleep(min(wait, 5))
            delay = min(delay * 2, 2)
        with self.lock:
            for result in answer["results"]:
                if result["status"] == "accepted":
                    self.acknowledged.add(result["client_id"])
                else:
                    self.refused[result.get("code", "?")] += 1
            self.done += 1

    def client(self) -> None:
        while (body := self.take()) is not None:
            self.post(body)


def kill_worker(server) -> int | None:
    """SIGKILL one gunicorn worker (never the master); the master starts another."""
    workers = [pid for pid in server_pids(server) if pid != server.pid]
    if not workers:
        return None
    os.kill(workers[0], signal.SIGKILL)
    return workers[0]


def cut_database(url: str) -> int:
    """Terminate every backend of the bench database (and only of it)."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(pg(url.rsplit("/", 1)[0] + "/postgres"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        ).fetchall()
    return len(rows)


def stored(url: str, round_id: int) -> tuple[set[str], int, int]:
    """Client ids of the round's samples; rows in all; people with more than one."""
    with psycopg.connect(pg(url)) as conn:
        ids = {
            r[0]
            for r in conn.execute(
                "SELECT client_id FROM testing_sample WHERE round_id = %s", [round_id]
            )
        }
        rows = conn.execute(
            "SELECT count(*) FROM testing_sample WHERE round_id = %s", [round_id]
        ).fetchone()[0]
        twice = conn.execute(
            "SELECT count(*) FROM (SELECT resident_id FROM testing_sample WHERE round_id = %s "
            "AND resident_id IS NOT NULL GROUP BY resident_id HAVING count(*) > 1) t",
            [round_id],
        ).fetchone()[0]
    return ids, rows, twice


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--residents", type=int, default=50_000)
    parser.add_argument("--uploads", type=int, default=0, help="sealed tubes to send (0: all)")
    parser.add_argument("--faults", type=int, default=6, help="faults spread over the stream")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--port", type=int, default=8773)
    parser.add_argument("--reuse", action="store_true", help="keep a filled database")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    url = args.database_url
    print(f"machine: {machine()}")
    print(f"date: {dt.datetime.now():%Y-%m-%d %H:%M}")

    filled = False
    if args.reuse:
        try:
            with psycopg.connect(pg(url)) as conn:
                filled = conn.execute("SELECT count(*) FROM people_resident").fetchone()[0] > 0
        except psycopg.Error:
            filled = False
    if not filled:
        recreate_and_seed(url, args.residents)
    settle(url)
    django_setup(url)
    round_id, queues, token, _ = prepare(sites=1000)
    path = OUT / "faults-bodies.jsonl"
    uploads, people = write_bodies(path, round_id, queues)
    bodies = path.read_text(encoding="utf-8").splitlines()[: args.uploads or None]
    events = sum(1 for body in bodies for e in json.loads(body)["events"] if e["type"] == "sample")
    print(f"round {round_id}: {len(bodies):,} uploads of one sealed tube, {events:,} scans")

    base = f"http://127.0.0.1:{args.port}"
    server = serve(url, args.port)
    stream = Stream(base, token, bodies)
    faults: list[str] = []
    started = time.perf_counter()
    threads = [threading.Thread(target=stream.client) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    try:
        kinds = ["worker killed", "database connections cut"]
        kinds.append("worker killed and database connections cut")
        plan = [(i / (args.faults + 1), kinds[(i - 1) % 3]) for i in range(1, args.faults + 1)]
        for share, what in plan:
            while stream.done < share * len(bodies) and any(t.is_alive() for t in threads):
                time.sleep(0.05)
            detail = []
            if "worker" in what:
                detail.append(f"pid {kill_worker(server)}")
            if "database" in what:
                detail.append(f"{cut_database(url)} backends")
            at = time.perf_counter() - started
            faults.append(
                f"{what} at {at:.1f} s, {stream.done:,} uploads done ({', '.join(detail)})"
            )
            print("fault:", faults[-1], flush=True)
        for thread in threads:
            thread.join()
    finally:
        stop(server)
    seconds = time.perf_counter() - started

    ids, rows, twice = stored(url, round_id)
    sent_ids = {
        e["client_id"]
        for body in bodies
        for e in json.loads(body)["events"]
        if e["type"] == "sample"
    }
    acknowledged = stream.acknowledged & sent_ids  # scans (tube opens and seals aside)
    lost = acknowledged - ids
    print()
    print(
        f"stream: {len(bodies):,} uploads, {events:,} scans in {seconds:.1f} s, {args.clients} clients"
    )
    print("faults:", "; ".join(faults))
    print(f"retries: {sum(stream.retries.values()):,} ({dict(stream.retries)})")
    print(f"refused: {sum(stream.refused.values()):,} ({dict(stream.refused)})")
    print(
        f"acknowledged {len(acknowledged):,}  stored {len(ids & sent_ids):,}  lost {len(lost):,}  "
        f"duplicated {rows - len(ids) + twice:,}  stored but never acknowledged "
        f"{len((ids & sent_ids) - acknowledged):,}"
    )
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 1 if lost or rows - len(ids) + twice else 0


if __name__ == "__main__":
    raise SystemExit(main())
