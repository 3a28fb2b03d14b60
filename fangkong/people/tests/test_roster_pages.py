"""The import and export pages: upload, progress, report, export, and who may do what."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_tasks.signals import task_enqueued

from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident, make_user
from fangkong.people.models import ImportJob, ImportStatus, Resident

from .rosterfiles import csv_bytes, person, read_xlsx, roster, xlsx

pytestmark = pytest.mark.django_db


def upload(client, area, data: bytes, name="花名册.csv"):
    return client.post(
        reverse("people:import"), {"area": area.code, "file": SimpleUploadedFile(name, data)}
    )


def test_a_small_roster_is_imported_at_once_and_the_counts_shown(client_for, worker_a, tree):
    client = client_for(worker_a)
    response = upload(
        client, tree.community_a, csv_bytes(roster(person("张三"), person("李四", room="102")))
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("people:import_status", args=[job.pk])
    assert job.status == ImportStatus.DONE and job.created == 2
    page = client.get(response["Location"]).content.decode()
    assert "花名册.csv" in page and "hx-trigger" not in page
    assert Resident.objects.count() == 2


def test_the_import_page_offers_only_areas_of_the_jurisdiction(client_for, worker_a, tree):
    page = client_for(worker_a).get(reverse("people:import")).content.decode()
    assert tree.community_a.code in page and tree.compound_a.code in page
    assert tree.community_b.code not in page and tree.compound_b.code not in page


def test_importing_into_another_jurisdiction_is_refused(client_for, worker_a, tree):
    response = upload(
        client_for(worker_a), tree.community_b, csv_bytes(roster(person(compound="和平小区")))
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not ImportJob.objects.exists() and not Resident.objects.exists()


@pytest.mark.parametrize(
    ("data", "zh", "en"),
    [
        (b"", "文件是空的", "the file is empty"),
        (b"\xd0\xcf\x11\xe0" + bytes(600), "旧版Excel", "save it as .xlsx"),
        (bytes(range(256)) * 8, "无法识别的文件", "not a spreadsheet"),
        (csv_bytes([["随便", "什么"], ["1", "2"]]), "找不到表头", "no header row"),
    ],
    ids=["empty", "xls", "binary", "no-header"],
)
def test_a_bad_file_gets_a_clear_bilingual_message(client_for, worker_a, tree, data, zh, en):
    response = upload(client_for(worker_a), tree.community_a, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert zh in page and en.replace("'", "&#x27;") in page
    assert "Traceback" not in page
    assert not ImportJob.objects.exists()


def test_a_volunteer_cannot_open_the_import_page(client_for, volunteer):
    assert client_for(volunteer).get(reverse("people:import")).status_code == 403


@pytest.fixture
def job_of_b(worker_b, tree):
    from fangkong.people.roster.importing import roster_import_submit

    data = csv_bytes(roster(person("李四", compound="和平小区"), person("坏", phone="1")))
    return roster_import_submit(actor=worker_b, area=tree.community_b, file_name="b.csv", data=data)


def test_another_jurisdictions_job_and_report_are_not_found(client_for, worker_a, job_of_b):
    client = client_for(worker_a)
    assert client.get(reverse("people:import_status", args=[job_of_b.pk])).status_code == 404
    assert client.get(reverse("people:import_report", args=[job_of_b.pk])).status_code == 404
    assert "b.csv" not in client.get(reverse("people:import")).content.decode()
    assert not AuditEvent.objects.filter(event="people.roster_report").exists()


def test_the_report_downloads_as_xlsx_and_is_audited(client_for, worker_b, job_of_b):
    response = client_for(worker_b).get(reverse("people:import_report", args=[job_of_b.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    header, row = read_xlsx(b"".join(response.streaming_content))
    assert header[:4] == ["行号 Row", "列 Column", "原因 Reason (zh)", "Reason (en)"]
    assert row[:2] == [5, "G 联系电话"] and row[8] == "坏"
    assert AuditEvent.objects.filter(event="people.roster_report", actor=worker_b).count() == 1


def test_the_status_page_lists_the_rejected_rows_in_the_users_language(
    client_for, worker_b, job_of_b
):
    client = client_for(worker_b)
    url = reverse("people:import_status", args=[job_of_b.pk])
    assert "电话号码" in client.get(url).content.decode()
    client.cookies["django_language"] = "en"
    assert "phone number" in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_a_large_roster_goes_through_the_background_task(
    client_for, worker_a, tree, settings, django_capture_on_commit_callbacks
):
    settings.ROSTER_INLINE_MAX_ROWS = 3
    enqueued = []

    def record(sender, task_result, **kwargs):
        enqueued.append(task_result)

    task_enqueued.connect(record)
    data = xlsx(roster(*[person(f"人{i}", room=str(101 + i)) for i in range(5)]))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(client_for(worker_a), tree.community_a, data, name="big.xlsx")
    job = ImportJob.objects.get()
    # Queued, not run, until the transaction that stored it has committed.
    assert job.status == ImportStatus.QUEUED and not Resident.objects.exists()
    assert len(callbacks) == 1 and not enqueued
    callbacks[0]()
    assert [r.task.name for r in enqueued] == ["roster_import"]
    task_enqueued.disconnect(record)
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.created == 5
    assert response["Location"] == reverse("people:import_status", args=[job.pk])


def test_the_status_page_polls_while_the_job_runs(client_for, worker_a, tree):
    job = ImportJob.objects.create(
        area=tree.community_a,
        created_by=worker_a,
        file_name="big.xlsx",
        sha256="0" * 64,
        status=ImportStatus.RUNNING,
        total_rows=1000,
        processed_rows=250,
    )
    client = client_for(worker_a)
    url = reverse("people:import_status", args=[job.pk])
    partial = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="progress"')
    assert 'hx-trigger="every 1s"' in partial and 'value="25"' in partial
    assert "<html" not in partial
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.DONE, processed_rows=1000)
    done = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done and 'value="100"' in done


# Export ---------------------------------------------------------------------------------


def export(client, **params):
    response = client.get(reverse("people:export"), params)
    if response.status_code != 200:
        return response.status_code, None
    return 200, read_xlsx(b"".join(response.streaming_content))


def test_export_is_masked_by_default_and_audited(
    client_for, worker_a, tree, resident_a, resident_b
):
    status, rows = export(client_for(worker_a), area=tree.community_a.code)
    assert status == 200
    title, header, *people = rows
    assert "东风社区" in title[0] and "打码" in title[0]
    assert header[:8] == [
        "小区",
        "楼栋",
        "单元",
        "房号",
        "姓名",
        "证件类型",
        "证件号码",
        "联系电话",
    ]
    assert [p[4] for p in people] == ["张三丰"]
    assert people[0][6] == resident_a.id_masked and people[0][7] == "138****8000"
    event = AuditEvent.objects.get(event="people.roster_export")
    assert event.detail == {"rows": 1, "full": False} and event.area_code == tree.community_a.code


def test_full_export_needs_the_role_and_is_audited_as_such(client_for, worker_a, tree, resident_a):
    client = client_for(worker_a)
    status, rows = export(client, area=tree.community_a.code, full="1", reason="移交街道")
    assert rows[2][6] == resident_a.id_number() and rows[2][7] == "13800138000"
    event = AuditEvent.objects.get(event="people.roster_export")
    assert event.detail["full"] is True and event.reason == "移交街道"
    grid = make_user("grid", "grid", tree.community_a)  # may export, may not reveal
    assert export(client_for(grid), area=tree.community_a.code, full="1", reason="x")[0] == 403


def test_a_full_export_without_a_reason_is_refused_with_a_message(client_for, worker_a, tree):
    client = client_for(worker_a)
    response = client.get(reverse("people:export"), {"area": tree.community_a.code, "full": "1"})
    assert response.status_code == 302 and response["Location"] == reverse("people:import")
    page = client.get(response["Location"]).content.decode()
    assert "必须填写理由" in page and "a reason is required" in page
    assert not AuditEvent.objects.filter(event="people.roster_export").exists()
    # The form asks for it beside the box that asks for full numbers.
    assert 'name="reason"' in page


def test_export_of_another_jurisdiction_is_not_found(client_for, worker_a, tree, resident_b):
    client = client_for(worker_a)
    assert export(client, area=tree.community_b.code)[0] == 404
    assert export(client, area=tree.street.code)[0] == 404
    assert not AuditEvent.objects.filter(event="people.roster_export").exists()


def test_a_volunteer_cannot_export(client_for, volunteer, tree):
    assert export(client_for(volunteer), area=tree.community_a.code)[0] == 403


def test_export_without_an_area_takes_the_users_own(client_for, worker_a, resident_a):
    status, rows = export(client_for(worker_a))
    assert status == 200 and rows[2][4] == "张三丰"


def test_a_full_export_imported_again_changes_nothing(client_for, worker_a, tree):
    from fangkong.people.models import Tag

    make_resident(tree.household_a1, "张三丰", tags=Tag.BEDRIDDEN | Tag.REGULAR_TREATMENT)
    make_resident(tree.household_a2, "John Smith", residency="tenant")
    client = client_for(worker_a)
    response = client.get(
        reverse("people:export"), {"area": tree.community_a.code, "full": "1", "reason": "核对"}
    )
    data = b"".join(response.streaming_content)
    before = {r.pk: r.updated_at for r in Resident.objects.all()}
    upload(client, tree.community_a, data, name="export.xlsx")
    job = ImportJob.objects.get()
    assert job.counts() == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 0}
    assert {r.pk: r.updated_at for r in Resident.objects.all()} == before


def test_a_masked_export_cannot_be_imported(client_for, worker_a, tree, resident_a):
    client = client_for(worker_a)
    data = b"".join(client.get(reverse("people:export")).streaming_content)
    upload(client, tree.community_a, data, name="masked.xlsx")
    job = ImportJob.objects.get()
    assert job.rejected == 1 and "masked" in job.rejections.get().reason_en
