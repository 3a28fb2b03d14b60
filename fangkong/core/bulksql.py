"""Bulk SQL for the busy paths, for SQLite and PostgreSQL: insert many rows and get back
the new ones, add to counters, select by a long list of keys. An app whose write path
outgrows the ORM's `bulk_create` uses these rather than a statement kit of its own.

On PostgreSQL a batch travels as one array per column (`unnest`, `= ANY`): a statement
of a few placeholders, whatever the batch size, and no model objects. Elsewhere the rows
go in as multi-row VALUES in chunks the backend accepts. `types` name the PostgreSQL type
of each column (`bigint`, `text`, `timestamptz`, `jsonb`…). Thousands of `%s` placeholders would
cost more in the driver's query splitting than in the server.
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
    return insert(table, columns, rows, types, conflict=conflict, returning=returning)


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


# One row at a time, in as few round trips as the work allows (PostgreSQL) -------------


def prepared(sql: str, params: Sequence = ()) -> list[tuple]:
    """Run one statement on PostgreSQL through the driver with server-side binding, on
    Django's connection (so inside its transaction, if one is open) and prepared from its
    first use on that connection: a busy path's statement is then neither parsed nor
    planned again (a join of six tables took longer to plan than to run). Rows as
    tuples, the values as the driver loads them; errors as Django's (IntegrityError…).
    Django's own cursor does not see it (CaptureQueriesContext neither): count such a
    path's round trips from libpq's trace instead."""
    import psycopg

    with connection.wrap_database_errors:
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, list(params), prepare=True)
            return cursor.fetchall() if cursor.description else []


def insert_fields(model, *, exclude: Sequence[str] = ()) -> list:
    """The fields an INSERT of a `model` row writes (its auto primary key left out), in
    the model's order."""
    return [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and f.attname not in exclude and f.column not in exclude
    ]


def insert_values(obj, fields: Sequence) -> list:
    """The values the ORM would send for an INSERT of `obj` (defaults and auto_now
    filled, each prepared for the database), in the order of `fields`."""
    return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def typed(field) -> str:
    """A placeholder cast to the column's type (`%s::bigint`): in a SELECT list or a
    VALUES list of a statement with server-side binding, PostgreSQL cannot infer a
    parameter's type from the column it goes into (a NULL would be text). Character
    columns are cast without their length, so a value too long still fails as the
    ORM's would, instead of being cut."""
    db_type = field.db_type(connection)
    if db_type.startswith("varchar("):
        db_type = "varchar"
    return f"%s::{db_type}"


def load(model, attnames: Sequence[str], values: Sequence):
    """An instance of `model` from a row of `prepared` (values in the model's field order,
    for the fields `attnames`, the others deferred), each value converted as the ORM
    converts what it reads (JSON, …)."""
    by_name = {f.attname: f for f in model._meta.concrete_fields}
    converted = list(values)
    for i, name in enumerate(f for f in by_name if f in attnames):
        field = by_name[name]
        for convert in field.get_db_converters(connection):
            converted[i] = convert(converted[i], field.cached_col, connection)
    return model.from_db(connection.alias, list(attnames), converted)
