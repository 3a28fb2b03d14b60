"""The CSV files of `fangkong allocate`: reading workers and seats, writing assignments.

    workers.csv  worker_id,lat,lon,skills,hours_7d        skills separated by ";"
    seats.csv    seat_id,request_id,lat,lon,required_skill,preferred_skill
    assignment   seat_id,worker_id                        unfilled seats absent

Columns are found by their header (any order, extra columns ignored). Text is UTF-8,
with or without a byte-order mark, or GB18030/GBK as Excel saves it in China. Values are
NFKC-normalised (full-width digits and "；" become ASCII) and trimmed. Every bad row is
reported with the file, the row (as a spreadsheet numbers it: the header is row 1), the
field and the reason, in Chinese and English.
"""

import csv
import io
import math
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from fangkong.core.errors import DomainError

from .model import Seat, UnfilledSeat, Worker

WORKER_COLUMNS = ("worker_id", "lat", "lon", "skills", "hours_7d")
SEAT_COLUMNS = ("seat_id", "request_id", "lat", "lon", "required_skill", "preferred_skill")
HOURS_IN_A_WEEK = 168
T = TypeVar("T")


class RowError(DomainError):
    """A bad value in one row of an input file."""

    def __init__(self, zh: str, en: str, *, file: str, row: int = 0, field: str = ""):
        super().__init__(zh, en, field=field)
        self.file, self.row = file, row

    def __str__(self) -> str:
        zh_where = self.file + (f" 第{self.row}行" if self.row else "")
        en_where = self.file + (f", row {self.row}" if self.row else "")
        if self.field:
            zh_where += f" {self.field}"
            en_where += f", {self.field}"
        return f"{zh_where}：{self.zh} / {en_where}: {self.en}"


class BadInput(DomainError):
    """One or more bad rows; nothing was allocated."""

    def __init__(self, errors: list[RowError]):
        super().__init__(
            f"输入有误（{len(errors)}处），未做分配",
            f"{len(errors)} error(s) in the input; nothing was allocated",
        )
        self.errors = errors


@dataclass
class Parsed(Generic[T]):
    items: list[T]
    errors: list[RowError]


def _text(raw: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BadInput(
        [
            RowError(
                "无法识别文件编码（请存为UTF-8）",
                "cannot decode the file (save as UTF-8)",
                file=name,
            )
        ]
    )


def _norm(value: str | None) -> str:
    return unicodedata.normalize("NFKC", value or "").strip()


def _rows(raw: bytes, name: str, columns: Sequence[str]):
    """(row number, {column: value}) for each non-blank row; raises on a bad header."""
    reader = csv.reader(io.StringIO(_text(raw, name), newline=""))
    header = next(reader, None)
    if header is None:
        raise BadInput([RowError("文件为空", "the file is empty", file=name)])
    where: dict[str, int] = {}
    for i, cell in enumerate(header):
        where.setdefault(_norm(cell).lower(), i)
    missing = [c for c in columns if c not in where]
    if missing:
        raise BadInput(
            [
                RowError(
                    "缺少列：" + "、".join(missing),
                    "missing column(s): " + ", ".join(missing),
                    file=name,
                    row=1,
                )
            ]
        )
    for number, cells in enumerate(reader, start=2):
        if not any(_norm(c) for c in cells):
            continue
        yield number, {c: _norm(cells[where[c]]) if where[c] < len(cells) else "" for c in columns}


class _Row:
    """Reads the fields of one row, collecting what is wrong with them."""

    def __init__(self, name: str, number: int, values: dict[str, str]):
        self.name, self.row, self.values = name, number, values
        self.errors: list[RowError] = []

    def error(self, field: str, zh: str, en: str) -> None:
        self.errors.append(RowError(zh, en, file=self.name, row=self.row, field=field))

    def text(self, field: str, *, required: bool = True) -> str:
        value = self.values[field]
        if required and not value:
            self.error(field, "不能为空", "must not be empty")
        return value

    def number(self, field: str, low: float, high: float) -> float:
        value = self.values[field]
        if not value:
            self.error(field, "不能为空", "must not be empty")
            return math.nan
        try:
            number = float(value)
        except ValueError:
            self.error(field, f"不是数字：{value!r}", f"not a number: {value!r}")
            return math.nan
        if not (low <= number <= high):  # also catches nan and inf
            self.error(
                field,
                f"应在{low:g}到{high:g}之间：{value}",
                f"must be {low:g} to {high:g}: {value}",
            )
            return math.nan
        return number


def _parse(
    raw: bytes, name: str, columns: Sequence[str], id_field: str, make: Callable[[_Row], T]
) -> Parsed[T]:
    items: list[T] = []
    errors: list[RowError] = []
    first_row: dict[str, int] = {}
    for number, values in _rows(raw, name, columns):
        row = _Row(name, number, values)
        item = make(row)
        key = values[id_field]
        if key and key in first_row:
            row.error(
                id_field,
                f"重复的编号 {key}（第{first_row[key]}行已有）",
                f"duplicate id {key} (already on row {first_row[key]})",
            )
        elif key:
            first_row[key] = number
        if row.errors:
            errors.extend(row.errors)
        else:
            items.append(item)
    return Parsed(items, errors)


def _worker(row: _Row) -> Worker:
    skills = frozenset(s for s in (p.strip() for p in row.values["skills"].split(";")) if s)
    return Worker(
        worker_id=row.text("worker_id"),
        lat=row.number("lat", -90, 90),
        lon=row.number("lon", -180, 180),
        skills=skills,
        hours_7d=row.number("hours_7d", 0, HOURS_IN_A_WEEK),
    )


def _seat(row: _Row) -> Seat:
    return Seat(
        seat_id=row.text("seat_id"),
        request_id=row.text("request_id"),
        lat=row.number("lat", -90, 90),
        lon=row.number("lon", -180, 180),
        required_skill=row.text("required_skill", required=False),
        preferred_skill=row.text("preferred_skill", required=False),
    )


def parse_workers(raw: bytes, name: str = "workers.csv") -> Parsed[Worker]:
    return _parse(raw, name, WORKER_COLUMNS, "worker_id", _worker)


def parse_seats(raw: bytes, name: str = "seats.csv") -> Parsed[Seat]:
    return _parse(raw, name, SEAT_COLUMNS, "seat_id", _seat)


# -- writing ----------------------------------------------------------------------------


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)


def write_workers(path: Path, workers: Iterable[Worker]) -> None:
    _write(
        path,
        WORKER_COLUMNS,
        ((w.worker_id, w.lat, w.lon, ";".join(sorted(w.skills)), w.hours_7d) for w in workers),
    )


def write_seats(path: Path, seats: Iterable[Seat]) -> None:
    _write(
        path,
        SEAT_COLUMNS,
        (
            (s.seat_id, s.request_id, s.lat, s.lon, s.required_skill, s.preferred_skill)
            for s in seats
        ),
    )


def write_assignment(path: Path, seats: Sequence[Seat], assignment: dict[str, str]) -> None:
    """seat_id,worker_id for each filled seat, in the seats' order."""
    _write(
        path,
        ("seat_id", "worker_id"),
        ((s.seat_id, assignment[s.seat_id]) for s in seats if s.seat_id in assignment),
    )


def write_unfilled(path: Path, unfilled: Iterable[UnfilledSeat]) -> None:
    """seat_id,reason,with_skill,candidates for each unfilled seat."""
    _write(
        path,
        ("seat_id", "reason", "with_skill", "candidates"),
        ((u.seat_id, u.reason.value, u.with_skill, u.candidates) for u in unfilled),
    )
