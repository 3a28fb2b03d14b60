"""The API twins of the sticker and roster import pages (issue 8, §5): same service, same
jurisdiction, the one error shape."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from fangkong.accounts.tests.helpers import api_as, error_of
from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident
from fangkong.people.models import ImportJob, ImportStatus, Resident, Tag

from .rosterfiles import csv_bytes, person, roster

pytestmark = pytest.mark.django_db


def test_a_worker_prints_stickers_of_a_building_of_theirs(worker_a, tree):
    make_resident(tree.household_a1, "老人", tags=Tag.NO_SMARTPHONE)
    make_resident(tree.household_a1, "青年")
    url = f"/residents/buildings/{tree.building_a1.code}/codes"
    response = api_as(worker_a).post(url, {"only_no_smartphone": True}, format="json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    event = AuditEvent.objects.get(event="people.codes_print")
    assert event.actor == worker_a and event.detail["stickers"] == 1


def test_stickers_of_another_communitys_building_are_not_found(worker_a, tree):
    url = f"/residents/buildings/{tree.building_b1.code}/codes"
    response = api_as(worker_a).post(url)
    assert response.status_code == 404
    error_of(response)
    assert not AuditEvent.objects.filter(event="people.codes_print").exists()


def test_a_volunteer_may_not_print_stickers(volunteer, tree):
    url = f"/residents/buildings/{tree.building_a1.code}/codes"
    assert api_as(volunteer).post(url).status_code == 403


def _import(user, area, data: bytes, name="花名册.csv"):
    # multipart, as the page sends it (the ApiClient's post sends JSON)
    return Client.post(
        api_as(user),
        "/api/v1/residents/roster/imports",
        {"area": area.code, "file": SimpleUploadedFile(name, data)},
    )


def test_a_small_roster_is_imported_at_once_and_its_job_read_back(worker_a, tree):
    data = csv_bytes(roster(person("张三"), person("李四", room="102")))
    response = _import(worker_a, tree.community_a, data)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == ImportStatus.DONE and body["created"] == 2
    assert body["area"] == tree.community_a.code
    assert Resident.objects.count() == 2
    again = api_as(worker_a).get(f"/residents/roster/imports/{body['id']}")
    assert again.status_code == 200 and again.json() == body


def test_importing_into_another_jurisdiction_is_not_found(worker_a, tree):
    data = csv_bytes(roster(person(compound="和平小区")))
    response = _import(worker_a, tree.community_b, data)
    assert response.status_code == 404
    error_of(response)
    assert not ImportJob.objects.exists() and not Resident.objects.exists()


def test_a_bad_file_is_refused_in_the_one_shape(worker_a, tree):
    response = _import(worker_a, tree.community_a, b"\x00\x01not a roster", name="x.xlsx")
    assert response.status_code == 400
    assert error_of(response)["message_zh"]
    assert not ImportJob.objects.exists()


def test_another_jurisdictions_job_is_not_found(worker_a, worker_b, tree):
    data = csv_bytes(roster(person("王五", compound="和平小区")))
    job_id = _import(worker_b, tree.community_b, data).json()["id"]
    assert api_as(worker_a).get(f"/residents/roster/imports/{job_id}").status_code == 404
