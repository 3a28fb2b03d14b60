"""Importing a roster: what goes in, what is refused, and that doing it twice changes nothing."""

import io

import pytest

from fangkong.areas.models import Area, BuildingStats, Household
from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident
from fangkong.people.models import ImportJob, ImportStatus, Residency, Resident, Tag
from fangkong.people.roster.importing import roster_import_submit
from fangkong.people.roster.parsing import RosterFileError
from fangkong.people.roster.report import roster_report

from .rosterfiles import csv_bytes, id_number, person, read_xlsx, roster, xlsx

pytestmark = pytest.mark.django_db


def submit(actor, area, data: bytes, name="花名册.xlsx") -> ImportJob:
    return roster_import_submit(actor=actor, area=area, file_name=name, data=data)


def counts(job: ImportJob) -> dict[str, int]:
    assert job.status == ImportStatus.DONE, (job.error_en, job.status)
    return job.counts()


MESSY_HEADER = [
    "小区",
    "楼栋",
    "单元",
    "房号",
    "姓名",
    "公民身份号码",
    "手机号码",
    "重点人群",
    "居住类型",
]


@pytest.fixture
def messy(tree):
    """A roster with one of each kind of mess, and what it should come to."""
    zhang = id_number()
    rows = [
        ["东风社区居民花名册"],
        MESSY_HEADER,
        ["幸福小区", "1号楼", "1", "101", "张　三", zhang.lower(), "138-0013-8000", "独居", "户籍"],
        ["幸福小区", "3栋", "一单元", "１０２", "李四", id_number(), "13900139000", "", "租户"],
        [None] * 9,
        ["幸福小区", "三号楼", "1", "102", "王五", 431102197503091000, "", "", ""],
        ["幸福小区", "1号楼", "1", "101", "张三", zhang, "", "", ""],
        ["快乐小区", "1号楼", "1", "103", "赵六", id_number(), "", "", ""],
    ]
    return xlsx(rows, merges=("A1:I1",))


def test_a_messy_roster_goes_in_and_each_bad_row_is_named(worker_a, tree, messy):
    job = submit(worker_a, tree.community_a, messy)
    assert counts(job) == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 3}
    zhang = Resident.objects.get(name="张三")
    assert zhang.household_id == tree.household_a1.pk
    assert zhang.phone() == "13800138000"
    assert zhang.tags == Tag.LIVING_ALONE
    li = Resident.objects.get(name="李四")
    assert li.residency == Residency.TENANT
    # "3栋" made building 3号楼 under the compound; "一单元"/"１０２" are unit 1, room 102.
    building = Area.objects.get(parent=tree.compound_a, name="3号楼")
    assert (li.household.building_id, li.household.unit, li.household.room) == (
        building.pk,
        "1",
        "102",
    )
    assert BuildingStats.objects.get(building=building).residents == 1
    rows = {r.row: r for r in job.rejections.all()}
    assert sorted(rows) == [6, 7, 8]
    assert "last digits are lost" in rows[6].reason_en
    assert rows[7].reason_en.startswith("same person as row 3")
    assert "快乐小区" in rows[8].reason_zh and "幸福小区" in rows[8].reason_en


def test_the_rejected_rows_report(worker_a, tree, messy):
    job = submit(worker_a, tree.community_a, messy)
    out = io.BytesIO()
    assert roster_report(actor=worker_a, job=job, out=out) == 3
    header, *rows = read_xlsx(out.getvalue())
    assert header[:4] == ["行号 Row", "列 Column", "原因 Reason (zh)", "Reason (en)"]
    assert header[4:] == MESSY_HEADER
    assert [r[0] for r in rows] == [6, 7, 8]
    assert rows[0][1] == "F 公民身份号码"
    assert "数值" in rows[0][2] and "numeric value" in rows[0][3]
    # The original cells, as text: the spoilt number shows as Excel left it.
    assert rows[0][4:9] == ["幸福小区", "三号楼", "1", "102", "王五"]
    assert rows[0][9] == "431102197503091000"
    event = AuditEvent.objects.get(event="people.roster_report", target_id=str(job.pk))
    # The report is the file's own cells: the log says it carries whole numbers.
    assert event.detail["full_numbers"] is True and event.detail["rows"] == 3


