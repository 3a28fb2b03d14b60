"""The two engines the exposure queries run on: small adapters around query.py.

Each adapter does three things: register the inputs under the names the queries use
(`scans`, `cases`, `pings`), turning stored timestamps into epoch microseconds on the
way; run a list of steps; and hand back the last step's rows as plain tuples. Only
here does SQL differ between DuckDB and Spark.
"""

import datetime as dt
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb

from .conf import DUCKDB, AnalyticsConf
from .query import MICROS_PER_DAY, Step

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# (name, SQL type) of the tables the queries read.
CASES_COLUMNS = (
    ("case_id", "VARCHAR"),
    ("person_id", "VARCHAR"),
    ("start_us", "BIGINT"),
    ("end_us", "BIGINT"),
)


def utc_from_us(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us)


def us_from_datetime(when: dt.datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("an aware datetime is needed")
    delta = when - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _utc_literal(us: int) -> str:
    return utc_from_us(us).strftime("%Y-%m-%d %H:%M:%S.%f+00")


def _day_span(lo_us: int, hi_us: int) -> tuple[str, str]:
    return (
        utc_from_us(lo_us - lo_us % MICROS_PER_DAY).date().isoformat(),
        utc_from_us(hi_us).date().isoformat(),
    )


class DuckDBEngine:
    """DuckDB in this process: reads Parquet and CSV directly, spills to disk past its
    memory limit. Also the loader of input files for both engines (files.py)."""

    name = DUCKDB

    def __init__(self, conf: AnalyticsConf):
        conf.temp_directory.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(
            config={
                "memory_limit": conf.memory_limit,
                "threads": conf.threads,
                "temp_directory": str(conf.temp_directory),
                # Order is not needed anywhere: results are sorted at the end.
                "preserve_insertion_order": False,
            }
        )
        self.con.execute("SET TimeZone = 'UTC'")
        # The queries hash the side written second (query.py). DuckDB's own choice
        # misjudges a Parquet scan's size and hashed all 10^8 scans instead of 1,000
        # cases (200 s instead of 30 at 10^8 scans: docs/benchmarks.md).
        self.con.execute("SET disabled_optimizers = 'build_side_probe_side'")

    def close(self) -> None:
        self.con.close()

    def scans_from_store(self, root: Path, *, span: tuple[int, int]) -> None:
        """`scans` over the stored Parquet (store.py), pruned to the days of `span` by
        partition and to its time by the files' row-group statistics."""
        lo, hi = span
        first, last = _day_span(lo, hi)
        pattern = str(root / "day=*" / "*.parquet")
        self.con.execute(
            f"""
            CREATE OR REPLACE TEMP VIEW scans AS
            SELECT person_key AS person_id, venue_code, epoch_us(scanned_at) AS at_us
            FROM read_parquet({_quote(pattern)}, hive_partitioning = true)
            WHERE day BETWEEN DATE {_quote(first)} AND DATE {_quote(last)}
              AND scanned_at BETWEEN TIMESTAMPTZ {_quote(_utc_literal(lo))}
                                 AND TIMESTAMPTZ {_quote(_utc_literal(hi))}
            """
        )

    def cases_from_rows(self, rows: Sequence[tuple]) -> None:
        columns = ", ".join(f"{name} {kind}" for name, kind in CASES_COLUMNS)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE cases ({columns})")
        if rows:
            self.con.executemany("INSERT INTO cases VALUES (?, ?, ?, ?)", list(rows))

    def run(self, steps: Sequence[Step], *, order_by: str) -> list[tuple]:
        for step in steps:
            kind = "TABLE" if step.small else "VIEW"
            self.con.execute(f"CREATE OR REPLACE TEMP {kind} {step.name} AS {step.sql}")
        return self.con.sql(f"SELECT * FROM {steps[-1].name} ORDER BY {order_by}").fetchall()

    def export_parquet(self, table: str) -> Path:
        """Write a loader table to a scratch Parquet file, for another engine to read."""
        folder = Path(tempfile.mkdtemp(prefix="fk-exposure-"))
        path = folder / f"{table}.parquet"
        self.con.execute(f"COPY {table} TO {_quote(str(path))} (FORMAT parquet)")
        return path


class SparkEngine:
    """PySpark: the same steps as Spark SQL temp views, on the master in the conf."""

    def __init__(self, conf: AnalyticsConf, master: str):
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise RuntimeError(
                "Spark needs pyspark: pip install -e '.[spark]' (and Java 17)"
            ) from exc
        self.name = f"spark:{master}"
        self._scratch: list[Path] = []
        builder = SparkSession.builder
        if master.startswith("local"):
            # Local mode talks to itself only: on loopback, whatever the host name says.
            builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config(
                "spark.driver.host", "127.0.0.1"
            )
        self.spark = (
            builder.master(master)
            .appName("fangkong-exposure")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(conf.spark_partitions))
            .config("spark.driver.memory", conf.spark_driver_memory)
            .config("spark.local.dir", str(conf.temp_directory))
            .getOrCreate()
        )
        self.spark.sparkContext.setLogLevel("ERROR")

    def close(self, *, stop: bool = True) -> None:
        for folder in self._scratch:
            shutil.rmtree(folder, ignore_errors=True)
        if stop:
            self.spark.stop()

    def scans_from_store(self, root: Path, *, span: tuple[int, int]) -> None:
        lo, hi = span
        first, last = _day_span(lo, hi)
        (
            self.spark.read.parquet(str(root))
            .where(f"day BETWEEN DATE'{first}' AND DATE'{last}'")
            .where(f"scanned_at BETWEEN timestamp_micros({lo}) AND timestamp_micros({hi})")
            .selectExpr("person_key AS person_id", "venue_code", "unix_micros(scanned_at) AS at_us")
            .createOrReplaceTempView("scans")
        )

    def parquet_view(self, name: str, path: Path) -> None:
        """A view over a file the DuckDB loader wrote (scans or pings, times in epoch
        microseconds already)."""
        self._track(path)
        self.spark.read.parquet(str(path)).createOrReplaceTempView(name)

    def cases_from_rows(self, rows: Sequence[tuple]) -> None:
        schema = ", ".join(
            f"{name} {'STRING' if kind == 'VARCHAR' else kind}" for name, kind in CASES_COLUMNS
        )
        self.spark.createDataFrame(list(rows), schema).createOrReplaceTempView("cases")

    def run(self, steps: Sequence[Step], *, order_by: str) -> list[tuple]:
        for step in steps:
            frame = self.spark.sql(step.sql)
            if step.small:
                frame = frame.cache()
            frame.createOrReplaceTempView(step.name)
        rows = self.spark.sql(f"SELECT * FROM {steps[-1].name} ORDER BY {order_by}").collect()
        return [tuple(row) for row in rows]

    def _track(self, path: Path) -> None:
        if path.parent.name.startswith("fk-exposure-"):
            self._scratch.append(path.parent)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
