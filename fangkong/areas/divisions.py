"""A division list from a spreadsheet: one area a row (code, name, parent code).

    代码 (code)     名称 (name)     上级代码 (parent, optional)
    431102001       南津街道        431102
    431102001001    东风社区        431102001

The code says the level (9 digits a street, 12 a community, 15 a compound, 18 a
building) and its parent (the code less its last three digits); a parent column, if
given, must agree. Rows may come in any order: parents are made before their children.
A row whose code exists with the same name changes nothing, with another name renames
it; so importing the same file again changes nothing. A bad row is reported with its
row number, field and reason in both languages, and the good rows still go in.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from fangkong.core.errors import DomainError

MAX_ROWS = 20_000
MAX_BYTES = 5 * 1024 * 1024

HEADERS = {
    "code": {"代码", "区划代码", "区域代码", "编码", "code"},
    "name": {"名称", "区域名称", "名字", "name"},
    "parent": {"上级代码", "上级", "上级区划代码", "parent", "parent code", "parent_code"},
}


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    zh: str
    en: str


@dataclass
class DivisionReport:
    created: int = 0
    renamed: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "renamed": self.renamed,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


def _text(value) -> str:
    """A cell as text; a code Excel stored as a number loses no digits."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _raw_rows(upload: BinaryIO, name: str) -> Iterator[list[str]]:
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise DomainError(
            f"文件超过{MAX_BYTES // 1024 // 1024}MB",
            f"the file is over {MAX_BYTES // 1024 // 1024} MB",
        )
    if data[:2] == b"PK":  # a zip: .xlsx
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # a broken or foreign zip; openpyxl raises many kinds
            raise DomainError("无法读取该Excel文件", "the Excel file cannot be read") from None
        try:
            for cells in book.worksheets[0].iter_rows(values_only=True):
                yield [_text(c) for c in cells]
        finally:
            book.close()
        return
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise DomainError("无法识别文件编码", "the file's encoding is not recognised")
    for cells in csv.reader(io.StringIO(text)):
        yield [c.strip() for c in cells]


def read_divisions(upload: BinaryIO, name: str = "") -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as the spreadsheet shows it, {"code", "name", "parent"}) for every
    non-blank row under the header (the first row naming a code and a name column)."""
    columns: dict[str, int] | None = None
    count = 0
    for number, cells in enumerate(_raw_rows(upload, name), start=1):
        if not any(cells):
            continue
        if columns is None:
            lowered = [c.lower() for c in cells]
            found = {
                key: next((i for i, c in enumerate(lowered) if c in names), None)
                for key, names in HEADERS.items()
            }
            if found["code"] is not None and found["name"] is not None:
                columns = {k: i for k, i in found.items() if i is not None}
            continue
        count += 1
        if count > MAX_ROWS:
            raise DomainError(
                f"第{number}行：超过{MAX_ROWS}行，请分成几个文件",
                f"row {number}: more than {MAX_ROWS} rows; split the file",
            )
        yield number, {k: cells[i] if i < len(cells) else "" for k, i in columns.items()}
    if columns is None:
        raise DomainError(
            "找不到表头：需要“代码”和“名称”两列", 'no header found: a "code" and a "name" column'
        )
