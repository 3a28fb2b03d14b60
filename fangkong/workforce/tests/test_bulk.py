"""Bulk enrolment from a spreadsheet, to the roster import's standard."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.factories import new_id_number
from fangkong.workforce.bulk import bulk_enrol
from fangkong.workforce.models import Worker

from .conftest import make_worker

HEADER = ["姓名", "身份证号", "手机号", "居住社区", "党员", "技能", "可值夜班"]


def xlsx(rows, header=HEADER) -> io.BytesIO:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


@pytest.fixture
def rows(world):
    return [
        [
            "张一",
            new_id_number(),
            "13911110001",
            world.community_a.code,
            "是",
            "医护；驾驶C1",
            "否",
        ],
        ["张二", new_id_number(), "13911110002", world.community_b.name, "", "", "是"],
        ["张三", "43110219850517001Y", "13911110003", world.community_a.code, "否", "", ""],
        ["张四", new_id_number(), "12345", world.community_a.code, "否", "", ""],
        ["张五", new_id_number(), "13911110005", world.community_a.code, "也许", "", ""],
        ["张六", new_id_number(), "13911110006", world.community_a.code, "", "飞行", ""],
        ["", new_id_number(), "13911110007", "不存在社区", "", "", ""],
    ]


def test_good_rows_go_in_and_each_bad_one_says_row_column_and_why(world, health, liaison, rows):
    job = bulk_enrol(actor=liaison, file_name="卫健局.xlsx", stream=xlsx(rows))
    assert (job.rows, job.created, job.rejected) == (7, 2, 5)
    where = {(r["row"], r["column"]) for r in job.rejections}
    assert where == {
        (4, "身份证号"),
        (5, "手机号"),
        (6, "党员"),
        (7, "技能"),
        (8, "姓名, 居住社区"),  # every bad field of the row, not the first
    }
    assert all(r["reason_zh"] and r["reason_en"] for r in job.rejections)
    one = Worker.objects.get(name="张一")
    assert one.organ == health and one.party_member and not one.nights
    assert sorted(one.skills.values_list("code", flat=True)) == ["drive_c1", "medical"]
    assert Worker.objects.get(name="张二").home_code == world.community_b.code
    # The rejections keep no ID numbers.
    assert rows[0][1] not in str(job.rejections)


def test_a_rejected_row_names_every_bad_field_with_its_reason_in_both_languages(
    world, health, liaison
):
    rows = [
        ["", "43110219850517001Y", "12345", "不存在社区", "也许", "飞行", "偶尔"],
        ["张好", new_id_number(), "13911110009", world.community_a.code, "", "", ""],
    ]
    job = bulk_enrol(actor=liaison, file_name="a.xlsx", stream=xlsx(rows))
    assert (job.created, job.rejected) == (1, 1)
    [why] = job.rejections
    columns = ["姓名", "身份证号", "手机号", "居住社区", "党员", "技能", "可值夜班"]
    assert why["row"] == 2 and why["column"] == ", ".join(sorted(columns, key=HEADER.index))
    assert sorted(p["column"] for p in why["problems"]) == sorted(columns)
    assert all(p["reason_zh"] and p["reason_en"] for p in why["problems"])
    assert len({p["reason_en"] for p in why["problems"]}) == len(columns)
    for p in why["problems"]:
        assert p["reason_zh"] in why["reason_zh"] and p["reason_en"] in why["reason_en"]
    assert "飞行" in why["reason_zh"] and "偶尔" in why["reason_en"]


def test_an_ambiguous_community_is_said_once_beside_the_other_faults(world, liaison):
    from fangkong.areas.models import Area, Level

    Area.objects.create(
        code=f"{world.street.code}099",
        name=world.community_a.name,
        level=Level.COMMUNITY,
        parent=world.street,
    )
    rows = [["张一", new_id_number(), "12345", world.community_a.name]]
    job = bulk_enrol(actor=liaison, file_name="a.xlsx", stream=xlsx(rows, header=HEADER[:4]))
    [why] = job.rejections
    assert [p["column"] for p in why["problems"]] == ["手机号", "居住社区"]
    assert "code" in why["problems"][1]["reason_en"]
    assert "no community" not in why["reason_en"]


def test_importing_the_same_file_again_changes_nothing(world, health, liaison, rows):
    bulk_enrol(actor=liaison, file_name="a.xlsx", stream=xlsx(rows))
    again = bulk_enrol(actor=liaison, file_name="a.xlsx", stream=xlsx(rows))
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 5)
    changed = [list(r) for r in rows]
    changed[0][2] = "13911119999"
    third = bulk_enrol(actor=liaison, file_name="a.xlsx", stream=xlsx(changed))
    assert (third.updated, third.unchanged) == (1, 1)
    assert Worker.objects.count() == 2


def test_another_organs_staff_are_refused_not_taken_over(world, education, liaison):
    theirs = make_worker(world.community_a, "别家", organ=education)
    job = bulk_enrol(
        actor=liaison,
        file_name="a.csv",
        stream=io.BytesIO(
            (
                "姓名,身份证号,手机号,居住社区\n"
                f"别家,{theirs.id_number()},13911110001,{world.community_a.code}\n"
            ).encode()
        ),
    )
    assert job.rejected == 1 and job.rejections[0]["column"] == "身份证号"
    theirs.refresh_from_db()
    assert theirs.organ == education


def test_a_file_without_the_needed_columns_is_refused_whole(world, liaison):
    with pytest.raises(DomainError) as exc:
        bulk_enrol(actor=liaison, file_name="x.xlsx", stream=xlsx([["a"]], header=["姓名"]))
    assert "身份证号" in exc.value.zh
    with pytest.raises(DomainError):
        bulk_enrol(
            actor=liaison, file_name="x.xls", stream=io.BytesIO(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
        )


def test_an_ordinary_worker_cannot_bulk_enrol(world, cadre, rows):
    with pytest.raises(PermissionDenied):
        bulk_enrol(actor=cadre.user, file_name="a.xlsx", stream=xlsx(rows))


def test_the_page_and_the_api_take_the_file(world, liaison, rows, client_for):
    client = client_for(liaison)
    data = xlsx(rows).getvalue()
    page = client.post("/workforce/enrol/", {"file": SimpleUploadedFile("a.xlsx", data)})
    assert page.status_code == 200 and "43110219850517001Y" not in page.content.decode()
    assert "身份证号" in page.content.decode()
    api = client.post(
        "/api/v1/workforce/workers/bulk", {"file": SimpleUploadedFile("a.xlsx", data)}
    )
    assert api.status_code == 200 and api.json()["unchanged"] == 2 and api.json()["rejected"] == 5


def test_the_same_person_twice_in_one_file_is_refused_at_the_later_row(world, liaison):
    number = new_id_number()
    rows = [
        ["张一", number, "13911110001", world.community_a.code],
        ["张二", new_id_number(), "13911110002", world.community_a.code],
        ["张一", number, "13911119999", world.community_b.code],
    ]
    job = bulk_enrol(actor=liaison, file_name="a.xlsx", stream=xlsx(rows, header=HEADER[:4]))
    assert (job.created, job.updated, job.rejected) == (2, 0, 1)
    [why] = job.rejections
    assert (why["row"], why["column"]) == (4, "身份证号")
    assert "第2行" in why["reason_zh"] and "row 2" in why["reason_en"]
    assert number not in str(job.rejections)
    one = Worker.objects.get(name="张一")
    assert one.home_code == world.community_a.code and one.phone() == "13911110001"
    again = bulk_enrol(actor=liaison, file_name="a.xlsx", stream=xlsx(rows, header=HEADER[:4]))
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 1)


def test_a_community_name_two_streets_share_must_be_given_by_its_code(world, liaison):
    from fangkong.areas.models import Area, Level

    twin = Area.objects.create(
        code=f"{world.street.code}099",
        name=world.community_a.name,
        level=Level.COMMUNITY,
        parent=world.street,
    )
    rows = [
        ["张一", new_id_number(), "13911110001", world.community_a.name],
        ["张二", new_id_number(), "13911110002", twin.code],
        ["张三", new_id_number(), "13911110003", world.community_b.name],
    ]
    job = bulk_enrol(actor=liaison, file_name="a.xlsx", stream=xlsx(rows, header=HEADER[:4]))
    assert (job.created, job.rejected) == (2, 1)
    [why] = job.rejections
    assert (why["row"], why["column"]) == (2, "居住社区")
    assert world.community_a.name in why["reason_zh"] and "code" in why["reason_en"]
    assert Worker.objects.get(name="张二").home_code == twin.code
    assert Worker.objects.get(name="张三").home_code == world.community_b.code
