"""Writing households and residents fast: COPY on PostgreSQL, bulk inserts elsewhere.

Rows arrive in chunks and leave at once, so memory holds one chunk, never the load.
Households get their ids here (the residents' rows need them before the households
are written), from a block taken above the table's highest id while it is locked.
"""

import os
from pathlib import Path

from django.db import connection
from django.utils import timezone

from fangkong.areas.models import Household
from fangkong.people.models import Resident

from .population import COLUMNS

HOUSEHOLD_COLUMNS = ("id", "building_id", "area_code", "unit", "room")
# (households, residents, how many households, how many residents), in a loader's form.
Payload = tuple[object, object, int, int]


def _copy_text(rows: list[tuple], tail: tuple[str, ...]) -> bytes:
    """Rows in COPY's text format. The seeder's strings never hold a tab, a newline, a
    carriage return or a backslash (tests hold it so), so nothing needs escaping."""
    end = "".join(f"\t{t}" for t in tail) + "\n"
    return "".join(
        "\t".join([f"\\\\x{v.hex()}" if type(v) is bytes else str(v) for v in row]) + end
        for row in rows
    ).encode()


class Loader:
    """Bulk inserts through the ORM: SQLite and any other backend."""

    def __init__(self):
        self.now = timezone.now()
        self.households_written = 0
        self.residents_written = 0

    def start(self) -> int:
        """The first free household id (the table is locked for the transaction)."""
        self.lock()
        last = Household.objects.order_by("-id").values_list("id", flat=True).first()
        return (last or 0) + 1

    def lock(self) -> None:
        pass  # SQLite's transaction already holds the write lock

    def encode(self, households: list[tuple], residents: list[tuple]) -> Payload:
        """A batch as `write` takes it; runs where the rows are drawn (maybe another
        process), so it must not touch the database."""
        return households, residents, len(households), len(residents)

    def write(self, payload: Payload) -> None:
        households, residents, n_households, n_residents = payload
        Household.objects.bulk_create(
            Household(**dict(zip(HOUSEHOLD_COLUMNS, row, strict=True)), created_at=self.now)
            for row in households
        )
        Resident.objects.bulk_create(
            Resident(
                **dict(zip(COLUMNS, row, strict=True)), created_at=self.now, updated_at=self.now
            )
            for row in residents
        )
        self.households_written += n_households
        self.residents_written += n_residents

    def finish(self) -> None:
        pass

    def database_cpu_seconds(self) -> float | None:
        """CPU time the database server spent for this connection, where it can be read."""
        return None


class PostgresLoader(Loader):
    """COPY FROM STDIN, two statements a chunk.

    When the load is bigger than what the tables hold already (always, into an empty
    database), their secondary indexes and constraints are dropped first and made again
    at the end, in the same transaction: building an index by one sort is many times
    faster than growing it row by row, and a deferred foreign key would otherwise queue
    one check for every row until the commit.
    """

    TABLES = (Household._meta.db_table, Resident._meta.db_table)

    def __init__(self, expected_rows: int):
        super().__init__()
        self.expected_rows = expected_rows
        self.indexes: list[str] = []
        self.constraints: list[tuple[str, str, str]] = []

    def database_cpu_seconds(self) -> float | None:
        # Readable when the server runs on this machine (benchmarks); None elsewhere.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def lock(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {', '.join(self.TABLES)} IN ACCESS EXCLUSIVE MODE")
            cursor.execute(
                "SELECT coalesce(sum(reltuples), 0) FROM pg_class WHERE relname = %s",
                [Resident._meta.db_table],
            )
            if cursor.fetchone()[0] < self.expected_rows:
                self._drop_secondary(cursor)

    def _drop_secondary(self, cursor) -> None:
        # Run the checks the area rows queued, or the ALTERs below refuse to run.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in self.TABLES:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY contype DESC",
                [table],
            )
            constraints = [(table, name, definition) for name, definition in cursor.fetchall()]
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname "
                "AND c.conrelid = %s::regclass)",
                [table, table],
            )
            indexes = cursor.fetchall()
            for _table, name, _definition in constraints:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _definition in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            self.constraints += constraints
            self.indexes += [definition for _name, definition in indexes]

    def _restore_secondary(self, cursor) -> None:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for definition in self.indexes:
            cursor.execute(definition)
        # Unique constraints before foreign keys (which may lean on them).
        for table, name, definition in self.constraints:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')

    def encode(self, households: list[tuple], residents: list[tuple]) -> Payload:
        """COPY's text format, made by the drawing processes, so this one only sends it."""
        now = self.now.isoformat()
        return (
            _copy_text(households, (now,)),
            _copy_text(residents, (now, now)),
            len(households),
            len(residents),
        )

    def write(self, payload: Payload) -> None:
        households, residents, n_households, n_residents = payload
        self._copy(Household, (*HOUSEHOLD_COLUMNS, "created_at"), households)
        self._copy(Resident, (*COLUMNS, "created_at", "updated_at"), residents)
        self.households_written += n_households
        self.residents_written += n_residents

    @staticmethod
    def _copy(model, columns, text: bytes) -> None:
        fields = ", ".join(model._meta.get_field(c).column for c in columns)
        sql = f"COPY {model._meta.db_table} ({fields}) FROM STDIN"
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            copy.write(text)

    def finish(self) -> None:
        with connection.cursor() as cursor:
            self._restore_secondary(cursor)
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                f"(SELECT max(id) FROM {Household._meta.db_table}))",
                [Household._meta.db_table],
            )
            for table in self.TABLES:
                cursor.execute(f"ANALYZE {table}")


def loader_for_connection(expected_rows: int) -> Loader:
    if connection.vendor == "postgresql":
        return PostgresLoader(expected_rows)
    return Loader()
