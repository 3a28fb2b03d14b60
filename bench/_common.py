"""What the benchmarks share: the database they use, the machine they ran on."""

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/fk_bench"
LOGINS = OUT / "demo-logins-bench.json"


def fangkong(*args: str, url: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run `fangkong <args>` against the benchmark database."""
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "fangkong", *args], env=env, cwd=ROOT, check=check, **kwargs
    )


def collect_static(url: str) -> None:
    """As `make serve` does before gunicorn starts: production serves collected files."""
    fangkong("collectstatic", "--noinput", "-v", "0", url=url)


def machine() -> str:
    model = platform.processor() or "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} cores, load average {load}"


def cpu_probe() -> float:
    """Seconds for a fixed pure-Python loop (best of 3): how much CPU this process gets
    now. On a shared 2-core machine, compare it with the same probe on an idle one."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        sum(i * i for i in range(3_000_000))
        best = min(best, time.perf_counter() - started)
    return best
