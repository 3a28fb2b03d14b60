"""Set-based writes and reads of many rows at once, for SQLite and PostgreSQL.

On PostgreSQL a batch travels as one array per column (`unnest`, `= ANY`): a statement
of a few placeholders, whatever the batch size, and no model objects. Thousands of `%s`
placeholders would cost more in the driver's query splitting than in the server.
Elsewhere the rows go in as multi-row VALUES in chunks the backend accepts.

`types` name the PostgreSQL type of each column (`bigint`, `text`, `timestamptz`,
`jsonb`, `numeric`, `boolean`, `bytea`…); on SQLite they say how to adapt a value.
"""

import datetime as dt
from collections.abc import Sequence

from django.db import connection


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _batch(columns: int) -> int:
    limit = connection.features.max_query_params or 60_000
    return max(1, min(5000, limit // columns))


def insert(
    table: str,
    columns: Sequence[str],
    rows: Sequence[tuple],
    types: Sequence[str],
    *,
    conflict: str | None = None,
    returning: str | None = None,
) -> list[tuple]:
    """INSERT the rows (one statement on PostgreSQL); `conflict` adds `ON CONFLICT
    (conflict) DO NOTHING`; with `returning`, the rows the statement gave back (those
    that were new)."""
    out: list[tuple] = []
    if not rows:
        return out
    tail = f" ON CONFLICT ({conflict}) DO NOTHING" if conflict else ""
    tail += f" RETURNING {returning}" if returning else ""
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if is_postgres():
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}){tail}",  # noqa: S608
                [
                    array_literal(column, t)
                    for column, t in zip(zip(*rows, strict=True), types, strict=True)
                ],
            )
            return cursor.fetchall() if returning else out
        adapt = [_sqlite_adapter(t) for t in types]
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        size = _batch(len(columns))
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * len(chunk))}{tail}",  # noqa: S608
                [f(v) if f else v for row in chunk for f, v in zip(adapt, row, strict=True)],
            )
            if returning:
                out.extend(cursor.fetchall())
    return out


def select_any(sql: str, column: str, values: Sequence, pg_type: str) -> list[tuple]:
    """Run `sql` (with a `{match}` slot) for rows whose `column` is one of `values`."""
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute(sql.format(match=f"{column} = ANY(%s::{pg_type}[])"), [list(values)])
            return cursor.fetchall()
        out = []
        for start in range(0, len(values), 900):
            chunk = list(values[start : start + 900])
            match = f"{column} IN ({', '.join(['%s'] * len(chunk))})"
            cursor.execute(sql.format(match=match), chunk)
            out.extend(cursor.fetchall())
        return out


def _sqlite_adapter(pg_type: str):
    if pg_type == "timestamptz":  # aware datetimes as the backend's text (text as it is)
        adapt = connection.ops.adapt_datetimefield_value
        return lambda v: adapt(v) if isinstance(v, dt.datetime) else v
    if pg_type == "numeric":
        return lambda v: None if v is None else str(v)
    return None


def array_literal(values, pg_type: str) -> str:
    """A PostgreSQL array literal, made with one join (the driver's list adapter costs
    microseconds an element, a million rows are seconds)."""
    if pg_type in ("bigint", "integer", "smallint"):
        if None not in values:
            return "{" + ",".join(map(str, values)) + "}"
        return "{" + ",".join("NULL" if v is None else str(v) for v in values) + "}"
    if pg_type == "boolean":
        return "{" + ",".join("NULL" if v is None else ("t" if v else "f") for v in values) + "}"
    out = []
    seen: dict = {}  # a column often repeats itself (a run, a time, a community)
    for v in values:
        quoted = seen.get(v)
        if quoted is None:
            if v is None:
                quoted = "NULL"
            else:
                if isinstance(v, bytes | memoryview):
                    text = "\\x" + bytes(v).hex()
                else:
                    text = v.isoformat() if hasattr(v, "isoformat") else str(v)
                quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
            seen[v] = quoted
        out.append(quoted)
    return "{" + ",".join(out) + "}"
