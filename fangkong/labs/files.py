"""Reading lab result files (CSV or XLSX) and checking each row, streaming.

A file has a header row; columns are found by name, in Chinese or English, in any order:

| column | names accepted | required |
|---|---|---|
| tube barcode | tube, barcode, 试管条码, 条码, 管码 | yes |
| result | result, 结果, 检测结果 | yes: negative/阴性, positive/阳性, invalid/无效 |
| time tested | tested_at, time, 检测时间, 时间 | yes: `2026-11-23 14:05`, ISO 8601; no offset = local time; within the window of core.clock (7 days back, 10 minutes ahead of the upload) |
| lab | lab, 检测机构, 机构 | no: if given, must be the uploading lab's name |
| reason | reason, 更正原因, 原因 | no: needed only to correct a result already stored |

Rows are numbered as a spreadsheet shows them: the header is row 1. The file is read by
`fangkong.core.spreadsheets` (the same reader and limits as every other import).
"""

import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter

from django.utils import timezone

from fangkong.core import clock
from fangkong.core.spreadsheets import Limits, RowError, SpreadsheetError, open_sheets

from .models import Result

COLUMNS = {
    "tube": ("tube", "barcode", "tube_barcode", "试管条码", "条码", "管码", "试管编号"),
    "result": ("result", "结果", "检测结果"),
    "tested_at": ("tested_at", "time", "tested", "检测时间", "时间", "报告时间"),
    "lab": ("lab", "检测机构", "机构", "实验室"),
    "reason": ("reason", "更正原因", "原因", "备注"),
}
REQUIRED = ("tube", "result", "tested_at")
_ALIASES = {alias.lower(): key for key, names in COLUMNS.items() for alias in names}
_RESULTS: dict[str, str] = {
    "negative": Result.NEGATIVE.value,
    "neg": Result.NEGATIVE.value,
    "n": Result.NEGATIVE.value,
    "-": Result.NEGATIVE.value,
    "阴性": Result.NEGATIVE.value,
    "positive": Result.POSITIVE.value,
    "pos": Result.POSITIVE.value,
    "p": Result.POSITIVE.value,
    "+": Result.POSITIVE.value,
    "阳性": Result.POSITIVE.value,
    "invalid": Result.INVALID.value,
    "inv": Result.INVALID.value,
    "无效": Result.INVALID.value,
}
_COLUMN_ZH = {"tube": "试管条码", "result": "结果", "tested_at": "检测时间", "lab": "检测机构"}
_ZONE = timezone.get_default_timezone
_UTC = dt.UTC


class FileError(SpreadsheetError):
    """The file as a whole cannot be read as results (no header, a required column
    missing, …); the reader's own refusals are its parent, SpreadsheetError."""


__all__ = ["FileError", "ResultRow", "RowError", "checked_rows", "clean_row", "read_table"]


@dataclass(slots=True)
class ResultRow:
    row: int
    barcode: str
    result: str
    tested_at: dt.datetime
    lab_name: str = ""
    reason: str = ""


def header_map(header: Iterable) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, name in enumerate(header):
        key = _ALIASES.get(str(name or "").strip().lower().lstrip("\ufeff"))
        if key and key not in found:
            found[key] = i
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise FileError(
            "缺少必填列：" + "、".join(_COLUMN_ZH[c] for c in missing),
            "missing required column(s): " + ", ".join(missing),
        )
    return found


def read_table(
    data: bytes, file_name: str = "", limits: Limits | None = None
) -> Iterator[tuple[int, dict]]:
    """(row number, {column: raw value}) for each non-empty data row of a CSV or XLSX
    (its first sheet; the kind is told by the bytes, not the name)."""
    with open_sheets(io.BytesIO(data), limits) as sheets:
        sheet = next(sheets, None)
        rows = sheet.rows if sheet is not None else iter(())
        first = next(rows, None)
        if first is None:
            raise FileError("文件为空", "the file is empty")
        columns = header_map(first[1])
        keys, pick = tuple(columns), itemgetter(*columns.values())
        width = max(columns.values()) + 1
        for number, values in rows:
            if len(values) < width:
                values = [*values, *[None] * (width - len(values))]
            yield number, dict(zip(keys, pick(values), strict=True))


