"""Recalls seen by the right people at once, arranged and cancelled, by page and by API."""

from django.urls import reverse

from fangkong.accounts.tests.helpers import api_as, error_of
from fangkong.core.models import AuditEvent
from fangkong.factories import make_user
from fangkong.labs.models import Recall, RecallStatus
from fangkong.testing.models import HomeSamplingTask, SamplingSite, TaskStatus


def test_a_marked_building_shows_on_its_communitys_pages_at_once(
    tree, client_for, worker_a, recalled
):
    page = client_for(worker_a).get(reverse("areas:detail", args=[tree.community_a.code]))
    body = page.content.decode()
    assert f'?area={tree.building_a1.code}">幸福小区1号楼 (3)</a>' in body
    assert tree.building_b1.code not in body


def test_another_community_does_not_see_the_mark(tree, client_for, worker_b, recalled):
    body = client_for(worker_b).get(reverse("areas:detail", args=[tree.community_b.code])).content
    assert tree.building_b1.code.encode() in body
    assert tree.building_a1.code.encode() not in body


def test_the_street_sees_both_marked_buildings(tree, client_for, street_user, recalled):
    body = client_for(street_user).get(reverse("labs:recalls")).content.decode()
    assert tree.building_a1.code in body and tree.building_b1.code in body
    assert "甲0" in body and "乙0" in body


def test_the_recall_list_holds_only_the_workers_own_people(client_for, worker_a, recalled):
    body = client_for(worker_a).get(reverse("labs:recalls")).content.decode()
    assert "甲0" in body and "甲2" in body
    assert "乙0" not in body


def test_a_community_without_recalls_has_no_banner(tree, client_for, worker_a, rnd):
    body = client_for(worker_a).get(reverse("areas:detail", args=[tree.community_a.code])).content
    assert b"labs/recalls/?area=" not in body


def test_arranging_at_home_makes_door_to_door_tasks(client_for, worker_a, recalled):
    ids = list(Recall.objects.filter(resident__in=recalled[0]).values_list("pk", flat=True))
    response = client_for(worker_a).post(
        reverse("labs:recalls_arrange"), {"recall": ids, "via": "home"}
    )
    assert response.status_code == 302
    tasks = HomeSamplingTask.objects.filter(resident__in=recalled[0])
    assert tasks.count() == 3 and {t.status for t in tasks} == {TaskStatus.OPEN}
    # A resample is not an isolation: the task and its audit say what it is.
    assert {t.kind for t in tasks} == {"resample"}
    created = AuditEvent.objects.filter(event="testing.home_task_create")
    assert {e.detail["kind"] for e in created} == {"resample"}
    assert set(Recall.objects.filter(pk__in=ids).values_list("via", flat=True)) == {"home"}
    assert Recall.objects.filter(pk__in=ids, home_task__isnull=False).count() == 3
    assert AuditEvent.objects.filter(event="labs.recall_arrange").exists()


def test_arranging_at_a_site(tree, client_for, worker_a, recalled):
    site = SamplingSite.objects.get(area=tree.compound_a)
    recall = Recall.objects.filter(resident=recalled[0][0]).get()
    client_for(worker_a).post(
        reverse("labs:recalls_arrange"), {"recall": [recall.pk], "via": "site", "site": site.pk}
    )
    recall.refresh_from_db()
    assert (recall.via, recall.site) == ("site", site)


def test_a_worker_cannot_arrange_another_communitys_recalls(client_for, worker_a, recalled):
    theirs = Recall.objects.get(resident=recalled[1][0])
    client_for(worker_a).post(
        reverse("labs:recalls_arrange"), {"recall": [theirs.pk], "via": "home"}
    )
    theirs.refresh_from_db()
    assert theirs.via == "" and not HomeSamplingTask.objects.exists()


