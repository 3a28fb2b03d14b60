"""Trace tasks and control statuses are personal data: a community sees its own. Every
way across the boundary is tried: task and person pages, their actions, the resident
page's panel, the API's lists, details, actions and statuses, campaign pages."""

import datetime as dt
from decimal import Decimal

import pytest

from fangkong.screening import services
from fangkong.screening.services import FoundContact

pytestmark = pytest.mark.django_db


def test_another_communitys_task_page_does_not_exist_for_me(client_for, worker_b, task_a):
    c = client_for(worker_b)
    assert c.get(f"/screening/tasks/{task_a.pk}/").status_code == 404
    for action in ("reach", "attempt", "control", "hand-over"):
        r = c.post(
            f"/screening/tasks/{task_a.pk}/{action}/",
            {"kind": "home_isolation", "reason": "x", "channel": "phone"},
        )
        assert r.status_code == 404, action
    task_a.refresh_from_db()
    assert task_a.state == "open" and task_a.attempts == 0


def test_my_task_list_holds_only_my_community(client_for, worker_a, task_a, task_b):
    page = client_for(worker_a).get("/screening/")
    assert page.status_code == 200
    ids = {t.pk for t in page.context["tasks"]}
    assert ids == {task_a.pk}
    assert "李四" not in page.content.decode()


def test_another_communitys_person_and_status_are_hidden(client_for, worker_b, person_a, worker_a):
    services.status_set(actor=worker_a, person=person_a, kind="home_isolation", reason="密接")
    c = client_for(worker_b)
    assert c.get(f"/screening/people/{person_a.pk}/").status_code == 404
    r = c.post(f"/screening/people/{person_a.pk}/status/", {"kind": "released", "reason": "想解除"})
    assert r.status_code == 404
    assert c.post(f"/screening/residents/{person_a.resident_id}/").status_code == 404


def test_the_api_keeps_to_the_jurisdiction(client_for, worker_b, task_a, person_a, worker_a):
    services.status_set(actor=worker_a, person=person_a, kind="home_isolation", reason="密接")
    c = client_for(worker_b)
    listed = c.get("/api/v1/screening/tasks?state=active").json()
    assert listed["items"] == []
    assert c.get(f"/api/v1/screening/tasks/{task_a.pk}").status_code == 404
    for path, body in [
        (f"/api/v1/screening/tasks/{task_a.pk}/reach", {}),
        (f"/api/v1/screening/tasks/{task_a.pk}/attempts", {"channel": "phone"}),
        (f"/api/v1/screening/tasks/{task_a.pk}/control", {"kind": "home_isolation", "reason": "x"}),
        (f"/api/v1/screening/people/{person_a.pk}/status", {"kind": "released", "reason": "x"}),
        ("/api/v1/screening/tasks", {"person": person_a.pk, "category": "close", "reason": "x"}),
    ]:
        r = c.post(path, body, content_type="application/json")
        assert r.status_code == 404, path
    assert c.get(f"/api/v1/screening/people/{person_a.pk}/status").status_code == 404
    assert c.get(f"/api/v1/screening/residents/{person_a.resident_id}/status").status_code == 404


def test_a_grid_worker_sees_the_tasks_of_their_buildings_only(
    client_for, grid_worker, tree, task_a, worker_a
):
    from fangkong.factories import make_resident
    from fangkong.screening.services.status import person_for_resident

    a2 = person_for_resident(make_resident(tree.household_a2, "楼二"))
    other, _ = services.task_create(actor=worker_a, person=a2, category="close", reason="x")
    ids = {t["id"] for t in client_for(grid_worker).get("/api/v1/screening/tasks").json()["items"]}
    assert ids == {task_a.pk}
    assert client_for(grid_worker).get(f"/screening/tasks/{other.pk}/").status_code == 404


def test_roles_without_the_right_get_nothing(client_for, volunteer, tree, task_a):
    c = client_for(volunteer)
    assert c.get("/screening/").status_code == 403
    assert c.get("/api/v1/screening/tasks").status_code == 403
    assert (
        c.get(f"/api/v1/screening/residents/{task_a.person.resident_id}/status").status_code == 403
    )


def test_the_resident_page_shows_the_status_only_to_those_who_may_see_it(
    client_for, worker_a, person_a, resident_a, tree
):
    from fangkong.factories import make_user

    services.status_set(actor=worker_a, person=person_a, kind="home_isolation", reason="密接居家")
    page = client_for(worker_a).get(f"/people/{resident_a.pk}/").content.decode()
    assert 'id="control-status"' in page and "密接居家" in page
    leader = make_user("leader", "building", tree.building_a1)
    page = client_for(leader).get(f"/people/{resident_a.pk}/").content.decode()
    assert 'id="control-status"' not in page


def test_campaign_pages_of_another_community_are_hidden(client_for, worker_b, campaign, tree):
    c = client_for(worker_b)
    assert (
        c.get(f"/screening/campaigns/{campaign.pk}/area/{tree.community_a.code}/").status_code
        == 404
    )
    assert (
        c.get(f"/screening/campaigns/{campaign.pk}/building/{tree.building_a1.code}/").status_code
        == 404
    )
    assert (
        c.get(f"/screening/campaigns/{campaign.pk}/household/{tree.household_a1.pk}/").status_code
        == 404
    )
    r = c.get(f"/api/v1/screening/campaigns/{campaign.pk}/not-yet?building={tree.building_a1.code}")
    assert r.status_code == 404
    r = c.post(
        f"/api/v1/screening/campaigns/{campaign.pk}/visits",
        {"household": tree.household_a1.pk, "outcome": "done", "client_id": "x1"},
        content_type="application/json",
    )
    assert r.status_code == 404


def test_a_match_runs_contacts_are_shown_by_community(
    client_for, command_user, worker_a, worker_b, case_a, resident_b
):
    run = services.match_run_start(actor=command_user, case_id=case_a.pk)
    t = dt.datetime(2026, 11, 22, 4, 0, tzinfo=dt.UTC)
    services.contacts_to_tasks(
        run=run, contacts=[FoundContact(resident_b.id_hash, "v", t, t, Decimal(1))]
    )
    # The case's community sees the run, and none of another community's contacts.
    mine = client_for(worker_a).get(f"/api/v1/screening/match-runs/{run.pk}/contacts")
    assert mine.status_code == 200 and mine.json()["items"] == []
    # Community B sees why its person was matched on the task, not the case's run.
    c = client_for(worker_b)
    assert c.get(f"/api/v1/screening/match-runs/{run.pk}").status_code == 404
    task = c.get("/api/v1/screening/tasks").json()["items"][0]
    detail = c.get(f"/api/v1/screening/tasks/{task['id']}").json()
    assert detail["evidence"][0]["venue"] == "v" and detail["evidence"][0]["minutes_apart"] == "1"
    # The command centre sees every contact of the run.
    whole = client_for(command_user).get(f"/api/v1/screening/match-runs/{run.pk}/contacts")
    assert [i["person"]["name"] for i in whole.json()["items"]] == ["李四"]
