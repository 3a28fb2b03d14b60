"""Exposure matching, the Python API: from files (the `exposure-match` command) or
from the stored scans (the app's match runs), on DuckDB or Spark.

    result = match_stored(cases=[CaseWindow("C1", key, start, end)], margin_minutes=30)
    for contact in result.contacts: ...

The engine is `FANGKONG_ANALYTICS` (duckdb, or a Spark master URL) unless `engine=`
names one. Contacts come back sorted by (case_id, person_id), one per pair.
"""

import datetime as dt
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from .conf import DUCKDB, AnalyticsConf, analytics_conf, engine_name
from .engines import DuckDBEngine, SparkEngine, us_from_datetime, utc_from_us
from .files import Loaded, load_cases, load_pings, load_scans
from .query import (
    MICROS_PER_MINUTE,
    Bounds,
    CompanionRule,
    companion_steps,
    venue_contact_steps,
)

CONTACT_ORDER = "case_id, person_id"
MINUTES_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class CaseWindow:
    case_id: str
    person_id: str  # in the store: the person key (store.person_key)
    window_start: dt.datetime
    window_end: dt.datetime


@dataclass(frozen=True)
class Contact:
    case_id: str
    person_id: str
    venue_code: str
    case_at_us: int
    contact_at_us: int
    apart_us: int
    degree: int = 1
    # Second degree: the first-degree contact through whom they were found.
    via_person_id: str | None = None

    @property
    def case_scanned_at(self) -> dt.datetime:
        return utc_from_us(self.case_at_us)

    @property
    def contact_scanned_at(self) -> dt.datetime:
        return utc_from_us(self.contact_at_us)

    @property
    def minutes_apart(self) -> Decimal:
        """|contact scan − case scan| in minutes, rounded half-even to 0.01 minute (the
        matching itself compares exact microseconds)."""
        return (Decimal(self.apart_us) / MICROS_PER_MINUTE).quantize(
            MINUTES_PLACES, rounding=ROUND_HALF_EVEN
        )


@dataclass(frozen=True)
class Companion:
    case_id: str
    person_id: str
    overlap_us: int
    first_us: int
    last_us: int

    @property
    def overlap_minutes(self) -> Decimal:
        return (Decimal(self.overlap_us) / MICROS_PER_MINUTE).quantize(
            MINUTES_PLACES, rounding=ROUND_HALF_EVEN
        )


@dataclass
class MatchResult:
    engine: str
    cases: int
    contacts: list[Contact]
    companions: list[Companion] = field(default_factory=list)
    seconds: float = 0.0
    # Files only: what was read, and the rows left out.
    inputs: list[Loaded] = field(default_factory=list)

    @property
    def people(self) -> int:
        """Distinct people matched as venue contacts."""
        return len({c.person_id for c in self.contacts})


def margin_us(minutes: float | Decimal | int) -> int:
    value = Decimal(str(minutes))
    if not value.is_finite() or value < 0 or value > 7 * 24 * 60:
        raise ValueError("the margin must be between 0 and 10080 minutes")
    return int(value * MICROS_PER_MINUTE)


def match_files(
    *,
    scans: Path,
    cases: Path,
    pings: Path | None = None,
    margin_minutes: float | Decimal | int = 30,
    second_degree: bool = False,
    companion_rule: CompanionRule | None = None,
    engine: str | None = None,
    conf: AnalyticsConf | None = None,
) -> MatchResult:
    """Match an epidemiologist's own files. Input files are read and checked by DuckDB
    (on either engine); bad rows are left out and listed in `result.inputs`."""
    started = time.perf_counter()
    conf = conf or analytics_conf()
    margin = margin_us(margin_minutes)
    duck = DuckDBEngine(conf)
    try:
        inputs = [load_cases(duck.con, cases), load_scans(duck.con, scans)]
        if pings is not None:
            inputs.append(load_pings(duck.con, pings))
        case_rows = duck.con.execute("SELECT * FROM in_cases").fetchall()
        with _runner(duck, conf, engine) as runner:
            runner.cases_from_rows(case_rows)
            _inputs_from_loader(runner, duck, pings=pings is not None)
            result = _match(
                runner,
                case_rows,
                margin=margin,
                second_degree=second_degree,
                with_pings=pings is not None,
                rule=companion_rule or CompanionRule(),
            )
    finally:
        duck.close()
    result.inputs = inputs
    result.seconds = time.perf_counter() - started
    return result


def match_stored(
    *,
    cases: Sequence[CaseWindow],
    margin_minutes: float | Decimal | int = 30,
    second_degree: bool = False,
    pings: Path | None = None,
    companion_rule: CompanionRule | None = None,
    engine: str | None = None,
    conf: AnalyticsConf | None = None,
) -> MatchResult:
    """Match cases against the scans in the store (store.py), and, with a location-ping
    file (`person_id,lat,lon,at`, person ids being person keys), find the cases'
    time-space companions by `companion_rule`. Case persons are person keys; so are
    the contacts' `person_id`s. The ping file's bad rows are in `result.inputs`."""
    started = time.perf_counter()
    conf = conf or analytics_conf()
    margin = margin_us(margin_minutes)
    case_rows = [
        (c.case_id, c.person_id, us_from_datetime(c.window_start), us_from_datetime(c.window_end))
        for c in cases
    ]
    bad = [c.case_id for c in cases if c.window_end < c.window_start]
    if bad:
        raise ValueError(f"cases whose window ends before it starts: {', '.join(bad)}")
    duck = DuckDBEngine(conf)
    inputs = []
    try:
        if pings is not None:
            inputs.append(load_pings(duck.con, pings))
        with _runner(duck, conf, engine) as runner:
            runner.cases_from_rows(case_rows)
            if case_rows and any(conf.scans_dir.glob("day=*/*.parquet")):
                span = _span(case_rows, 2 * margin)
                runner.scans_from_store(conf.scans_dir, span=span)
            if pings is not None:
                _pings_from_loader(runner, duck)
            result = _match(
                runner,
                case_rows,
                margin=margin,
                second_degree=second_degree,
                with_pings=pings is not None,
                rule=companion_rule or CompanionRule(),
                store=conf.scans_dir,
            )
    finally:
        duck.close()
    result.inputs = inputs
    result.seconds = time.perf_counter() - started
    return result


