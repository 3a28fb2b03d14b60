"""A tube by barcode (members, result), a person's testing history, result files by API."""

import pytest

from fangkong.accounts.tests.helpers import api_as
from fangkong.factories import make_user

from .helpers import make_tube, people

pytestmark = pytest.mark.django_db


def test_a_tube_answers_its_result_and_its_members_to_who_may_see_them(
    tree, recalled, worker_a, worker_b, lab
):
    found = api_as(worker_a).get("/labs/tubes/PA1")
    assert found.status_code == 200, found.content
    tube = found.json()
    assert tube["result"]["result"] == "positive" and tube["samples"] == 3
    assert tube["recalls"] == 3
    assert sorted(m["name"] for m in tube["members"]) == ["甲0", "甲1", "甲2"]
    assert all("*" in m["id_number_masked"] for m in tube["members"])
    # The lab sees the tube and its result, not the people.
    by_lab = api_as(lab).get("/labs/tubes/PA1").json()
    assert by_lab["samples"] == 3 and by_lab["members"] == []
    # Community B's worker cannot find community A's tube.
    assert api_as(worker_b).get("/labs/tubes/PA1").status_code == 404
    assert api_as(worker_a).get("/labs/tubes/NOPE").status_code == 404


def test_a_person_s_testing_history_lists_samples_results_and_recalls(
    tree, rnd, channel, recalled, worker_a, worker_b
):
    person = recalled[0][0]
    make_tube(rnd, channel, "NA2", [person, *people(tree.household_a1, 1, "丙")], first=False)
    history = api_as(worker_a).get(f"/labs/residents/{person.pk}/tests")
    assert history.status_code == 200, history.content
    rows = history.json()
    assert {r["tube"] for r in rows} == {"PA1", "NA2"}
    pa1 = next(r for r in rows if r["tube"] == "PA1")
    assert pa1["result"] == "positive" and pa1["recall"] == "open"
    assert next(r for r in rows if r["tube"] == "NA2")["result"] == ""
    assert api_as(worker_b).get(f"/labs/residents/{person.pk}/tests").status_code == 404
    sampler = make_user("sampler_a", "sampler", tree.community_a)
    assert api_as(sampler).get(f"/labs/residents/{person.pk}/tests").status_code == 403


def test_a_lab_uploads_a_results_file_by_api_as_the_page_does(tree, rnd, channel, lab):
    from django.core.files.uploadedfile import SimpleUploadedFile

    make_tube(rnd, channel, "F1", people(tree.household_a1, 2))
    body = "管码,结果,检测时间\nF1,阴性,2026-11-23 15:00\nNOPE,阴性,2026-11-23 15:00\n"
    client = api_as(lab)
    from django.test import Client

    sent = Client.post(
        client,
        "/api/v1/labs/results/file",
        {"file": SimpleUploadedFile("结果.csv", body.encode())},
    )
    assert sent.status_code == 200, sent.content
    upload = sent.json()
    assert upload["created"] == 1 and upload["rejected"] == 1
    again = client.get(f"/labs/uploads/{upload['id']}")
    assert again.status_code == 200 and again.json()["status"] == upload["status"]
