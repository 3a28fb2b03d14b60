"""Time seeding the demo district into a fresh PostgreSQL database.

    .venv/bin/python bench/seed.py [--residents 1000000] [--database-url URL]

Drops and re-creates the database (default fk_bench), migrates it, then times
`fangkong seed` as a child process and prints seconds, rows a second and the child's
peak memory and CPU time. The seeded database is left for bench/pages.py. Target: 1,000,000
residents in under 3 minutes.
"""

import argparse
import re
import resource
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
from _common import DEFAULT_URL, LOGINS, OUT, fangkong, machine

TARGET_SECONDS = 180


def recreate(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    recreate(args.database_url)
    fangkong("migrate", "-v", "0", url=args.database_url)
    print(f"machine: {machine()}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = fangkong(
        "seed",
        "--residents",
        str(args.residents),
        "--seed",
        str(args.seed),
        "--logins-file",
        str(LOGINS),
        "-v",
        "2",
        url=args.database_url,
        stdout=subprocess.PIPE,
        text=True,
        stderr=open(OUT / "seed-progress.log", "w"),  # noqa: SIM115
    )
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = usage.ru_maxrss / 1024
    cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    print(done.stdout, end="")
    found = re.search(r"database server CPU: ([\d.]+) s", done.stdout)
    database_cpu = f"{float(found.group(1)):.0f}" if found else "?"
    verdict = "met" if seconds < TARGET_SECONDS or args.residents < 1_000_000 else "MISSED"
    print(f"after: {machine()}")
    print(
        f"seeded {args.residents:,} residents in {seconds:.1f} s "
        f"({args.residents / seconds:,.0f} residents/s), peak RSS {peak_mb:.0f} MiB, "
        f"CPU seconds: {cpu:.0f} seeding processes + {database_cpu} database server; "
        f"target {TARGET_SECONDS} s for 1,000,000: {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
