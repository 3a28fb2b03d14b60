"""Reading scan, case and ping files (CSV or Parquet) into DuckDB, row by row checked.

DuckDB parses the file (CSV in one thread, so its rows keep the file's order and their
numbers); every check is then one SQL pass over the text of each field. A bad row is
reported by file, row, field and reason in Chinese and English, and left out; the good
rows go on. A file that cannot be read at all (missing, not CSV or Parquet, a required
column missing, a quote left open so that nothing after it can be trusted) is refused
whole with a `DomainError`.

Rows are numbered as a spreadsheet shows them: in a CSV the header is row 1 and the
first data row is row 2; in a Parquet file the first row is row 1.

Times are ISO 8601 (`2026-11-20T10:00:00+08:00`, `2026-11-20 02:00:00Z`, fractions of
a second allowed). A time without an offset is read in the deployment's zone
(settings.TIME_ZONE, Asia/Shanghai by default): that is how Chinese systems export
times, and how a person reading the file would take them.
"""

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from django.conf import settings

from fangkong.core.errors import DomainError

TEXT, OPTIONAL, TIME = "text", "optional", "time"
# Text the caller checks itself, whose problems never refuse the row (a person's
# optional details on a scan: the scan goes in without them).
DETAIL = "detail"
LATITUDE, LONGITUDE = "latitude", "longitude"
MAX_TEXT = 128
# How many bad rows a report keeps (all are counted).
MAX_PROBLEMS = 1000

_ISO_TIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)?$"

# Per problem code: (Chinese, English).
REASONS = {
    "empty": ("必填，不能为空", "is required"),
    "too_long": (f"超过 {MAX_TEXT} 个字符", f"is longer than {MAX_TEXT} characters"),
    "bad_time": (
        "不是 ISO 8601 时间（如 2026-11-20T10:00:00+08:00）",
        "is not an ISO 8601 time (such as 2026-11-20T10:00:00+08:00)",
    ),
    "bad_number": ("不是数字", "is not a number"),
    "bad_latitude": ("纬度须在 -90 到 90 之间", "is not a latitude between -90 and 90"),
    "bad_longitude": ("经度须在 -180 到 180 之间", "is not a longitude between -180 and 180"),
    "bad_key": ("须为 40 位十六进制的人员键", "must be a person key of 40 hex characters"),
    "window_order": ("窗口结束早于开始", "ends before the window starts"),
    "duplicate": ("病例编号重复，只取第一次出现的行", "repeats a case_id; the first row is kept"),
    "MISSING COLUMNS": ("列数不足", "has too few columns"),
    "TOO MANY COLUMNS": ("列数过多", "has too many columns"),
    "INVALID UNICODE": ("不是 UTF-8 文本", "is not UTF-8 text"),
    "CAST": ("无法读取", "cannot be read"),
}
# Structural errors after which nothing in the file can be trusted.
_FATAL = {"UNQUOTED VALUE", "LINE SIZE OVER MAXIMUM"}


@dataclass(frozen=True)
class RowProblem:
    file: str
    row: int
    field: str  # empty when the whole row is at fault
    code: str  # a key of REASONS, or "" with the reason in text_zh/text_en
    text_zh: str = ""
    text_en: str = ""

    @property
    def zh(self) -> str:
        return self.text_zh or REASONS[self.code][0]

    @property
    def en(self) -> str:
        return self.text_en or REASONS[self.code][1]

    def __str__(self) -> str:
        where_zh = f"{self.file} 第 {self.row} 行" + (f" {self.field}" if self.field else "")
        where_en = f"{self.file} row {self.row}" + (f", {self.field}" if self.field else "")
        return f"{where_zh}：{self.zh} / {where_en}: {self.en}"


@dataclass
class Loaded:
    """A file read into the DuckDB table `table`; `bad_rows` counts rows left out."""

    table: str
    file: str
    rows: int
    bad_rows: int
    problems: list[RowProblem]
    first_row: int = 2
    rejected_rows: list[int] = field(default_factory=list)

    def row_of(self, rec: int) -> int:
        """The spreadsheet row of the `rec`-th row read (the `rec` column)."""
        return _line(rec, self.first_row, self.rejected_rows)


@dataclass(frozen=True)
class FileSpec:
    what_zh: str
    what_en: str
    columns: tuple[tuple[str, str], ...]  # (name, kind)


