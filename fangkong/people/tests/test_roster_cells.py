"""Cells no import should take are refused one row at a time, named for what they are:
a NUL character, a formula where a name or number belongs."""

import io

import pytest
from openpyxl import Workbook

from fangkong.core.spreadsheets import SpreadsheetError

from .rosterfiles import HEADER, csv_bytes, person, roster, xlsx
from .test_roster_parsing import good, parse, rejected

HYPERLINK = '=HYPERLINK("http://example.com/x","张三")'


def test_a_nul_in_one_csv_cell_refuses_that_row_only():
    rows = roster(person("张三"), person("李\x00四"), person("王五"))
    _header, parsed = parse(csv_bytes(rows))
    assert [r.data.name for r in good(parsed)] == ["张三", "王五"]
    (refused,) = rejected(parsed)
    assert refused.row == 5 and refused.column == "E 姓名"
    assert "空字符" in refused.zh and "NUL character" in refused.en


def test_a_nul_in_a_cell_no_column_reads_refuses_its_row_too():
    rows = [[*HEADER, "备用"], [*person("张三"), "x\x00"], person("李四")]
    _header, parsed = parse(csv_bytes(rows, delimiter="\t"))
    assert [r.data.name for r in good(parsed)] == ["李四"]
    assert rejected(parsed)[0].column == "H 备用"


def test_a_file_that_is_mostly_control_bytes_is_still_not_a_roster():
    with pytest.raises(SpreadsheetError, match="not a spreadsheet"):
        parse(bytes(range(32)) * 64)
    # UTF-16 text without its byte-order mark: half its bytes are NULs.
    with pytest.raises(SpreadsheetError, match="not a spreadsheet"):
        parse("\n".join(",".join(r) for r in roster(person())).encode("utf-16-le"))


def test_a_formula_for_a_name_in_xlsx_is_reported_as_a_formula_not_as_empty():
    """A program wrote =HYPERLINK(…) with no value cached, so the cell shows nothing."""
    _header, parsed = parse(xlsx(roster(person(HYPERLINK), person("李四"))))
    assert [r.data.name for r in good(parsed)] == ["李四"]
    (refused,) = rejected(parsed)
    assert refused.column == "E 姓名"
    assert "公式" in refused.zh and "=HYPERLINK(" in refused.zh
    assert "is a spreadsheet formula" in refused.en and "empty" not in refused.en
    assert refused.cells[4].startswith("=HYPERLINK(")


@pytest.mark.parametrize("col", [4, 5, 6, 3])  # name, ID number, phone, room
def test_formula_text_in_a_csv_is_refused_in_any_identity_or_address_column(col):
    row = person("张三")
    row[col] = "=1+1" if col != 4 else HYPERLINK
    _header, parsed = parse(csv_bytes(roster(row, person("李四"))))
    assert [r.data.name for r in good(parsed)] == ["李四"]
    (refused,) = rejected(parsed)
    assert refused.column == f"{'ABCDEFG'[col]} {HEADER[col]}"
    assert "formula" in refused.en


def test_a_text_cell_that_begins_with_equals_is_a_formula_too():
    workbook = Workbook()
    sheet = workbook.active
    for row in roster(person("张三")):
        sheet.append(row)
    sheet["E4"].value = "=SUM(A1)"
    sheet["E4"].data_type = "s"  # stored as text, as a CSV opened in Excel may be
    out = io.BytesIO()
    workbook.save(out)
    _header, parsed = parse(out.getvalue())
    assert "formula" in rejected(parsed)[0].en


def test_an_equals_sign_alone_or_inside_a_name_is_not_a_formula():
    _header, parsed = parse(csv_bytes(roster(person("张=三"))))
    assert [r.data.name for r in good(parsed)] == ["张=三"]
