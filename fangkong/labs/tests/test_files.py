"""Reading result files: columns by name in either language, encodings, row numbers."""

import datetime as dt
import io

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from fangkong.core.spreadsheets import SpreadsheetError
from fangkong.labs.files import (
    FileError,
    ResultRow,
    RowError,
    checked_rows,
    clean_row,
    read_table,
)

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
LAB = frozenset({"零陵区疾控中心", "lab"})


def rows_of(data: bytes, name: str = "r.csv"):
    return [clean_row(n, raw, lab_names=LAB, now=NOW) for n, raw in read_table(data, name)]


def test_chinese_headers_and_values_in_any_column_order():
    data = "检测时间,检测结果,试管条码\n2026-11-23 14:05,阳性,T1\n".encode()
    (row,) = rows_of(data)
    assert isinstance(row, ResultRow)
    assert (row.row, row.barcode, row.result) == (2, "T1", "positive")
    assert row.tested_at == dt.datetime(2026, 11, 23, 6, 5, tzinfo=dt.UTC)  # 14:05 Shanghai


def test_english_headers_with_a_byte_order_mark_and_iso_times():
    data = "\ufefftube,result,tested_at,lab\nT2,negative,2026-11-23T08:00:00+00:00,lab\n".encode()
    (row,) = rows_of(data)
    assert (row.barcode, row.result, row.lab_name) == ("T2", "negative", "lab")
    assert row.tested_at == dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


def test_gbk_files_from_excel_are_read():
    data = "试管条码,结果,检测时间\nT3,无效,2026/11/23 10:00\n".encode("gbk")
    (row,) = rows_of(data)
    assert row.result == "invalid"


def test_a_missing_required_column_fails_the_file_naming_it():
    with pytest.raises(FileError) as caught:
        list(read_table("试管条码,结果\nT1,阴性\n".encode(), "r.csv"))
    assert "检测时间" in caught.value.zh and "tested_at" in caught.value.en


def test_bad_rows_name_their_row_and_column_in_both_languages():
    data = (
        "tube,result,tested_at,lab\n"
        ",negative,2026-11-23 10:00,\n"
        "T1,maybe,2026-11-23 10:00,\n"
        "\n"
        "T2,negative,yesterday,\n"
        "T3,negative,2026-11-24 10:00,\n"
        "T4,negative,2026-11-23 10:00,某检测公司\n"
    ).encode()
    errors = rows_of(data)
    assert all(isinstance(e, RowError) for e in errors)
    assert [(e.row, e.column, e.code) for e in errors] == [
        (2, "tube", "missing"),
        (3, "result", "invalid"),
        (5, "tested_at", "invalid"),
        (6, "tested_at", "future"),
        (7, "lab", "other_lab"),
    ]
    assert all(e.zh and e.en for e in errors)


def test_xlsx_files_are_read_with_real_datetimes():
    book = Workbook()
    sheet = book.active
    sheet.append(["试管条码", "检测结果", "检测时间"])
    sheet.append(["T5", "阴性", dt.datetime(2026, 11, 23, 9, 30)])
    out = io.BytesIO()
    book.save(out)
    (row,) = rows_of(out.getvalue(), "r.xlsx")
    assert row.barcode == "T5"
    assert timezone.localtime(row.tested_at).hour == 9


def test_a_broken_xlsx_is_refused_by_the_shared_reader():
    with pytest.raises(SpreadsheetError) as exc:
        list(read_table(b"PK\x03\x04 not really", "r.xlsx"))
    assert "cannot read this Excel file" in exc.value.en and "无法读取" in exc.value.zh


CELLS = st.sampled_from(
    [
        "T1",
        " T2 ",
        "",
        "x" * 41,
        "阴性",
        "阳性",
        " POS ",
        "无效",
        "maybe",
        "2026-11-23 10:00",
        "2026/11/23 10:00",
        "2026-11-23T10:00:00+08:00",
        "2026-11-25 10:00",
        "yesterday",
        "零陵区疾控中心",
        "某公司",
        "lab",
        "复核",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(CELLS, CELLS, CELLS, CELLS, CELLS), min_size=1, max_size=8))
def test_the_fast_path_agrees_with_clean_row(cells):
    """`checked_rows` makes good rows itself: it must say exactly what `clean_row` says."""
    lines = ["tube,result,tested_at,lab,reason"]
    lines += [",".join(f'"{c}"' for c in row) for row in cells]
    data = "\n".join(lines).encode()
    fast = list(checked_rows(data, "r.csv", lab_names=LAB, now=NOW))
    slow = rows_of(data)
    assert fast == slow