def test_cancelling_needs_a_reason_and_is_audited(client_for, worker_a, recalled):
    recall = Recall.objects.get(resident=recalled[0][0])
    client = client_for(worker_a)
    client.post(reverse("labs:recall_cancel", args=[recall.pk]), {"reason": ""})
    recall.refresh_from_db()
    assert recall.is_open
    client.post(reverse("labs:recall_cancel", args=[recall.pk]), {"reason": "已在医院检测"})
    recall.refresh_from_db()
    assert recall.status == RecallStatus.CANCELLED and recall.close_reason == "已在医院检测"
    assert AuditEvent.objects.get(event="labs.recall_cancel").reason == "已在医院检测"


def test_cancelling_another_communitys_recall_is_not_found(client_for, worker_a, recalled):
    theirs = Recall.objects.get(resident=recalled[1][0])
    response = client_for(worker_a).post(
        reverse("labs:recall_cancel", args=[theirs.pk]), {"reason": "x"}
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_open


def test_a_volunteer_may_not_read_recalls(client_for, volunteer, recalled):
    assert client_for(volunteer).get(reverse("labs:recalls")).status_code == 403


# The API -------------------------------------------------------------------------------


def _names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {i["resident"]["name"] for i in response.json()["items"] if i["resident"]}


def test_api_recalls_are_scoped(worker_a, worker_b, street_user, recalled):
    assert _names(api_as(worker_a).get("/labs/recalls")) == {"甲0", "甲1", "甲2"}
    assert _names(api_as(worker_b).get("/labs/recalls")) == {"乙0", "乙1"}
    assert len(_names(api_as(street_user).get("/labs/recalls"))) == 5


def test_api_recall_filters_cannot_reach_outside(tree, worker_a, recalled):
    api = api_as(worker_a)
    assert _names(api.get("/labs/recalls", {"area": tree.community_b.code})) == set()
    assert _names(api.get("/labs/recalls", {"area": tree.building_a1.code})) == {
        "甲0",
        "甲1",
        "甲2",
    }
    assert _names(api.get("/labs/recalls", {"status": "closed"})) == set()


def test_api_recalls_show_masked_numbers_only(worker_a, recalled):
    item = api_as(worker_a).get("/labs/recalls").json()["items"][0]
    assert "*" in item["resident"]["id_number_masked"]
    assert item["tube"] == "PA1" and item["status"] == "open" and item["reason"] == "positive"


def test_api_cancel_attack_on_another_community(worker_a, recalled):
    theirs = Recall.objects.get(resident=recalled[1][0])
    mine = Recall.objects.get(resident=recalled[0][0])
    api = api_as(worker_a)
    response = api.post(f"/labs/recalls/{theirs.pk}/cancel", {"reason": "x"})
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    assert api.post(f"/labs/recalls/{mine.pk}/cancel", {"reason": "搬离"}).status_code == 200


def test_api_arrange_attack_on_another_community(worker_a, recalled):
    theirs = Recall.objects.get(resident=recalled[1][0])
    response = api_as(worker_a).post(
        "/labs/recalls/arrange", {"recalls": [theirs.pk], "via": "home"}
    )
    assert response.status_code == 400 and error_of(response)["field"] == "recalls"


def test_api_a_lab_outside_a_community_sees_none_of_its_recalls(tree, recalled):
    other = make_user("lab_b", "lab", tree.community_b)
    items = api_as(other).get("/labs/recalls").json()["items"]
    # Its community's recalls by tube, and no one in them (core.sight: a lab sees tubes).
    assert {i["tube"] for i in items} == {"PB1"} and len(items) == 2
    assert all(i["resident"] is None and i["area_code"] == tree.community_b.code for i in items)


def test_a_lab_sees_recalled_tubes_but_not_who_nor_where(client_for, tree, recalled, lab):
    a, b = recalled
    body = client_for(lab).get(reverse("labs:recalls"), {"status": ""}).content.decode()
    assert "PA1" in body and "PB1" in body
    for person in (*a, *b):
        assert person.name not in body and person.id_masked not in body
    assert tree.building_a1.code not in body and str(a[0].household) not in body


def test_api_a_volunteer_may_not_list_recalls(volunteer, recalled):
    response = api_as(volunteer).get("/labs/recalls")
    assert response.status_code == 403 and error_of(response)["code"] == "forbidden"