SCANS = FileSpec(
    "扫码记录", "scans", (("person_id", TEXT), ("venue_code", TEXT), ("scanned_at", TIME))
)
CASES = FileSpec(
    "病例",
    "cases",
    (("case_id", TEXT), ("person_id", TEXT), ("window_start", TIME), ("window_end", TIME)),
)
PINGS = FileSpec(
    "位置记录",
    "pings",
    (("person_id", TEXT), ("lat", LATITUDE), ("lon", LONGITUDE), ("at", TIME)),
)


def load_scans(con: duckdb.DuckDBPyConnection, path: Path, *, table: str = "in_scans") -> Loaded:
    """-> `table(person_id, venue_code, at_us)`."""
    return _load(con, path, SCANS, table)


def load_cases(con: duckdb.DuckDBPyConnection, path: Path, *, table: str = "in_cases") -> Loaded:
    """-> `table(case_id, person_id, start_us, end_us)`: one row per case_id (the
    first), its window ending no earlier than it starts."""
    return _load(
        con,
        path,
        CASES,
        table,
        rename={"window_start": "start_us", "window_end": "end_us"},
        checks=(
            ("window_end", "window_order", "window_end_v < window_start_v"),
            (
                "case_id",
                "duplicate",
                "ROW_NUMBER() OVER (PARTITION BY case_id_v ORDER BY rec) > 1",
            ),
        ),
    )


def load_pings(con: duckdb.DuckDBPyConnection, path: Path, *, table: str = "in_pings") -> Loaded:
    """-> `table(person_id, lat, lon, at_us)`."""
    return _load(con, path, PINGS, table, rename={"at": "at_us"})


def load_scans_for_store(
    con: duckdb.DuckDBPyConnection, path: Path, *, by_id_number: bool, table: str
) -> Loaded:
    """For the store: -> `table(rec, person_key, venue_code, at_us)` from a file with a
    person_key column (40 hex characters), or `table(rec, id_number, id_type, name,
    phone, …)` from one with id_number (and id_type, name and phone, optional: NULL if
    absent; the mainland card if no id_type), for the caller to hash and check."""
    if not by_id_number:
        spec = FileSpec(
            SCANS.what_zh,
            SCANS.what_en,
            (("person_key", TEXT), ("venue_code", TEXT), ("scanned_at", TIME)),
        )
        check = ("person_key", "bad_key", "NOT regexp_full_match(person_key_v, '[0-9a-f]{40}')")
        return _load(con, path, spec, table, checks=(check,), keep_rec=True)
    columns = [("id_number", TEXT), ("venue_code", TEXT), ("scanned_at", TIME)]
    present = columns_of(con, path)
    optional = [("id_type", OPTIONAL), ("name", DETAIL), ("phone", DETAIL)]
    columns += [(name, kind) for name, kind in optional if name in present]
    spec = FileSpec(SCANS.what_zh, SCANS.what_en, tuple(columns))
    loaded = _load(con, path, spec, table, keep_rec=True)
    for name, _kind in optional:
        if name not in present:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {name} VARCHAR")
    return loaded