def test_importing_the_same_file_again_changes_nothing(worker_a, tree, messy):
    submit(worker_a, tree.community_a, messy)
    before = {r.pk: r.updated_at for r in Resident.objects.all()}
    stats_before = {s.pk: s.refreshed_at for s in BuildingStats.objects.all()}
    areas, households = Area.objects.count(), Household.objects.count()
    job = submit(worker_a, tree.community_a, messy)
    assert counts(job) == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 3}
    assert {r.pk: r.updated_at for r in Resident.objects.all()} == before
    assert {s.pk: s.refreshed_at for s in BuildingStats.objects.all()} == stats_before
    assert (Area.objects.count(), Household.objects.count()) == (areas, households)


def test_a_changed_phone_updates_that_resident_only(worker_a, tree):
    first, second = person("张三"), person("李四", room="102")
    submit(worker_a, tree.community_a, csv_bytes(roster(first, second)))
    untouched = Resident.objects.get(name="李四").updated_at
    first[6] = "139-0000-1111"
    job = submit(worker_a, tree.community_a, csv_bytes(roster(first, second)))
    assert counts(job) == {"created": 0, "updated": 1, "unchanged": 1, "rejected": 0}
    assert Resident.objects.get(name="张三").phone() == "13900001111"
    assert Resident.objects.get(name="李四").updated_at == untouched


def test_a_move_to_another_household_updates_both_buildings_counts(worker_a, tree):
    moving = make_resident(tree.household_a1, "张三")
    row = person("张三", building="2号楼", unit="2", room="202", number=moving.id_number())
    job = submit(worker_a, tree.community_a, csv_bytes(roster(row)))
    assert counts(job)["updated"] == 1
    moving.refresh_from_db()
    assert moving.household_id == tree.household_a2.pk
    assert BuildingStats.objects.get(building=tree.building_a1).residents == 0
    assert BuildingStats.objects.get(building=tree.building_a2).residents == 1


def test_a_column_the_file_lacks_leaves_that_field_alone(worker_a, tree):
    known = make_resident(
        tree.household_a1,
        "张三",
        tags=Tag.BEDRIDDEN | Tag.LIVING_ALONE,
        residency=Residency.TENANT,
    )
    # Only a yes/no 独居 column: bedridden stays, living alone is cleared; residency stays.
    rows = [
        ["小区", "楼栋", "单元", "房号", "姓名", "身份证号", "独居"],
        ["幸福小区", "1号楼", "1", "101", "张三", known.id_number(), "否"],
    ]
    job = submit(worker_a, tree.community_a, csv_bytes(rows))
    assert counts(job)["updated"] == 1
    known.refresh_from_db()
    assert known.tags == Tag.BEDRIDDEN
    assert known.residency == Residency.TENANT
    assert known.phone() == "13800138000"  # a blank or absent phone never clears one


def test_a_person_registered_outside_the_jurisdiction_is_not_pulled_in(worker_a, tree, resident_b):
    row = person("李四", number=resident_b.id_number())
    job = submit(worker_a, tree.community_a, csv_bytes(roster(row)))
    assert counts(job) == {"created": 0, "updated": 0, "unchanged": 0, "rejected": 1}
    assert "outside your jurisdiction" in job.rejections.get().reason_en
    resident_b.refresh_from_db()
    assert resident_b.area_code.startswith(tree.community_b.code)


def test_importing_into_an_area_outside_the_jurisdiction_is_refused(worker_a, tree):
    with pytest.raises(PermissionDenied):
        submit(worker_a, tree.compound_b, csv_bytes(roster(person(compound="和平小区"))))
    assert not ImportJob.objects.exists()


def test_a_role_that_keeps_no_roster_cannot_import(volunteer, tree):
    with pytest.raises(PermissionDenied):
        submit(volunteer, tree.community_a, csv_bytes(roster(person())))


def test_only_a_community_or_a_compound_takes_a_roster(street_user, tree):
    with pytest.raises(DomainError, match="community or a compound"):
        submit(street_user, tree.street, csv_bytes(roster(person())))


def test_a_compound_import_needs_no_compound_column_and_checks_one_if_given(worker_a, tree):
    rows = [["楼栋", "房号", "姓名", "身份证号"], ["1", "101", "张三", id_number()]]
    assert counts(submit(worker_a, tree.compound_a, csv_bytes(rows)))["created"] == 1
    job = submit(worker_a, tree.compound_a, csv_bytes(roster(person(compound="和平小区"))))
    assert "not the compound of this import" in job.rejections.get().reason_en


