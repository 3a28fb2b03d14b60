"""Division lists from a spreadsheet: bad rows named in both languages, good rows kept,
a second import changes nothing."""

import io

import pytest
from openpyxl import Workbook

from fangkong.areas import services
from fangkong.areas.divisions import read_divisions
from fangkong.areas.models import Area
from fangkong.core.errors import DomainError
from fangkong.core.models import AuditEvent

pytestmark = pytest.mark.django_db

STREET = "431102001"
LIST = (
    "代码,名称,上级代码\n"
    f"{STREET}003001,北门小区,{STREET}003\n"  # child before its parent: made after it
    f"{STREET}003,北门社区,{STREET}\n"
    f"{STREET}003001001,1栋,\n"
    "4311020010,坏代码,\n"
    f"{STREET}004,错上级,{STREET}001\n"
    f"{STREET}005,,{STREET}\n"
    f"431102002001,别的街道,431102002\n"
    f"{STREET}001,东风社区,{STREET}\n"  # exists with this name: unchanged
)


def _import(actor, text: str):
    return services.division_import(
        actor=actor, rows=read_divisions(io.BytesIO(text.encode("utf-8")))
    )


def test_good_rows_go_in_and_bad_rows_are_named(street_user, tree):
    report = _import(street_user, LIST)
    assert report.counts() == {"created": 3, "renamed": 0, "unchanged": 1, "rejected": 4}
    assert Area.objects.get(code=f"{STREET}003001001").parent.code == f"{STREET}003001"
    by_row = {e.row: e for e in report.errors}
    assert sorted(by_row) == [5, 6, 7, 8]
    assert by_row[5].column == "code" and "9、12、15或18位" in by_row[5].zh
    assert by_row[6].column == "parent" and f"{STREET}004"[:-3] in by_row[6].en
    assert by_row[7].column == "name" and by_row[7].zh == "名称为空"
    # Another street: outside a street office's jurisdiction.
    assert "jurisdiction" in by_row[8].en and "辖区" in by_row[8].zh
    assert AuditEvent.objects.get(event="areas.area_import").detail["created"] == 3


def test_importing_again_changes_nothing_and_a_new_name_renames(street_user, tree):
    _import(street_user, LIST)
    before = AuditEvent.objects.count()
    again = _import(street_user, LIST)
    assert again.counts() == {"created": 0, "renamed": 0, "unchanged": 4, "rejected": 4}
    assert AuditEvent.objects.count() == before + 1  # only the import's own summary
    renamed = _import(street_user, f"code,name\n{STREET}003,北门新社区\n")
    assert renamed.renamed == 1 and Area.objects.get(code=f"{STREET}003").name == "北门新社区"


def test_an_excel_list_with_numeric_codes_reads_every_digit(street_user, tree):
    book = Workbook()
    sheet = book.active
    sheet.append(["区划代码", "名称"])
    sheet.append([int(f"{STREET}003"), "北门社区"])
    sheet.append([float(f"{STREET}003001"), "北门小区"])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    report = services.division_import(actor=street_user, rows=read_divisions(data))
    assert report.created == 2 and report.errors == []


def test_a_file_without_the_header_is_refused_whole(street_user, tree):
    with pytest.raises(DomainError, match="no header") as refused:
        _import(street_user, "甲,乙\n1,2\n")
    assert "代码" in refused.value.zh


def test_a_gbk_file_reads(street_user, tree):
    data = f"代码,名称\n{STREET}003,北门社区\n".encode("gb18030")
    report = services.division_import(actor=street_user, rows=read_divisions(io.BytesIO(data)))
    assert report.created == 1