def columns_of(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """The column names of a CSV or Parquet file ([] when it cannot say)."""
    try:
        if _is_csv(path):
            return _csv_header(path)
        if path.suffix.lower() == ".parquet":
            query = f"DESCRIBE SELECT * FROM read_parquet({_quote(str(path))})"
            return [row[0] for row in con.execute(query).fetchall()]
    except (OSError, duckdb.Error):
        pass
    return []


def _load(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    spec: FileSpec,
    table: str,
    *,
    rename: dict[str, str] | None = None,
    checks: Sequence[tuple[str, str, str]] = (),
    keep_rec: bool = False,
) -> Loaded:
    rename = {"scanned_at": "at_us", **(rename or {})}
    name = path.name
    raw = f"{table}_raw"
    rejected, blanks = _read_raw(con, path, spec, raw)
    first_row = 2 if _is_csv(path) else 1

    # One pass: each field's value and problem code.
    values, codes = [], []
    for column, kind in spec.columns:
        value, code = _check(column, kind)
        values.append(f"{value} AS {column}_v")
        codes.append(f"{code} AS {column}_e")
    con.execute("SET TimeZone = " + _quote(settings.TIME_ZONE))
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table}_checked AS "
            f"SELECT rec, {', '.join(values)}, {', '.join(codes)} FROM {raw}"
        )
    finally:
        con.execute("SET TimeZone = 'UTC'")
    # Checks across fields and rows, on the rows whose fields are good.
    fields_ok = " AND ".join(f"{column}_e IS NULL" for column, _ in spec.columns)
    extra = ", ".join(
        f"CASE WHEN {condition} THEN '{code}' END AS x{i}_e"
        for i, (_field, code, condition) in enumerate(checks)
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table}_all AS "
        f"SELECT * {', ' + extra if extra else ''} FROM {table}_checked WHERE {fields_ok} "
        f"UNION ALL BY NAME SELECT * FROM {table}_checked WHERE NOT ({fields_ok})"
    )
    problem_columns = [(column, f"{column}_e") for column, _ in spec.columns]
    problem_columns += [(field, f"x{i}_e") for i, (field, _c, _s) in enumerate(checks)]
    any_problem = " OR ".join(f"{code} IS NOT NULL" for _f, code in problem_columns)
    outputs = ", ".join(f"{column}_v AS {rename.get(column, column)}" for column, _ in spec.columns)
    if keep_rec:
        outputs = "rec, " + outputs
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS "
        f"SELECT {outputs} FROM {table}_all WHERE NOT ({any_problem})"
    )
    good = _count(con, f"SELECT count(*) FROM {table}")
    bad = _count(con, f"SELECT count(*) FROM {table}_all WHERE {any_problem}")
    union = " UNION ALL ".join(
        f"SELECT rec, {i} AS ord, '{field}' AS field, {code} AS code FROM {table}_all "
        f"WHERE {code} IS NOT NULL"
        for i, (field, code) in enumerate(problem_columns)
    )
    found = con.execute(
        f"SELECT * FROM ({union}) ORDER BY rec, ord LIMIT {MAX_PROBLEMS}"
    ).fetchall()
    lines = sorted(blanks + [line for line, _f, _c in rejected])
    rows = [(_line(rec, first_row, lines), o, name_, code) for rec, o, name_, code in found]
    rows += [(line, -1, name_, code) for line, name_, code in rejected]
    rows.sort()
    problems = [RowProblem(name, line, n, code) for line, _o, n, code in rows[:MAX_PROBLEMS]]
    for leftover in (raw, f"{table}_checked", f"{table}_all"):
        con.execute(f"DROP TABLE IF EXISTS {leftover}")
    return Loaded(table, name, good, bad + len(rejected), problems, first_row, lines)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The one number a `SELECT count(*)` answers."""
    row = con.execute(sql).fetchone()
    return row[0] if row is not None else 0


def _check(column: str, kind: str) -> tuple[str, str]:
    """SQL for (value, problem code) of one field, from its text."""
    text = f"NULLIF(TRIM({_ident(column)}), '')"
    if kind == TEXT:
        return text, (
            f"CASE WHEN {text} IS NULL THEN 'empty' "
            f"WHEN length({text}) > {MAX_TEXT} THEN 'too_long' END"
        )
    if kind == OPTIONAL:
        return text, f"CASE WHEN length({text}) > {MAX_TEXT} THEN 'too_long' END"
    if kind == DETAIL:
        return text, "CAST(NULL AS VARCHAR)"
    if kind == TIME:
        value = (
            f"CASE WHEN regexp_full_match({text}, {_quote(_ISO_TIME)}) "
            f"THEN epoch_us(TRY_CAST({text} AS TIMESTAMPTZ)) END"
        )
        return (
            value,
            f"CASE WHEN {text} IS NULL THEN 'empty' WHEN {value} IS NULL THEN 'bad_time' END",
        )
    low, high = (-90, 90) if kind == LATITUDE else (-180, 180)
    value = f"TRY_CAST({text} AS DOUBLE)"
    return value, (
        f"CASE WHEN {text} IS NULL THEN 'empty' WHEN {value} IS NULL THEN 'bad_number' "
        f"WHEN NOT ({value} BETWEEN {low} AND {high}) OR isnan({value}) THEN 'bad_{kind}' END"
    )


def _read_raw(con, path: Path, spec: FileSpec, raw: str):
    """The file as text columns plus `rec` (0-based order of the rows read); returns the
    rows DuckDB could not split, as (row, field, code), and the blank rows it skipped."""
    what = f"{spec.what_zh}文件 {path.name}", f"{spec.what_en} file {path.name}"
    if not path.is_file():
        raise DomainError(f"{what[0]} 不存在", f"{what[1]} does not exist", field=path.name)
    wanted = [column for column, _ in spec.columns]
    try:
        if _is_csv(path):
            names = _csv_header(path)
            _require(names, wanted, what)
            kinds = "{" + ", ".join(f"{_quote(n)}: 'VARCHAR'" for n in names) + "}"
            con.execute("DROP TABLE IF EXISTS reject_errors")
            con.execute("DROP TABLE IF EXISTS reject_scans")
            con.execute("SET preserve_insertion_order = true")
            try:
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {raw}_text AS SELECT "
                    + ", ".join(_ident(c) for c in wanted)
                    + f" FROM read_csv({_quote(str(path))}, header = true, delim = ',', "
                    f"quote = '\"', escape = '\"', parallel = false, columns = {kinds}, "
                    "auto_detect = false, store_rejects = true)"
                )
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT rowid AS rec, * FROM {raw}_text"
                )
            finally:
                con.execute("SET preserve_insertion_order = false")
            con.execute(f"DROP TABLE {raw}_text")
            rejects = con.execute(
                "SELECT line, coalesce(column_name, ''), error_type FROM reject_errors ORDER BY line"
            ).fetchall()
            for line, _field, kind in rejects:
                if kind in _FATAL:
                    raise DomainError(
                        f"{what[0]} 第 {line} 行引号不匹配或行过长，之后的内容无法可靠读取；"
                        "请修正后重新提交",
                        f"{what[1]} row {line} has an unmatched quote or is too long; nothing "
                        "after it can be read reliably. Correct it and submit the file again",
                        field=path.name,
                    )
            # A quote left open swallows the rest of the file without a word from the
            # reader: every non-blank line must be a row read or a row rejected.
            lines, blanks = _count_lines(path)
            (read,) = con.execute(f"SELECT count(*) FROM {raw}").fetchone()
            if read + len(rejects) != lines:
                skipped = sorted(blanks + [line for line, _f, _k in rejects])
                line = _line(read, 2, skipped)
                raise DomainError(
                    f"{what[0]} 从第 {line} 行起无法读取（可能有未闭合的引号）；请修正后重新提交",
                    f"{what[1]} cannot be read from row {line} on (an unmatched quote?). "
                    "Correct it and submit the file again",
                    field=path.name,
                )
            found = [
                (line, field, kind if kind in REASONS else "CAST") for line, field, kind in rejects
            ]
            return found, blanks
        if path.suffix.lower() == ".parquet":
            names = columns_of(con, path)
            _require(names, wanted, what)
            # Text of each field, as a CSV would give it; timestamps keep their offset.
            con.execute("SET TimeZone = " + _quote(settings.TIME_ZONE))
            try:
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT file_row_number AS rec, "
                    + ", ".join(f"CAST({_ident(c)} AS VARCHAR) AS {_ident(c)}" for c in wanted)
                    + f" FROM read_parquet({_quote(str(path))}, file_row_number = true)"
                )
            finally:
                con.execute("SET TimeZone = 'UTC'")
            return [], []
    except duckdb.Error as exc:
        raise DomainError(
            f"{what[0]} 无法读取：{exc}", f"{what[1]} cannot be read: {exc}", field=path.name
        ) from None
    raise DomainError(
        f"{what[0]} 须为 .csv 或 .parquet 文件",
        f"{what[1]} must be a .csv or .parquet file",
        field=path.name,
    )


def _csv_header(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        first = next(csv.reader(f), [])
    return [name.strip() for name in first]


def _require(names: list[str], wanted: list[str], what: tuple[str, str]) -> None:
    missing = [c for c in wanted if c not in names]
    if missing:
        raise DomainError(
            f"{what[0]} 缺少列：{', '.join(missing)}（须有 {', '.join(wanted)}）",
            f"{what[1]} lacks the column(s) {', '.join(missing)} (needs {', '.join(wanted)})",
            field=missing[0],
        )


def _line(rec: int, first_row: int, rejected: list[int]) -> int:
    """The spreadsheet row of the `rec`-th row read, counting the rows DuckDB rejected."""
    line = rec + first_row
    for bad_line in rejected:  # ascending
        if bad_line <= line:
            line += 1
        else:
            break
    return line


def _count_lines(path: Path) -> tuple[int, list[int]]:
    """Non-blank lines after the header, and the numbers of the blank ones."""
    count, blanks = 0, []
    with open(path, "rb") as f:
        next(f, None)
        for number, line in enumerate(f, start=2):
            if line.strip():
                count += 1
            else:
                blanks.append(number)
    return count, blanks


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() in (".csv", ".txt")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
