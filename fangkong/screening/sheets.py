"""Reading a spreadsheet of screening answers (.xlsx or .csv), streamed and bounded.

A stand-in with the shape of the shared reader being added to fangkong/core
(`core.spreadsheets.open_table`: the first non-blank row is the header, then one
`Record(row, values)` a non-blank row, rows numbered as the spreadsheet shows them); to be
swapped for it once it is on main.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from fangkong.core.errors import DomainError

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
MAX_CELL = 500


@dataclass
class Record:
    row: int
    values: dict[str, str]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()[:MAX_CELL]


def _raw_rows(data: bytes, file_name: str) -> Iterator[tuple[int, list]]:
    if data[:4] == b"PK\x03\x04":
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds for a broken file
            raise DomainError(
                "无法读取该Excel文件", "the Excel file cannot be read", field="file"
            ) from None
        try:
            sheet = book.worksheets[0]
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, list(cells)
        finally:
            book.close()
        return
    if not file_name.lower().endswith(".csv"):
        raise DomainError("请上传 .xlsx 或 .csv 文件", "upload an .xlsx or .csv file", field="file")
    text = data.decode("utf-8-sig", errors="replace")
    for number, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        yield number, cells


def open_records(data: bytes, file_name: str) -> Iterator[Record]:
    """The header's names to each row's cells, as text. DomainError for a file too big,
    unreadable, or with too many rows."""
    if len(data) > MAX_BYTES:
        raise DomainError(
            f"文件超过{MAX_BYTES // 1024 // 1024} MB", "the file is too big", field="file"
        )
    header: list[str] | None = None
    for number, cells in _raw_rows(data, file_name):
        texts = [_text(c) for c in cells]
        if not any(texts):
            continue
        if header is None:
            header = [t.lower() for t in texts]
            continue
        if number > MAX_ROWS + 1:
            raise DomainError(
                f"文件超过{MAX_ROWS}行，请分批上传",
                f"the file has more than {MAX_ROWS} rows; split it",
                field="file",
            )
        yield Record(number, {h: t for h, t in zip(header, texts, strict=False) if h})
