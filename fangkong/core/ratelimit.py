"""Per-user rate limits, counted in the database so that every server process (and
every machine) shares one count. A fixed window: simple, and at most twice the limit
across a window's edge, which is enough to stop a script while a person never meets it.
"""

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


def hit(key: str, *, limit: int, window_s: int, what: tuple[str, str]) -> None:
    """Count one use of `key`; RateLimited once the current window holds more than `limit`.

    `what` names the action in Chinese and English for the refusal. A limit of 0 or
    less turns the check off.
    """
    if limit <= 0:
        return
    now = time.time()
    start = int(now // window_s) * window_s
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(), [key[:100], start])
        (count,) = cursor.fetchone()
    if count > limit:
        wait = int(start + window_s - now) + 1
        zh, en = what
        raise RateLimited(
            f"{zh}过于频繁：每{window_s}秒最多{limit}次，请{wait}秒后再试",
            f"too many {en}: at most {limit} in {window_s} s; try again in {wait} s",
            retry_after=wait,
        )
