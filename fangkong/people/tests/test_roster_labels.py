"""A label never loses a person: categories the import does not know keep the row, go to
the note and are listed as warnings; residency words set residency; known synonyms set
tags; only a contradiction rejects."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from fangkong.factories import make_resident
from fangkong.people.models import ImportJob, ImportStatus, Residency, Resident, Tag
from fangkong.people.roster.importing import roster_import_submit
from fangkong.people.roster.report import roster_report

from .rosterfiles import csv_bytes, id_number

pytestmark = pytest.mark.django_db

HEADER = ["小区", "楼栋", "单元", "房号", "姓名", "身份证号码", "人员类别", "备注"]


def _row(name, category, note="", number=None, room="101"):
    return ["幸福小区", "1号楼", "1", room, name, number or id_number(), category, note]


def _submit(worker, tree, *rows):
    job = roster_import_submit(
        actor=worker, area=tree.community_a, file_name="花名册.csv", data=csv_bytes([HEADER, *rows])
    )
    assert job.status == ImportStatus.DONE, job.error_en
    return job


def test_every_person_of_a_roster_full_of_local_labels_is_imported(worker_a, tree):
    job = _submit(
        worker_a,
        tree,
        _row("甲", "租户"),
        _row("乙", "流动人口、独居"),
        _row("丙", "党员", note="楼长"),
        _row("丁", "低保户，返乡人员"),
        _row("戊", "密接"),
        _row("己", "暂住 孤寡老人"),
    )
    assert job.counts() == {"created": 6, "updated": 0, "unchanged": 0, "rejected": 0}
    people = {r.name: r for r in Resident.objects.all()}
    assert people["甲"].residency == Residency.TENANT
    assert (people["乙"].residency, people["乙"].tags) == (Residency.TENANT, Tag.LIVING_ALONE)
    assert people["丙"].note == "楼长；人员类别：党员"
    assert people["丁"].note == "人员类别：低保户、返乡人员"
    assert people["戊"].note == "人员类别：密接"
    assert (people["己"].residency, people["己"].tags) == (Residency.TENANT, Tag.LIVING_ALONE)
    assert job.warned == 3
    warnings = [(w.row, w.column, w.value) for w in job.warnings.all()]
    assert warnings == [
        (4, "G 人员类别", "党员"),
        (5, "G 人员类别", "低保户、返乡人员"),
        (6, "G 人员类别", "密接"),
    ]
    w = job.warnings.first()
    assert "已记入备注" in w.reason_zh and "kept in the note" in w.reason_en


def test_importing_the_labelled_roster_again_changes_nothing(worker_a, tree):
    rows = [_row("丙", "党员", number=id_number()), _row("甲", "租户", number=id_number())]
    _submit(worker_a, tree, *rows)
    again = _submit(worker_a, tree, *rows)
    assert again.counts() == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 0}


def test_a_label_that_says_nothing_of_residency_keeps_a_known_tenants(worker_a, tree):
    tenant = make_resident(tree.household_a1, "租客甲", residency=Residency.TENANT)
    job = _submit(worker_a, tree, _row("租客甲", "党员", number=tenant.id_number()))
    tenant.refresh_from_db()
    assert tenant.residency == Residency.TENANT and tenant.note == "人员类别：党员"
    assert job.counts()["updated"] == 1


def test_only_a_contradiction_rejects_the_row(worker_a, tree):
    header = [*HEADER, "居住类型"]
    data = csv_bytes([header, [*_row("甲", "租户"), "户籍"], [*_row("乙", "党员"), "候鸟"]])
    job = roster_import_submit(actor=worker_a, area=tree.community_a, file_name="r.csv", data=data)
    assert (job.created, job.rejected, job.warned) == (1, 1, 2)
    (rejection,) = job.rejections.all()
    assert rejection.row == 2 and "contradicts" in rejection.reason_en
    assert Resident.objects.get().note == "居住类型：候鸟；人员类别：党员"


def test_the_page_and_the_report_list_the_warnings(client_for, worker_a, tree):
    job = _submit(worker_a, tree, _row("丙", "党员"), _row("丁", "", room="102"))
    page = client_for(worker_a).get(reverse("people:import_status", args=[job.pk]))
    body = page.content.decode()
    assert "党员" in body and "已记入备注" in body
    out = io.BytesIO()
    roster_report(actor=worker_a, job=job, out=out)
    sheet = load_workbook(io.BytesIO(out.getvalue()), read_only=True)["warnings"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[1][:3] == [2, "G 人员类别", "党员"]
    assert ImportJob.objects.get().warned == 1
