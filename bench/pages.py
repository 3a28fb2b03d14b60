"""Time the pages that must stay fast with 1,000,000 residents on PostgreSQL.

    .venv/bin/python bench/seed.py              # once: a district of 1,000,000
    .venv/bin/python bench/pages.py [--requests 200] [--database-url URL]

Serves the app with gunicorn as deploy/gunicorn.conf.py does (on a spare port, access
log off), logs in as a community worker and as the command centre, and times many
requests, one after another, of a community's area page and of resident searches:
a surname, a full name, pinyin initials, four last digits. Prints p50/p95/p99 per
path. Target: p95 under 200 ms.
"""

import argparse
import http.cookiejar
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import psycopg
from _common import DEFAULT_URL, LOGINS, ROOT, collect_static, machine

TARGET_P95_MS = 200


class Client:
    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with self.opener.open(self.base + path, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def login(self, username: str, password: str) -> None:
        status, body = self.get("/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
        data = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token}
        ).encode()
        with self.opener.open(self.base + "/accounts/login/", data=data, timeout=60) as response:
            if "/accounts/login/" in response.url:
                raise SystemExit(f"could not log in as {username}")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def samples(url: str, community: str) -> dict[str, list[str]]:
    """Real search terms from the database: names, initials and tails in the community."""
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
        rows = conn.execute(
            "SELECT name, name_initials, id_tail FROM people_resident "
            "WHERE area_code LIKE %s AND id_type = 'ID' ORDER BY md5(id::text) LIMIT 200",
            [community + "%"],
        ).fetchall()
    return {
        "surname": sorted({r[0][0] for r in rows}),
        "full name": [r[0] for r in rows],
        "initials": [r[1] for r in rows],
        "last 4 digits": [r[2] for r in rows],
    }


def wait_up(client: Client, process: subprocess.Popen) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit("gunicorn stopped")
        try:
            if client.get("/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--requests", type=int, default=200, help="requests per path and user")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    logins = {x["username"]: x["password"] for x in json.loads(LOGINS.read_text())["logins"]}
    with psycopg.connect(args.database_url.replace("postgres://", "postgresql://", 1)) as conn:
        residents = conn.execute("SELECT count(*) FROM people_resident").fetchone()[0]
        community = conn.execute(
            "SELECT a.code FROM areas_area a JOIN accounts_user_areas ua ON ua.area_id = a.id "
            "JOIN accounts_user u ON u.id = ua.user_id WHERE u.username = 'community_a'"
        ).fetchone()[0]
    terms = samples(args.database_url, community)
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "FANGKONG_BIND": f"127.0.0.1:{args.port}",
        "FANGKONG_ACCESS_LOG": "",
        # One user sends thousands of searches here; a person is limited per minute.
        "FANGKONG_SEARCH_RATE_LIMIT": "0",
    }
    collect_static(args.database_url)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"], cwd=ROOT, env=env
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_up(Client(base), server)
        print(f"machine: {machine()}")
        print(f"{residents:,} residents; community {community}; {args.requests} requests a row")
        print(f"{'user':<12} {'path':<28} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}  (ms)")
        worst = 0.0
        for username in ("community_a", "command"):
            client = Client(base)
            client.login(username, logins[username])
            # /healthz (one SELECT 1) is the baseline: what the machine's load alone costs.
            paths = {"baseline: /healthz": ["/healthz"]}
            paths["area page (community)"] = [f"/areas/{community}/"]
            for kind, values in terms.items():
                paths[f"search: {kind}"] = [
                    "/people/?" + urllib.parse.urlencode({"q": v}) for v in values
                ]
            rng = random.Random(1)
            for label, urls in paths.items():
                for url in urls[:20]:  # warm up every gunicorn worker's templates
                    client.get(url)
                times = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    status, _body = client.get(rng.choice(urls))
                    times.append((time.perf_counter() - started) * 1000)
                    if status != 200:
                        raise SystemExit(f"{label}: HTTP {status}")
                p95 = percentile(times, 95)
                if not label.startswith("baseline"):
                    worst = max(worst, p95)
                print(
                    f"{username:<12} {label:<28} {statistics.median(times):7.1f} {p95:7.1f} "
                    f"{percentile(times, 99):7.1f} {max(times):7.1f}"
                )
        verdict = "met" if worst < TARGET_P95_MS else "MISSED"
        print(f"after: {machine()}")
        print(f"worst p95 {worst:.1f} ms; target {TARGET_P95_MS} ms: {verdict}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
