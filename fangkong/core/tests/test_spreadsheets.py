"""The one spreadsheet reader: hostile files refused by its limits, in both languages;
ordinary files read as header -> text records."""

import codecs
import io

import pytest
from django.test import override_settings
from openpyxl import Workbook

from fangkong.core import spreadsheets
from fangkong.core.spreadsheets import (
    Record,
    SpreadsheetError,
    inspect,
    open_table,
    read_shared_strings,
)

from .hostile import merge_bomb, repeated_merge_bomb, xlsx


def _read(data: bytes) -> tuple[list[str], list[Record]]:
    with open_table(io.BytesIO(data)) as table:
        return table.header, list(table.records)


def _refusal(data: bytes) -> SpreadsheetError:
    with pytest.raises(SpreadsheetError) as exc:
        _read(data)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in exc.value.zh), exc.value.zh
    return exc.value


def test_a_sheet_of_hundreds_of_thousands_of_merged_ranges_is_refused():
    data = merge_bomb(300_000)
    assert inspect(io.BytesIO(data)).kind == "xlsx"  # its zip looks ordinary
    error = _refusal(data)
    assert "more than 200000 merged ranges" in error.en
    assert "合并单元格区域超过上限200000个" in error.zh


def test_a_small_file_that_inflates_a_thousandfold_is_refused_from_the_zip_directory():
    data = repeated_merge_bomb()
    assert len(data) < 150_000
    with pytest.raises(SpreadsheetError) as exc:
        inspect(io.BytesIO(data))
    assert "zip bomb" in exc.value.en and "压缩比异常" in exc.value.zh


@override_settings(FANGKONG_SHEET_MAX_UNPACKED_BYTES=50_000)
def test_a_file_too_big_unpacked_is_refused_before_reading():
    rows = [["姓名", "备注"], *[[f"人{i}", "x" * 50] for i in range(2000)]]
    with pytest.raises(SpreadsheetError) as exc:
        inspect(io.BytesIO(xlsx(rows)))
    assert "too big unpacked" in exc.value.en and "解压后过大" in exc.value.zh


@override_settings(FANGKONG_SHEET_MAX_BYTES=1000)
def test_a_file_too_big_as_uploaded_is_refused():
    with pytest.raises(SpreadsheetError) as exc:
        inspect(io.BytesIO(b"a,b\n" + b"1,2\n" * 1000))
    assert "too big" in exc.value.en and "文件过大" in exc.value.zh


@override_settings(FANGKONG_SHEET_MAX_ROWS=5)
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_more_rows_than_the_limit_are_refused_naming_the_row(kind):
    rows = [["姓名", "房号"], *[[f"人{i}", str(i)] for i in range(10)]]
    data = xlsx(rows) if kind == "xlsx" else "\n".join(",".join(r) for r in rows).encode()
    error = _refusal(data)
    assert error.row == 6 and "row 6: more than 5 rows" in error.en and "第6行" in error.zh


def test_a_cell_beyond_the_column_limit_is_refused_naming_row_and_column():
    workbook = Workbook()
    workbook.active.append(["姓名", "房号"])
    workbook.active.cell(row=2, column=300, value="far away")
    out = io.BytesIO()
    workbook.save(out)
    error = _refusal(out.getvalue())
    assert (error.row, error.column) == (2, "KN")
    assert "more than 200 columns" in error.en and "列数超过上限200" in error.zh


def test_a_merged_range_beyond_the_column_limit_is_refused():
    error = _refusal(
        xlsx(sheet_extra=b'<mergeCells count="1"><mergeCell ref="A2:XFD9"/></mergeCells>')
    )
    assert "reaches beyond" in error.en and "超出行数或列数上限" in error.zh


def test_more_shared_strings_than_the_limit_are_refused():
    sst = "".join(f"<si><t>{i}</t></si>" for i in range(5))
    xml = f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{sst}</sst>'
    assert len(read_shared_strings(io.BytesIO(xml.encode()), 5)) == 5
    with pytest.raises(SpreadsheetError) as exc:
        read_shared_strings(io.BytesIO(xml.encode()), 3)
    assert "more than 3 shared strings" in exc.value.en and "共享字符串超过上限3" in exc.value.zh


def test_an_overlong_cell_is_refused_naming_row_and_column():
    data = ("姓名,备注\n张三,短\n李四," + "长" * 40_000 + "\n").encode()
    error = _refusal(data)
    assert (error.row, error.column) == (3, "B")
    assert "more than 32767 characters" in error.en and "单元格超过32767个字符" in error.zh


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-8"),
        lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
        lambda text: text.encode("gb18030"),
        lambda text: text.encode("utf-16"),
    ],
    ids=["utf-8", "utf-8-bom", "gbk", "utf-16"],
)
def test_csv_in_every_encoding_excel_writes_reads_as_header_and_records(encode):
    text = "姓名\t房号\t\t房号\n张三\t101\t\t甲\n\n\t\t\t\n李四\t102\t备注\t乙\n"
    header, records = _read(encode(text))
    assert header == ["姓名", "房号 (B)", "C", "房号 (D)"]
    assert records == [
        Record(2, {"姓名": "张三", "房号 (B)": "101", "C": "", "房号 (D)": "甲"}),
        Record(5, {"姓名": "李四", "房号 (B)": "102", "C": "备注", "房号 (D)": "乙"}),
    ]


def test_xlsx_records_are_text_with_merged_cells_filled():
    rows = [["楼栋", "房号", "证件号"], ["1号楼", 101, 4.31102197503091e17], [None, 102, "x"]]
    extra = b'<mergeCells count="1"><mergeCell ref="A2:A3"/></mergeCells>'
    header, records = _read(xlsx(rows, sheet_extra=extra))
    assert header == ["楼栋", "房号", "证件号"]
    assert [r.values for r in records] == [
        {"楼栋": "1号楼", "房号": "101", "证件号": "431102197503091000"},
        {"楼栋": "1号楼", "房号": "102", "证件号": "x"},
    ]
    assert [r.row for r in records] == [2, 3]


@pytest.mark.parametrize(
    ("data", "en"),
    [
        (b"", "the file is empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), ".xls"),
        (b"PK\x03\x04 not really a zip", "cannot read this Excel file"),
        (bytes(range(256)) * 4, "not a spreadsheet"),
        (b"a,b\n\x80\xff\n", "encoding"),
    ],
    ids=["empty", "xls", "bad-zip", "binary", "encoding"],
)
def test_a_file_that_is_no_spreadsheet_is_refused_in_both_languages(data, en):
    assert en in _refusal(data).en


def test_the_limits_come_from_settings():
    with override_settings(FANGKONG_SHEET_MAX_MERGED=2):
        assert spreadsheets.Limits.from_settings().max_merged == 2
        extra = b'<mergeCells count="3"><mergeCell ref="A2:A3"/><mergeCell ref="B2:B3"/><mergeCell ref="C2:C3"/></mergeCells>'
        assert "more than 2 merged ranges" in _refusal(xlsx(sheet_extra=extra)).en