def test_a_community_of_several_compounds_needs_the_compound_column(worker_a, tree):
    Area.objects.create(
        code=f"{tree.community_a.code}002", name="快乐小区", level=4, parent=tree.community_a
    )
    rows = [["楼栋", "房号", "姓名", "身份证号"], ["1", "101", "张三", id_number()]]
    with pytest.raises(RosterFileError, match="compound"):
        submit(worker_a, tree.community_a, csv_bytes(rows))
    job = submit(worker_a, tree.community_a, csv_bytes(roster(person(compound="快乐小区"))))
    assert counts(job)["created"] == 1
    assert Resident.objects.get().area_code.startswith(f"{tree.community_a.code}002")


def test_one_audit_event_per_import_and_none_per_resident(worker_a, tree, messy):
    job = submit(worker_a, tree.community_a, messy, name="东风.xlsx")
    (event,) = AuditEvent.objects.filter(event="people.roster_import")
    assert event.actor == worker_a
    assert event.area_code == tree.community_a.code
    assert event.detail["file"] == "东风.xlsx"
    assert event.detail["sha256"] == job.sha256 and len(job.sha256) == 64
    assert {k: event.detail[k] for k in job.counts()} == job.counts()
    assert not AuditEvent.objects.filter(event__startswith="people.resident_").exists()
    # The new building is part of the area tree, so its creation is on record.
    assert AuditEvent.objects.filter(event="areas.area_create").count() == 1


def test_the_uploaded_file_is_not_kept_and_rejected_cells_are_encrypted(worker_a, tree, messy):
    from fangkong.people.models import ImportRejection, ImportUpload

    submit(worker_a, tree.community_a, messy)
    assert not ImportUpload.objects.exists()
    cipher = bytes(ImportRejection.objects.order_by("row").first().cells_cipher)
    assert "王五".encode() not in cipher and b"431102197503091000" not in cipher


def test_a_file_that_breaks_midway_fails_the_job_and_keeps_the_rows_before(
    worker_a, tree, monkeypatch
):
    from fangkong.people.roster import importing

    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)
    data = csv_bytes(roster(*[person(f"人{i}", room=f"{100 + i}") for i in range(5)]))
    calls = {"n": 0}
    real = importing._Importer._apply

    def apply_then_break(self, chunk):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        return real(self, chunk)

    monkeypatch.setattr(importing._Importer, "_apply", apply_then_break)
    job = submit(worker_a, tree.community_a, data)
    assert job.status == ImportStatus.FAILED
    assert "internal error" in job.error_en
    assert job.created == 2 and Resident.objects.count() == 2
    assert AuditEvent.objects.get(event="people.roster_import").detail["status"] == "failed"


def test_an_import_whose_worker_died_is_marked_failed_and_a_live_one_is_not(worker_a, tree):
    import datetime as dt

    from django.core.management import call_command
    from django.utils import timezone

    from fangkong.people.models import ImportUpload

    now = timezone.now()

    def job(status, started_minutes_ago):
        made = ImportJob.objects.create(
            area=tree.community_a, created_by=worker_a, file_name="x.xlsx", sha256="0" * 64
        )
        ImportJob.objects.filter(pk=made.pk).update(
            status=status, started_at=now - dt.timedelta(minutes=started_minutes_ago)
        )
        ImportUpload.objects.create(job=made, cipher=b"\x00")
        return made

    dead, live, queued = (
        job(ImportStatus.RUNNING, 90),
        job(ImportStatus.RUNNING, 5),
        job(ImportStatus.QUEUED, 90),
    )
    out = io.StringIO()
    call_command("roster_reap", "--minutes", "60", stdout=out)
    assert "Marked 1" in out.getvalue()
    for j in (dead, live, queued):
        j.refresh_from_db()
    assert dead.status == ImportStatus.FAILED and dead.finished_at is not None
    assert "import the file again" in dead.error_en and "重新导入" in dead.error_zh
    assert live.status == ImportStatus.RUNNING and queued.status == ImportStatus.QUEUED
    assert set(ImportUpload.objects.values_list("job_id", flat=True)) == {live.pk, queued.pk}
    call_command("roster_reap", stdout=out)  # again: nothing more
    assert "Marked 0" in out.getvalue()
