"""The operations that do what the testing pages do: rounds, exemptions, door-to-door
planning, sites and channels; each through the page's service, in jurisdiction."""

import pytest

from fangkong.accounts.tests.helpers import api_as, error_of
from fangkong.core.models import AuditEvent
from fangkong.factories import make_user
from fangkong.testing.models import Exemption, HomeSamplingTask, SamplingSite, TaskStatus

pytestmark = pytest.mark.django_db


def test_the_command_centre_launches_edits_and_closes_a_round(tree, command_user):
    api = api_as(command_user)
    made = api.post(
        "/testing/rounds",
        {"name": "第九轮", "areas": [tree.street.code], "deadline": "2026-11-24T08:00:00"},
    )
    assert made.status_code == 200, made.content
    rnd = made.json()
    assert rnd["areas"] == [tree.street.code] and rnd["status"] == "active"
    edited = api.patch(
        f"/testing/rounds/{rnd['id']}", {"reason": "延长", "deadline": "2026-11-24T12:00:00"}
    )
    assert edited.status_code == 200 and edited.json()["deadline"].startswith("2026-11-24T12")
    assert api.get(f"/testing/rounds/{rnd['id']}").json()["name"] == "第九轮"
    closed = api.post(f"/testing/rounds/{rnd['id']}/close", {"reason": "完成"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert AuditEvent.objects.filter(event="testing.round_close").count() == 1


def test_a_community_worker_may_not_launch_and_sees_only_its_areas(tree, worker_a):
    refused = api_as(worker_a).post(
        "/testing/rounds",
        {"name": "x", "areas": [tree.community_a.code], "deadline": "2026-11-24T08:00:00"},
    )
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"


def test_sites_are_opened_paused_and_listed_in_jurisdiction(tree, worker_a, worker_b):
    api = api_as(worker_a)
    made = api.post(
        "/testing/sites", {"area": tree.community_a.code, "name": "东风广场", "channels": 2}
    )
    assert made.status_code == 200, made.content
    site = made.json()
    assert [c["name"] for c in site["channels"]] == ["1", "2"]
    paused = api.post(f"/testing/sites/{site['id']}/status", {"status": "paused", "reason": "雨"})
    assert paused.json()["status"] == "paused"
    channel = api.post(f"/testing/sites/{site['id']}/channels", {"name": ""}).json()
    assert channel["name"] == "3"
    resumed = api.post(f"/testing/channels/{channel['id']}/status", {"status": "paused"})
    assert resumed.json()["status"] == "paused"
    listed = api.get("/testing/sites", {"area": tree.community_a.code}).json()
    assert [s["name"] for s in listed] == ["东风广场"] and listed[0]["status"] == "paused"
    # Community B's worker neither sees nor changes it.
    other = api_as(worker_b)
    assert other.get("/testing/sites", {"area": tree.community_a.code}).status_code == 404
    assert other.post(f"/testing/sites/{site['id']}/status", {"status": "open"}).status_code == 404
    assert SamplingSite.objects.get(pk=site["id"]).status == "paused"


def test_exemptions_are_granted_and_ended(tree, command_user, worker_a, resident_a):
    from .conftest import launch

    rnd = launch(command_user, tree.street)
    api = api_as(worker_a)
    granted = api.post(
        f"/testing/rounds/{rnd.pk}/exemptions", {"resident": resident_a.pk, "reason": "away"}
    )
    assert granted.status_code == 200, granted.content
    ended = api.post(f"/testing/exemptions/{granted.json()['id']}/end", {"reason": "回来了"})
    assert ended.status_code == 200 and ended.json()["ended_at"]
    assert Exemption.objects.get().ended_at is not None


def test_door_to_door_tasks_are_made_given_to_a_person_and_cancelled(
    tree, command_user, worker_a, resident_a
):
    from fangkong.people.models import Tag

    from .conftest import launch

    resident_a.tags = int(Tag.BEDRIDDEN)
    resident_a.save(update_fields=["tags"])
    rnd = launch(command_user, tree.street)
    sampler = make_user("sampler_a", "sampler", tree.community_a)
    make_user("sampler_b", "sampler", tree.community_b)
    api = api_as(worker_a)
    made = api.post(f"/testing/rounds/{rnd.pk}/home-tasks/generate")
    assert made.status_code == 200 and made.json()["bedridden"] == 1
    people = api.get(f"/testing/rounds/{rnd.pk}/home-tasks/assignees").json()
    assert [p["id"] for p in people if p["role"] == "sampler"] == [sampler.pk]
    given = api.post(
        f"/testing/rounds/{rnd.pk}/home-tasks/assign",
        {"building": resident_a.area_code, "assignee": sampler.pk},
    )
    assert given.status_code == 200 and given.json()["count"] == 1
    task = HomeSamplingTask.objects.get()
    assert task.team == sampler
    cancelled = api.post(f"/testing/home-tasks/{task.pk}/cancel", {"reason": "住院"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == TaskStatus.CANCELLED
