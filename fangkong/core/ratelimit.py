"""Per-user rate limits, counted in the database so that every server process (and
every machine) shares one count. A fixed window: simple, and at most twice the limit
across a window's edge, which is enough to stop a script while a person never meets it.
"""

import math
import time

from django.db import connection

from .errors import RateLimited
from .models import RateCounter


def _upsert_sql() -> str:
    table = connection.ops.quote_name(RateCounter._meta.db_table)
    # ON CONFLICT ... RETURNING: PostgreSQL 9.5+ and SQLite 3.35+.
    return (
        f"INSERT INTO {table} (key, window_start, count) VALUES (%s, %s, 1) "
        f"ON CONFLICT (key) DO UPDATE SET count = CASE "
        f"WHEN {table}.window_start = excluded.window_start THEN {table}.count + 1 ELSE 1 END, "
        f"window_start = excluded.window_start RETURNING count"
    )


def _window(window_s: int) -> tuple[int, int]:
    """The current window's start and the whole seconds until the next one begins."""
    now = time.time()
    start = int(now // window_s) * window_s
    return start, max(1, math.ceil(start + window_s - now))


def count(key: str, *, window_s: int) -> int:
    """Count one use of `key` in the current window; the uses so far, this one included."""
    start, _ = _window(window_s)
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(), [key[:100], start])
        return cursor.fetchone()[0]


def used(key: str, *, window_s: int) -> tuple[int, int]:
    """Uses of `key` in the current window (not counting this look) and the seconds left."""
    start, left = _window(window_s)
    row = RateCounter.objects.filter(key=key[:100], window_start=start).values("count").first()
    return (row["count"] if row else 0), left


def refusal(what: tuple[str, str], limit: int, window_s: int, wait: int) -> RateLimited:
    zh, en = what
    return RateLimited(
        f"{zh}过于频繁：每{window_s}秒最多{limit}次，请{wait}秒后再试",
        f"too many {en}: at most {limit} in {window_s} s; try again in {wait} s",
        retry_after=wait,
    )


def hit(key: str, *, limit: int, window_s: int, what: tuple[str, str]) -> None:
    """Count one use of `key`; RateLimited once the current window holds more than `limit`.

    `what` names the action in Chinese and English for the refusal. A limit of 0 or
    less turns the check off.
    """
    if limit <= 0:
        return
    if count(key, window_s=window_s) > limit:
        raise refusal(what, limit, window_s, _window(window_s)[1])


def prune(*, older_than_s: int = 86_400) -> int:
    """Drop counters whose window ended long ago (keys used once, such as the names
    tried at the login page); returns how many."""
    cut = int(time.time()) - older_than_s
    return RateCounter.objects.filter(window_start__lt=cut).delete()[0]
