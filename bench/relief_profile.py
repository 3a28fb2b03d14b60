"""Where the time of one ask goes: new asks and their retries through the WSGI
application in-process (the middleware as gunicorn runs it), timed, their statements
counted, and profiled with cProfile.

    .venv/bin/python bench/relief_profile.py [--database-url …fk_relief_bench] [--asks 300]
        [--profile 25] [--full]

Needs a database `bench/relief.py` made (residents seeded). Makes its own resident
accounts (`prof_res_*`) with tokens in households outside the first street, and one new
ask a household and category, so none merges. `--full` sends the asks the browser's way
(the full middleware stack) even when the lean way in covers them.
"""

import argparse
import cProfile
import io
import json
import pstats
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import django_setup  # noqa: E402
from relief import resident_tokens  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/fk_relief_bench"


def accounts(count: int) -> list[str]:
    from fangkong.areas.models import Area, Level
    from fangkong.people.models import Resident

    street = Area.objects.filter(level=Level.STREET).order_by("code").first()
    chosen = list(
        Resident.objects.exclude(area_code__startswith=street.code)
        .exclude(household__residents__user__username__startswith="bench_res_")
        .order_by("-household_id", "id")
        .distinct("household_id")
        .values_list("id", flat=True)[:count]
    )
    return resident_tokens(chosen, "prof")


def environ(key: str, body: bytes) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/relief/requests",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {key}",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--asks", type=int, default=300)
    parser.add_argument("--profile", type=int, default=25, help="rows of the profile shown")
    parser.add_argument("--full", action="store_true", help="the full middleware stack")
    args = parser.parse_args()
    django_setup(args.database_url)
    from django.conf import settings
    from django.db import connection

    from fangkong.relief.models import Category

    if args.full:
        settings.FANGKONG_DEVICE_PATHS = []
    from fangkong.relief.models import ReliefRequest
    from fangkong.wsgi import application

    # A run before this one left its needs open: they would merge the asks of this one.
    ReliefRequest.objects.filter(registered_by__username__startswith="prof_res_").delete()
    keys = accounts(args.asks * 2 + 20)
    codes = list(
        Category.objects.filter(area_code="", for_residents=True).values_list("code", flat=True)
    )
    rng = random.Random(3)
    statements: list[int] = [0]

    def count(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    def send(key: str, body: bytes) -> tuple[str, float, int]:
        out: list[str] = []
        statements[0] = 0
        started = time.perf_counter()
        with connection.execute_wrapper(count):
            chunks = application(environ(key, body), lambda s, h: out.append(s))
            data = b"".join(chunks)
        ms = (time.perf_counter() - started) * 1000
        assert out[0][:3] in ("200", "201"), (out, data[:300])
        return json.loads(data)["outcome"], ms, statements[0]

    def bodies(chunk: list[str]) -> list[tuple[str, bytes]]:
        return [
            (
                key,
                json.dumps(
                    {"client_id": uuid.uuid4().hex, "category": rng.choice(codes), "detail": "prof"}
                ).encode(),
            )
            for key in chunk
        ]

    for key, body in bodies(keys[:20]):  # warm: URLs, schemas, caches, prepared statements
        send(key, body)
        send(key, body)
    timed = bodies(keys[20 : 20 + args.asks])
    new, retry, n_new, n_retry = [], [], [], []
    for key, body in timed:
        outcome, ms, n = send(key, body)
        assert outcome == "created", outcome
        new.append(ms)
        n_new.append(n)
        outcome, ms, n = send(key, body)
        assert outcome == "repeat", outcome
        retry.append(ms)
        n_retry.append(n)
    way = "full stack" if args.full else "as configured (FANGKONG_DEVICE_PATHS)"
    print(f"{args.asks} new asks and their retries, one after another, in-process, {way}")
    for label, values, counts in (("new ask", new, n_new), ("retry", retry, n_retry)):
        print(
            f"  {label:<8} p50 {statistics.median(values):6.2f} ms  mean "
            f"{statistics.fmean(values):6.2f} ms  min {min(values):6.2f} ms  "
            f"Django statements {statistics.median(counts):.0f}"
        )
    profiled = bodies(keys[20 + args.asks : 20 + 2 * args.asks])
    profile = cProfile.Profile()
    profile.enable()
    for key, body in profiled:
        send(key, body)
        send(key, body)
    profile.disable()
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats(order).print_stats(args.profile)
        print(f"\n--- profile of {len(profiled)} new asks + retries, by {order} ---")
        print("\n".join(text.getvalue().splitlines()[6:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
