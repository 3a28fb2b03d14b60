"""Which gunicorn layout (processes × threads) serves uploads best on this machine.

    .venv/bin/python bench/gunicorn_layout.py [--layouts 2x2,2x4,3x4,4x4] [--seconds 15]
        [--database-url postgres://…/fk_ingest]

For each layout, `bench/ingest.py --reuse --no-overload` (one sealed tube an upload,
the same filled database, a fresh round each time) with FANGKONG_WEB_WORKERS and
FANGKONG_WEB_THREADS set for the server; prints people a second, p50/p99 and the
server's CPU per 1,000 people of each, with the load average before and after. The
load generator (wrk) and PostgreSQL share the cores with the server, as in
bench/ingest.py. The chosen layout goes into deploy/gunicorn.conf.py.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, ROOT, machine  # noqa: E402
from ingest import DEFAULT_URL  # noqa: E402


def run(layout: str, args) -> dict:
    workers, threads = layout.split("x")
    command = [sys.executable, "bench/ingest.py", "--reuse", "--no-overload"]
    command += ["--database-url", args.database_url, "--seconds", str(args.seconds)]
    command += ["--tubes-per-upload", "1", "--connections", str(args.connections)]
    command += ["--server-env", f"FANGKONG_WEB_WORKERS={workers}"]
    command += ["--server-env", f"FANGKONG_WEB_THREADS={threads}"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        print(done.stdout[-2000:], done.stderr[-2000:])
        raise SystemExit(f"{layout}: bench/ingest.py failed")
    return json.loads((OUT / "ingest-result.json").read_text())["sustained-1"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--layouts", default="2x2,2x4,3x4,4x4")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{'layout':<8} {'people/s':>9} {'p50 ms':>8} {'p99 ms':>8}  {'server CPU s/1,000':>18}")
    for layout in args.layouts.split(","):
        r = run(layout, args)
        cpu = (r["cpu_app_s"] + r["cpu_db_s"]) / max(r["stored"], 1) * 1000
        print(
            f"{layout:<8} {r['people_per_s']:>9,.0f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}"
            f"  {cpu:>18.3f}  load at the end {r['load']:.1f}",
            flush=True,
        )
    print(f"after: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