def match_rows(
    *,
    scans: Sequence[tuple[str, str, int]],
    cases: Sequence[tuple[str, str, int, int]],
    margin_us: int,
    second_degree: bool = False,
    pings: Sequence[tuple[str, float, float, int]] | None = None,
    companion_rule: CompanionRule | None = None,
    engine: str | None = None,
    conf: AnalyticsConf | None = None,
) -> MatchResult:
    """Match rows held in memory: scans (person_id, venue_code, at_us), cases (case_id,
    person_id, start_us, end_us), pings (person_id, lat, lon, at_us); times in epoch
    microseconds (UTC). For small data (tests, a single venue's log)."""
    started = time.perf_counter()
    conf = conf or analytics_conf()
    duck = DuckDBEngine(conf)
    try:
        tables = {"in_scans": (_SCAN_COLUMNS, scans), "in_pings": (_PING_COLUMNS, pings or [])}
        for name, (columns, rows) in tables.items():
            duck.con.execute(f"CREATE TEMP TABLE {name} ({', '.join(columns)})")
            if rows:
                marks = ", ".join("?" for _ in columns)
                duck.con.executemany(f"INSERT INTO {name} VALUES ({marks})", list(rows))
        with _runner(duck, conf, engine) as runner:
            runner.cases_from_rows(cases)
            _inputs_from_loader(runner, duck, pings=True)
            result = _match(
                runner,
                list(cases),
                margin=margin_us,
                second_degree=second_degree,
                with_pings=pings is not None,
                rule=companion_rule or CompanionRule(),
            )
    finally:
        duck.close()
    result.seconds = time.perf_counter() - started
    return result


_SCAN_COLUMNS = ("person_id VARCHAR", "venue_code VARCHAR", "at_us BIGINT")
_PING_COLUMNS = ("person_id VARCHAR", "lat DOUBLE", "lon DOUBLE", "at_us BIGINT")


def _inputs_from_loader(runner, duck: DuckDBEngine, *, pings: bool) -> None:
    """`scans` (and `pings`) for the runner from the loader's tables in_scans, in_pings:
    DuckDB reads them where they are; Spark from Parquet files DuckDB writes."""
    names = ["scans", "pings"] if pings else ["scans"]
    for name in names:
        if runner is duck:
            duck.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM in_{name}")
        else:
            runner.parquet_view(name, duck.export_parquet(f"in_{name}"))


def _pings_from_loader(runner, duck: DuckDBEngine) -> None:
    if runner is duck:
        duck.con.execute("CREATE OR REPLACE TEMP VIEW pings AS SELECT * FROM in_pings")
    else:
        runner.parquet_view("pings", duck.export_parquet("in_pings"))


def _span(case_rows, widen: int) -> tuple[int, int]:
    return (min(r[2] for r in case_rows) - widen, max(r[3] for r in case_rows) + widen)


def _match(runner, case_rows, *, margin, second_degree, with_pings, rule, store=None):
    result = MatchResult(engine=runner.name, cases=len(case_rows), contacts=[])
    if not case_rows:
        return result
    bounds = Bounds(min(r[2] for r in case_rows), max(r[3] for r in case_rows))
    steps = venue_contact_steps(margin_us=margin, bounds=bounds, second_degree=second_degree)
    no_scans = store is not None and not any(store.glob("day=*/*.parquet"))
    result.contacts = (
        []
        if no_scans
        else [
            Contact(
                str(case_id),
                str(person_id),
                str(venue),
                int(case_at),
                int(contact_at),
                int(apart),
                int(degree),
                via,
            )
            for case_id, person_id, venue, case_at, contact_at, apart, degree, via in runner.run(
                steps, order_by=CONTACT_ORDER
            )
        ]
    )
    if with_pings:
        rows = runner.run(companion_steps(rule=rule, bounds=bounds), order_by=CONTACT_ORDER)
        result.companions = [
            Companion(str(a), str(b), int(c), int(d), int(e)) for a, b, c, d, e in rows
        ]
    return result


_spark_engines: dict[str, SparkEngine] = {}


@contextmanager
def _runner(duck: DuckDBEngine, conf: AnalyticsConf, engine: str | None):
    """The engine named (or the conf's): DuckDB is `duck` itself; a Spark session is made
    once per master and kept for the life of the process."""
    name = engine_name(engine) if engine else conf.engine
    if name == DUCKDB:
        yield duck
        return
    spark = _spark_engines.get(name)
    if spark is None:
        spark = _spark_engines[name] = SparkEngine(conf, name)
    try:
        yield spark
    finally:
        spark.close(stop=False)
