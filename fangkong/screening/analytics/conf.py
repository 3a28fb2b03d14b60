"""Knobs of the analytics engines and the scan store, from the environment.

| variable | default | meaning |
|---|---|---|
| FANGKONG_ANALYTICS | duckdb | `duckdb`, or a Spark master URL (`local[2]`, `spark://host:7077`, `yarn`) to run the same queries on Apache Spark |
| FANGKONG_ANALYTICS_DIR | PROJECT_DIR/analytics | where venue scans are stored as Parquet, partitioned by day |
| FANGKONG_ANALYTICS_MEMORY | 4GB | DuckDB's memory_limit; past it DuckDB spills to the temp directory |
| FANGKONG_ANALYTICS_THREADS | the machine's cores | DuckDB's threads |
| FANGKONG_ANALYTICS_TEMP_DIR | FANGKONG_ANALYTICS_DIR/tmp | DuckDB's temp_directory (spilling), and scratch files for Spark |
| FANGKONG_SPARK_DRIVER_MEMORY | 2g | spark.driver.memory when this process starts Spark's JVM |
| FANGKONG_SPARK_PARTITIONS | 8 | spark.sql.shuffle.partitions |

A Django setting of the same name without the `FANGKONG_` prefix (`ANALYTICS_DIR`, …)
wins over the environment, so tests and deployments can set them either way.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from fangkong.core import env

DUCKDB = "duckdb"
_SPARK_MASTER = re.compile(
    r"^(local(\[(\d+|\*)(,\d+)?\])?|spark://\S+|yarn|k8s://\S+|mesos://\S+)$"
)
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


def _value(name: str) -> str | None:
    value = getattr(settings, name.removeprefix("FANGKONG_"), None)
    if value is None:
        value = os.environ.get(name)
    return None if value is None or value == "" else str(value)


@dataclass(frozen=True)
class AnalyticsConf:
    engine: str  # "duckdb" or a Spark master URL
    directory: Path
    memory_limit: str
    threads: int
    temp_directory: Path
    spark_driver_memory: str
    spark_partitions: int

    @property
    def spark_master(self) -> str | None:
        return None if self.engine == DUCKDB else self.engine

    @property
    def scans_dir(self) -> Path:
        return self.directory / "scans"


def engine_name(value: str) -> str:
    """`duckdb` or a Spark master URL; anything else is refused loudly."""
    value = value.strip()
    if value.lower() == DUCKDB:
        return DUCKDB
    if value.lower() == "spark":
        return "local[*]"
    if not _SPARK_MASTER.match(value):
        raise ImproperlyConfigured(
            f"FANGKONG_ANALYTICS must be 'duckdb' or a Spark master URL such as local[2] "
            f"or spark://host:7077, got {value!r}"
        )
    return value


def analytics_conf() -> AnalyticsConf:
    directory = Path(_value("FANGKONG_ANALYTICS_DIR") or settings.PROJECT_DIR / "analytics")
    memory = _value("FANGKONG_ANALYTICS_MEMORY") or "4GB"
    if not _MEMORY.match(memory):
        raise ImproperlyConfigured(f"FANGKONG_ANALYTICS_MEMORY must look like 4GB, got {memory!r}")
    threads = env.integer(
        "FANGKONG_ANALYTICS_THREADS", os.cpu_count() or 1, low=1, high=1024, lookup=_value
    )
    return AnalyticsConf(
        engine=engine_name(_value("FANGKONG_ANALYTICS") or DUCKDB),
        directory=directory,
        memory_limit=memory,
        threads=threads,
        temp_directory=Path(_value("FANGKONG_ANALYTICS_TEMP_DIR") or directory / "tmp"),
        spark_driver_memory=_value("FANGKONG_SPARK_DRIVER_MEMORY") or "2g",
        spark_partitions=env.integer(
            "FANGKONG_SPARK_PARTITIONS", 8, low=1, high=100_000, lookup=_value
        ),
    )
