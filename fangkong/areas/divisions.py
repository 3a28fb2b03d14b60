"""A division list from a spreadsheet: one area a row (code, name, parent code).

    代码 (code)     名称 (name)     上级代码 (parent, optional)
    431102001       南津街道        431102
    431102001001    东风社区        431102001

The code says the level (9 digits a street, 12 a community, 15 a compound, 18 a
building) and its parent (the code less its last three digits); a parent column, if
given, must agree. Rows may come in any order: parents are made before their children.
A row whose code exists with the same name changes nothing, with another name renames
it; so importing the same file again changes nothing. A bad row is reported with its
row number, column and reason in both languages, and the good rows still go in.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from fangkong.core.errors import DomainError
from fangkong.core.spreadsheets import RowError, open_table

__all__ = ["DivisionReport", "RowError", "read_divisions"]

HEADERS = {
    "code": {"代码", "区划代码", "区域代码", "编码", "code"},
    "name": {"名称", "区域名称", "名字", "name"},
    "parent": {"上级代码", "上级", "上级区划代码", "parent", "parent code", "parent_code"},
}


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


def read_divisions(upload: BinaryIO) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as the spreadsheet shows it, {"code", "name", "parent"}) for every
    non-blank row, read by the one spreadsheet reader (core.spreadsheets, its limits and
    refusals); the first row is the header and must name a code and a name column."""
    with open_table(upload) as table:
        lowered = [h.strip().lower() for h in table.header]
        columns = {}
        for key, names in HEADERS.items():
            found = next(
                (h for h, low in zip(table.header, lowered, strict=True) if low in names), None
            )
            if found is not None:
                columns[key] = found
        if "code" not in columns or "name" not in columns:
            raise DomainError(
                "找不到表头：第一行需要“代码”和“名称”两列",
                'no header found: the first row needs a "code" and a "name" column',
                field="file",
            )
        for record in table.records:
            yield record.row, {k: record.values[h].strip() for k, h in columns.items()}
