"""Every way across the boundary, tried: another community's workers, another organ's
staff, another worker's record; by page, by API, by export, by guessing an id."""

import io

import pytest
from openpyxl import load_workbook

from fangkong.core.actors import SYSTEM
from fangkong.core.models import AuditEvent
from fangkong.factories import make_user
from fangkong.workforce import services
from fangkong.workforce.models import Worker

from .conftest import cid, make_worker


@pytest.fixture
def people(world, health, education, worker_a):
    """In A: a health cadre and a volunteer; in B: an education cadre and a health
    cadre; a team in A of the volunteer and the A health cadre."""
    a_health = make_worker(world.community_a, "甲卫健", organ=health, password="Wk7-pw-aaaaaaa1")
    a_vol = make_worker(world.community_a, "甲志愿", password="Wk7-pw-aaaaaaa2")
    b_edu = make_worker(world.community_b, "乙教育", organ=education, password="Wk7-pw-bbbbbbb1")
    b_health = make_worker(world.community_b, "乙卫健", organ=health, password="Wk7-pw-bbbbbbb2")
    services.team_create(
        actor=worker_a, community=world.community_a, name="一组", leader=a_vol, members=[a_health]
    )
    return {"a_health": a_health, "a_vol": a_vol, "b_edu": b_edu, "b_health": b_health}


def names(response) -> set[str]:
    return {w["name"] for w in response.json()["items"]}


def test_a_community_sees_its_own_workers_only(people, worker_b, client_for):
    client = client_for(worker_b)
    page = client.get("/workforce/workers/").content.decode()
    assert "乙教育" in page and "乙卫健" in page and "甲卫健" not in page and "甲志愿" not in page
    assert names(client.get("/api/v1/workforce/workers")) == {"乙教育", "乙卫健"}
    for w in (people["a_health"], people["a_vol"]):
        assert client.get(f"/workforce/workers/{w.pk}/").status_code == 404
        assert client.get(f"/api/v1/workforce/workers/{w.pk}").status_code == 404
        assert (
            client.post(
                f"/api/v1/workforce/workers/{w.pk}/reveal",
                {"reason": "x"},
                content_type="application/json",
            ).status_code
            == 404
        )
        assert (
            client.post(
                f"/workforce/workers/{w.pk}/status/",
                {"status": "sick", "reason": "x", "until": "2026-12-01"},
            ).status_code
            == 404
        )
    assert not AuditEvent.objects.filter(event="workforce.worker_reveal").exists()


def test_a_worker_reporting_in_elsewhere_is_seen_there_and_at_home(
    people, world, worker_b, client_for
):
    services.report_in(actor=people["a_vol"].user, client_id=cid(), community=world.community_b)
    client = client_for(worker_b)
    assert "甲志愿" in names(client.get("/api/v1/workforce/workers"))


def test_the_street_sees_its_communities_workers(people, street_user, client_for):
    assert names(client_for(street_user).get("/api/v1/workforce/workers")) == {
        "甲卫健",
        "甲志愿",
        "乙教育",
        "乙卫健",
    }


def test_an_organ_liaison_sees_the_organs_staff_wherever_they_serve(people, liaison, client_for):
    client = client_for(liaison)
    assert names(client.get("/api/v1/workforce/workers")) == {"甲卫健", "乙卫健"}
    assert client.get(f"/api/v1/workforce/workers/{people['b_edu'].pk}").status_code == 404
    shown = client.post(
        f"/api/v1/workforce/workers/{people['b_health'].pk}/reveal",
        {"reason": "核对"},
        content_type="application/json",
    )
    assert shown.status_code == 200 and shown.json()["id_number"] == people["b_health"].id_number()
    refused = client.post(
        f"/api/v1/workforce/workers/{people['b_edu'].pk}/reveal",
        {"reason": "核对"},
        content_type="application/json",
    )
    assert refused.status_code == 404


def test_a_worker_sees_themself_and_their_team_only(people, client_for):
    client = client_for(people["a_vol"].user)
    assert names(client.get("/api/v1/workforce/workers")) == {"甲卫健", "甲志愿"}
    assert client.get(f"/api/v1/workforce/workers/{people['b_edu'].pk}").status_code == 404
    lone = client_for(people["b_edu"].user)
    assert names(lone.get("/api/v1/workforce/workers")) == {"乙教育"}
    # A plain worker may not reveal even a teammate's full numbers.
    r = client_for(people["a_vol"].user).post(
        f"/api/v1/workforce/workers/{people['a_health'].pk}/reveal",
        {"reason": "x"},
        content_type="application/json",
    )
    assert r.status_code == 403


def test_a_liaison_of_another_organ_and_an_outsider_see_nothing(
    people, world, education, client_for
):
    other = make_user("edu_liaison", "worker")
    services.liaison_link(actor=SYSTEM, user=other, organ=education)
    assert names(client_for(other).get("/api/v1/workforce/workers")) == {"乙教育"}
    nobody = make_user("nobody", "worker")
    assert names(client_for(nobody).get("/api/v1/workforce/workers")) == set()
    resident = make_user("res", "resident")
    assert client_for(resident).get("/api/v1/workforce/workers").status_code == 403
    assert client_for(resident).get("/workforce/workers/").status_code == 403


def test_numbers_and_their_export_are_cut_to_the_jurisdiction(people, world, worker_b, client_for):
    services.report_in(actor=people["a_health"].user, client_id=cid(), community=world.community_a)
    services.report_in(actor=people["b_edu"].user, client_id=cid(), community=world.community_b)
    client = client_for(worker_b)
    data = client.get("/api/v1/workforce/numbers").json()
    assert [r["code"] for r in data["by_community"]] == [world.community_b.code]
    assert client.get(f"/api/v1/workforce/numbers?area={world.community_a.code}").status_code == 404
    assert client.get(f"/workforce/numbers/?area={world.community_a.code}").status_code == 404
    book = load_workbook(io.BytesIO(client.get("/workforce/numbers.xlsx").content))
    cells = [c for row in book["按社区 By community"].iter_rows(values_only=True) for c in row]
    assert world.community_b.name in cells and world.community_a.name not in cells
    assert AuditEvent.objects.filter(event="workforce.numbers_export", actor=worker_b).exists()


def test_another_community_cannot_decide_or_see_a_report_in(people, world, worker_b, client_for):
    e, _ = services.report_in(
        actor=people["a_health"].user, client_id=cid(), community=world.community_a
    )
    client = client_for(worker_b)
    assert (
        client.post(f"/workforce/report-ins/{e.pk}/decide/", {"decision": "confirm"}).status_code
        == 404
    )
    r = client.post(
        f"/api/v1/workforce/report-ins/{e.pk}/decision",
        {"confirm": True},
        content_type="application/json",
    )
    assert r.status_code == 404
    assert client.get("/api/v1/workforce/report-ins").json()["items"] == []
    e.refresh_from_db()
    assert e.status == "pending"
    assert Worker.objects.count() == 4
