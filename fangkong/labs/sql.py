"""The raw statements the busy path needs, for SQLite and PostgreSQL.

On PostgreSQL a batch travels as one array per column (`unnest`, `= ANY`): a statement
of a few placeholders, whatever the batch size. Thousands of `%s` placeholders would
cost more in the driver's query splitting than in the server.
"""

from django.db import connection

from fangkong.core import bulk
from fangkong.core.bulk import is_postgres, select_any  # noqa: F401 (this module's API)


def time_adapter():
    """How to pass a datetime in `insert_returning` rows: as it is to PostgreSQL (it goes
    in an array literal as ISO text), as the backend's text to SQLite."""
    if is_postgres():
        return lambda value: value
    return connection.ops.adapt_datetimefield_value


def adapt_time(value):
    return time_adapter()(value)


def insert_returning(
    table: str,
    columns: list[str],
    rows: list[tuple],
    conflict: str,
    returning: str,
    types: list[str],
) -> list[tuple]:
    """INSERT … ON CONFLICT (…) DO NOTHING RETURNING …: the rows that were new.

    `types` are the PostgreSQL types of the columns, for the arrays."""
    return bulk.insert(table, columns, rows, types, conflict=conflict, returning=returning)


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


def epoch(column: str) -> str:
    """SQL for a timestamp column as seconds since 1970 (cheaper to read than a datetime)."""
    if is_postgres():
        return f"EXTRACT(EPOCH FROM {column})::float8"
    return f"CAST(strftime('%%s', {column}) AS REAL)"
