"""The statement kit of the upload path: one round trip where it can, one JSON parameter a batch."""

import datetime as dt
import functools
import json

from django.db import DEFAULT_DB_ALIAS, connection, connections

CHUNK = 500  # rows per multi-row statement (SQLite allows 32766 parameters)


def _dt(value):
    """A datetime as the backend takes it as a parameter (PostgreSQL: as it is)."""
    return value if _pg() else connection.ops.adapt_datetimefield_value(value)


# The statements of the upload path. On PostgreSQL they go through a psycopg cursor with
# server-side binding on Django's own connection (so inside its transaction), and are
# prepared on the connection's first use (settings give the driver a threshold). A
# batch travels as ONE parameter: a JSON array of rows, taken apart by PostgreSQL
# (`jsonb_array_elements`), and a list of keys as a JSON array too. The driver's own
# array parameters cost ~7 µs of Python an element (a sample row has 17 columns): a
# 15-person batch spent more on adapting its arrays than on the rest of its insert;
# `json.dumps` makes the same text in C. The statement texts never depend on the batch,
# so each is planned once. Elsewhere (SQLite), Django's cursor and multi-row VALUES.


@functools.cache
def _pg() -> bool:
    return connections[DEFAULT_DB_ALIAS].vendor == "postgresql"


def _cursor():
    if _pg():
        import psycopg

        connection.ensure_connection()
        return psycopg.Cursor(connection.connection)
    return connection.cursor()


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.wrap_database_errors, _cursor() as cursor:
        if _pg():
            cursor.execute(sql, list(params), prepare=True)
        else:
            cursor.execute(sql, list(params))
        return cursor.fetchall() if cursor.description else []


def _run_many(sql: str, rows: list[tuple]) -> None:
    if rows:
        with connection.wrap_database_errors, _cursor() as cursor:
            cursor.executemany(sql, rows)


def _run(statements: list[tuple[str, list]]) -> list[tuple]:
    """Run `statements` in order and return the rows of the last. On PostgreSQL they go
    in one round trip (the driver's pipeline mode): a statement whose answer the
    Python side does not need before the next should not cost a round trip of its own
    (each is ~80 µs of CPU on the two sides, ~10 an upload)."""
    return _run_each(statements)[-1] if statements else []


def _run_each(statements: list[tuple[str, list]], *, begin: bool = False) -> list[list[tuple]]:
    """Run `statements` in order (one round trip on PostgreSQL); the rows of each.

    `begin`: the first statements of a transaction Django has opened (`atomic`) but not
    yet begun on the server: BEGIN goes in the same round trip (see `_begin_here`)."""
    if not statements:
        return []
    if not _pg():
        return [_rows(sql, params) for sql, params in statements]
    import psycopg

    with connection.wrap_database_errors:
        connection.ensure_connection()
        conn = connection.connection
        begun = begin and _begin_here(conn)
        if len(statements) == 1 and not begun:
            return [_rows(*statements[0])]
        cursors = []
        try:
            with conn.pipeline():
                if begun:
                    conn.execute("BEGIN")
                for sql, params in statements:
                    cursor = psycopg.Cursor(conn)
                    cursor.execute(sql, list(params), prepare=True)
                    cursors.append(cursor)
        finally:
            if begun and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                conn.autocommit = False  # BEGIN never ran: as Django left it
        out = [cursor.fetchall() if cursor.description else [] for cursor in cursors]
        for cursor in cursors:
            cursor.close()
        return out


def _begin_here(conn) -> bool:
    """Whether to send BEGIN with the statements that follow, in their round trip.

    Inside `atomic`, Django has turned the driver's autocommit off; psycopg then sends
    BEGIN before the first statement and waits for its answer (also in pipeline mode):
    a round trip of its own. When nothing has run yet in the transaction (the server's
    side is idle) and the transaction is a plain BEGIN (no isolation level or access
    mode set on the connection), the driver's autocommit is turned on while the server
    is idle (allowed) and BEGIN is sent as the pipeline's first statement: the server
    is then inside the transaction Django believes it opened. The driver's flag stays
    on until Django ends the transaction, which is safe: its commit and rollback look at
    the server's transaction status, not at the flag (COMMIT / ROLLBACK are sent while
    the server is in a transaction), and Django turns autocommit on again at the end of
    `atomic` anyway. If the pipeline fails before BEGIN ran, the flag is put back."""
    import psycopg

    if not connection.in_atomic_block or connection.get_autocommit() or conn.autocommit:
        return False
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        return False
    if conn.isolation_level is not None or conn.read_only is not None:
        return False
    if conn.deferrable is not None:
        return False
    conn.autocommit = True
    return True


def _json_value(value):
    """What `json.dumps` cannot write itself, as PostgreSQL reads it back from text."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return "\\x" + bytes(value).hex()  # bytea's hex input format
    raise TypeError(f"cannot pass {type(value).__name__} to PostgreSQL as JSON")


def _json(values) -> str:
    return json.dumps(values, default=_json_value, ensure_ascii=False, separators=(",", ":"))


def _any(column: str, values, kind: str = "text") -> tuple[str, list]:
    """`column` equals one of `values` (of SQL type `kind`): one parameter on PostgreSQL."""
    values = list(values)
    if _pg():
        items = "json_array_elements_text(%s::json)"
        if kind != "text":
            items += f"::{kind}"
        return f"{column} = ANY(ARRAY(SELECT {items}))", [_json(values)]
    if not values:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values


def _insert_statements(model, columns, rows, conflict: str, returning: str):
    """INSERT … ON CONFLICT (…) DO NOTHING RETURNING … of `rows`: [(sql, params)]."""
    table, cols = model._meta.db_table, ", ".join(columns)
    tail = f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {returning}"
    if _pg():
        # One JSON array of rows (jsonb: parsed once, not once a column); row[i] is cast
        # to the column's type.
        values = ", ".join(
            f"(r->>{i})::{_column_type(model, name)}" for i, name in enumerate(columns)
        )
        sql = (
            f"INSERT INTO {table} ({cols}) SELECT {values} "
            f"FROM jsonb_array_elements(%s::jsonb) AS r {tail}"
        )
        return [(sql, [_json(rows)])]
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    out = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        sql = f"INSERT INTO {table} ({cols}) VALUES {', '.join([one] * len(chunk))} {tail}"
        out.append((sql, [v for row in chunk for v in row]))
    return out


def _insert_returning(model, columns: list[str], rows: list[tuple], conflict: str, returning):
    """Insert what is not there yet; return RETURNING of the rows that went in."""
    out = []
    for sql, params in (
        _insert_statements(model, columns, rows, conflict, returning) if rows else []
    ):
        out.extend(_rows(sql, params))
    return out


@functools.cache
def _column_type(model, column: str) -> str:
    field = next(f for f in model._meta.concrete_fields if f.column == column)
    return field.rel_db_type(connection) if field.is_relation else field.db_type(connection)
