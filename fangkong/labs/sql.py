"""The two raw statements the busy path needs, written once for SQLite and PostgreSQL."""

from django.db import connection


def adapt_time(value):
    return connection.ops.adapt_datetimefield_value(value)


def _batch(columns: int) -> int:
    limit = connection.features.max_query_params or 60_000
    return max(1, min(5000, limit // columns))


def insert_returning(
    table: str, columns: list[str], rows: list[tuple], conflict: str, returning: str
) -> list[tuple]:
    """Multi-row INSERT … ON CONFLICT (…) DO NOTHING RETURNING …; rows that were new."""
    out: list[tuple] = []
    if not rows:
        return out
    cols = ", ".join(columns)
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    size = _batch(len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            cursor.execute(
                f"INSERT INTO {table} ({cols}) VALUES {', '.join([one] * len(chunk))} "
                f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {returning}",
                [v for row in chunk for v in row],
            )
            out.extend(cursor.fetchall())
    return out


def upsert_add(table: str, keys: list[str], counters: list[str], rows: list[tuple]) -> None:
    """Add `counters` to the row of `keys`, making it when missing (one statement a row)."""
    if not rows:
        return
    columns = keys + counters
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counters)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
