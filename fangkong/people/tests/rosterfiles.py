"""Roster files for the tests, made as community workers' Excel and CSV files are."""

import csv
import datetime as dt
import io
import itertools

from openpyxl import Workbook, load_workbook

from fangkong.core.idnumbers import make_mainland

HEADER = ["小区", "楼栋", "单元", "房号", "姓名", "身份证号码", "联系电话"]
_sequence = itertools.count(1)


def id_number(birth: dt.date = dt.date(1975, 3, 9), region: str = "431102") -> str:
    """A valid ID number not used before in this test run (odd sequences are men)."""
    return make_mainland(region, birth, next(_sequence) % 1000)


def person(name="张三", building="1号楼", unit="1", room="101", phone="13800138000", **kw):
    """One row in HEADER's columns, at compound 幸福小区 of the test tree's community A."""
    number = kw.pop("number", None) or id_number()
    compound = kw.pop("compound", "幸福小区")
    return [compound, building, unit, room, name, number, phone]


def xlsx(rows: list[list], merges: tuple[str, ...] = ()) -> bytes:
    """An .xlsx as Excel writes it: shared strings, a <dimension>, merged ranges."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "花名册"
    for row in rows:
        sheet.append(row)
    for ref in merges:
        sheet.merge_cells(ref)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list], encoding: str = "utf-8-sig", delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def roster(*people: list, title: bool = True) -> list[list]:
    """A title row, then HEADER, then the people."""
    rows = [["东风社区居民花名册"], ["填报单位：东风社区居委会"]] if title else []
    return [*rows, HEADER, *people]


def read_xlsx(data: bytes) -> list[list]:
    """Every row of the first sheet as values (None for empty cells)."""
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