def _text(value) -> str:
    """A cell as text; a NUL character (never meant, never storable) is dropped."""
    text = value if isinstance(value, str) else str(value or "")
    return text.replace("\x00", "").strip()


def clean_row(
    number: int,
    raw: dict,
    *,
    lab_names: frozenset[str],
    now: dt.datetime,
    label: tuple[str, str] | None = None,
    limits: clock.Window | None = None,
):
    """A `ResultRow`, or the `RowError` that names the first bad column.

    `now` is when the server received the file; `label` how messages name the row
    (default "第5行" / "row 5")."""
    barcode = _text(raw.get("tube"))
    if not barcode:
        return RowError(number, "tube", "missing", "试管条码为空", "the tube barcode is empty")
    if len(barcode) > 40:
        return RowError(number, "tube", "invalid", "试管条码过长", "the tube barcode is too long")
    result = _RESULTS.get(_text(raw.get("result")).lower())
    if result is None:
        return RowError(
            number,
            "result",
            "invalid",
            "结果应为阴性、阳性或无效",
            "the result must be negative, positive or invalid",
        )
    try:
        tested_at = clock.client_time(
            raw.get("tested_at"),
            received=now,
            label=label or (f"第{number}行", f"row {number}"),
            field="tested_at",
            field_zh="检测时间",
            limits=limits,
        )
    except clock.ClientTimeError as exc:
        return RowError(number, "tested_at", exc.code, exc.zh, exc.en)
    lab = _text(raw.get("lab"))
    if lab and lab not in lab_names:
        return RowError(
            number,
            "lab",
            "other_lab",
            "检测机构与上传账号不符",
            "the lab named is not the lab of this account",
        )
    reason = _text(raw.get("reason"))[:500]
    return ResultRow(number, barcode, result, tested_at, lab, reason)


def checked_rows(data: bytes, file_name: str, *, lab_names: frozenset[str], now: dt.datetime):
    """`clean_row` over `read_table`: a `ResultRow` or a `RowError` for each data row.

    A row of plain text cells that is good by every rule of `clean_row` is made here
    directly, without the intermediate dict (a million-row file spends most of its Python
    time on this loop); any other row — a bad one, a spreadsheet's typed cell — goes
    through `clean_row` itself, so there is one set of rules and one set of messages.
    """
    limits = clock.window()
    low = now.timestamp() - limits.past.total_seconds()
    high = now.timestamp() + limits.future.total_seconds()
    zone, fromts = _ZONE(), dt.datetime.fromtimestamp
    fromiso, results = dt.datetime.fromisoformat, _RESULTS
    for number, raw in read_table(data, file_name):
        barcode, result, text = raw["tube"], raw["result"], raw["tested_at"]
        lab, reason = raw.get("lab") or "", raw.get("reason") or ""
        if type(barcode) is str and type(result) is str and type(text) is str:
            barcode, text = barcode.strip(), text.strip()
            result = results.get(result.strip().lower())
            if barcode and len(barcode) <= 40 and result is not None and type(lab) is str:
                try:
                    moment = fromiso(text)
                except ValueError:
                    moment = None
                if moment is not None and 1 < moment.year < 9999:
                    if moment.tzinfo is None:
                        moment = moment.replace(tzinfo=zone)
                    seconds = moment.timestamp()
                    lab = lab.strip()
                    if (
                        low <= seconds <= high
                        and (not lab or lab in lab_names)
                        and type(reason) is str
                    ):
                        moment = fromts(seconds, _UTC)  # any offset, as PostgreSQL takes it
                        yield ResultRow(number, barcode, result, moment, lab, reason.strip()[:500])
                        continue
        yield clean_row(number, raw, lab_names=lab_names, now=now, limits=limits)
