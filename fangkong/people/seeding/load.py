"""Writing households and residents fast: COPY on PostgreSQL, bulk inserts elsewhere.

Rows arrive in chunks and leave at once, so memory holds one chunk, never the load.
Households get their ids here (the residents' rows need them before the households
are written), from a block taken above the table's highest id while it is locked.
"""

from django.db import connection
from django.utils import timezone

from fangkong.areas.models import Household
from fangkong.people.models import Resident

from .population import COLUMNS

HOUSEHOLD_COLUMNS = ("id", "building_id", "area_code", "unit", "room")


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

    def write(self, households: list[tuple], residents: list[tuple]) -> None:
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
        self.households_written += len(households)
        self.residents_written += len(residents)

    def finish(self) -> None:
        pass


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

    def write(self, households: list[tuple], residents: list[tuple]) -> None:
        now = self.now
        self._copy(Household, (*HOUSEHOLD_COLUMNS, "created_at"), households, (now,))
        self._copy(Resident, (*COLUMNS, "created_at", "updated_at"), residents, (now, now))
        self.households_written += len(households)
        self.residents_written += len(residents)

    @staticmethod
    def _copy(model, columns, rows, tail) -> None:
        # write_row formats in C and streams as it goes, so the server works meanwhile.
        fields = ", ".join(model._meta.get_field(c).column for c in columns)
        sql = f"COPY {model._meta.db_table} ({fields}) FROM STDIN"
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row((*row, *tail))

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
