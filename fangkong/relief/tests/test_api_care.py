"""The API twins of the care-plan, check-in and hotline pages (issue 8, §5): the same
services, the same jurisdiction, the one error shape; a hotline ticket's words only for
its counsellor and the lead."""

import datetime as dt

import pytest

from fangkong.accounts.tests.helpers import api_as, error_of
from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident
from fangkong.people.models import Tag
from fangkong.relief import services
from fangkong.relief.models import (
    CarePackagePlan,
    CareSchedule,
    CheckIn,
    HotlineStaff,
    HotlineTicket,
)

from .conftest import SHANGHAI_DAY, local

pytestmark = pytest.mark.django_db


@pytest.fixture
def vulnerable(tree):
    old = dt.date(1948, 6, 1)
    return make_resident(tree.household_a1, "独居老人", birth=old, tags=Tag.LIVING_ALONE)


def test_care_is_planned_over_the_api_in_the_planners_community_only(
    tree, worker_a, worker_b, vulnerable, grid_a, clock
):
    clock.move_to(local(SHANGHAI_DAY, 9), tick=False)
    r = api_as(worker_b).post("/relief/care/schedules/sync", {"area": tree.community_a.code})
    assert r.status_code == 404
    error_of(r)
    r = api_as(worker_a).post("/relief/care/schedules/sync", {"area": tree.community_a.code})
    assert r.status_code == 200, r.content
    assert r.json()["created"] == CareSchedule.objects.count() > 0
    body = {"area": tree.community_a.code, "name": "第一轮", "contents": "米面油"}
    r = api_as(worker_a).post("/relief/care/packages", {**body, "planned_for": "2026-11-25"})
    assert r.status_code == 201, r.content
    assert r.json()["households"] == 1 and r.json()["planned_for"] == "2026-11-25"
    assert CarePackagePlan.objects.get().name == "第一轮"
    r = api_as(grid_a).post("/relief/care/packages", body)
    assert r.status_code == 403
    error_of(r)


def test_a_check_in_is_recorded_by_its_carer_not_from_another_community(
    tree, worker_a, worker_b, vulnerable, grid_a, clock
):
    clock.move_to(local(SHANGHAI_DAY, 9), tick=False)
    services.care_schedules_sync(actor=worker_a, area=tree.community_a)
    visit = CareSchedule.objects.get(kind="visit")
    url = f"/relief/care/schedules/{visit.pk}/checkins"
    assert api_as(worker_b).post(url, {"outcome": "well"}).status_code == 404
    r = api_as(grid_a).post(url, {"outcome": "need"})
    assert r.status_code == 400 and error_of(r)["field"] == "category"
    r = api_as(grid_a).post(url, {"outcome": "well", "note": "精神好"})
    assert r.status_code == 201, r.content
    assert r.json()["request"] is None
    assert CheckIn.objects.get().note == "精神好"
    visit.refresh_from_db()
    assert (
        dt.datetime.fromisoformat(r.json()["next_due_at"])
        == visit.next_due_at
        > local(SHANGHAI_DAY, 9)
    )


def test_a_counsellor_goes_on_shift_and_logs_a_call(hotline, street_user):
    lead, c1, c2 = hotline
    assert api_as(street_user).post("/relief/hotline/shift", {"on": True}).status_code == 403
    r = api_as(c2).post("/relief/hotline/shift", {"on": True})
    assert r.status_code == 200 and r.json() == {"on": True, "posts": 1}
    assert HotlineStaff.objects.get(user=c2).on_shift
    call = {"topic": "counselling", "content": "封控第十天，睡不着", "client_id": "call-1"}
    r = api_as(lead).post("/relief/hotline/tickets", call)
    assert r.status_code == 201, r.content
    assert r.json()["assignee"] == "counsellor2" and "content" not in r.json()
    again = api_as(lead).post("/relief/hotline/tickets", call)
    assert again.json()["id"] == r.json()["id"] and HotlineTicket.objects.count() == 1
    bad = api_as(c1).post("/relief/hotline/tickets", {**call, "topic": "x", "client_id": ""})
    assert bad.status_code == 400 and error_of(bad)["field"] == "topic"
    assert api_as(street_user).post("/relief/hotline/tickets", call).status_code == 404


def test_only_the_counsellor_and_the_lead_see_or_work_a_ticket(
    hotline, tree, street_user, worker_a, command_user, clock
):
    clock.move_to(local(SHANGHAI_DAY, 9), tick=False)
    lead, c1, c2 = hotline
    ticket = services.ticket_open(
        actor=c1, area=tree.street, topic="counselling", content="很焦虑", caller="王女士"
    )
    url = f"/relief/hotline/tickets/{ticket.pk}"
    for outsider in (c2, street_user, worker_a, command_user):
        r = api_as(outsider).get(url)
        assert r.status_code in (403, 404)
        error_of(r)
        assert "很焦虑" not in r.content.decode() and "王女士" not in r.content.decode()
        step = api_as(outsider).post(f"{url}/steps", {"action": "note", "text": "我来跟进"})
        assert step.status_code in (403, 404) and "很焦虑" not in step.content.decode()
    assert AuditEvent.objects.filter(event="relief.ticket_read").count() == 0
    r = api_as(c1).get(url)
    assert r.status_code == 200, r.content
    assert r.json()["content"] == "很焦虑" and r.json()["caller"] == "王女士"
    assert "no-store" in r["Cache-Control"]
    assert api_as(lead).get(url).json()["content"] == "很焦虑"
    assert AuditEvent.objects.filter(event="relief.ticket_read").count() == 2

    when = local(SHANGHAI_DAY + dt.timedelta(days=1), 10).isoformat()
    r = api_as(c1).post(f"{url}/steps", {"action": "note", "text": "已安抚", "follow_up_at": when})
    assert r.status_code == 200 and r.json()["status"] == "follow_up"
    r = api_as(c1).post(f"{url}/steps", {"action": "risk", "risk": "elevated"})
    assert r.status_code == 400
    error_of(r)
    r = api_as(c1).post(f"{url}/steps", {"action": "risk", "risk": "elevated", "reason": "失眠"})
    assert r.status_code == 200 and r.json()["risk"] == "elevated"
    # Handing over is the lead's: the counsellor is refused; after it, c1 sees nothing.
    assign = {"action": "assign", "counsellor": c2.pk}
    assert api_as(c1).post(f"{url}/steps", assign).status_code == 403
    r = api_as(lead).post(f"{url}/steps", assign)
    assert r.status_code == 200 and r.json()["assignee"] == "counsellor2"
    assert api_as(c1).get(url).status_code == 404
    r = api_as(c2).post(f"{url}/steps", {"action": "close", "reason": "已转介"})
    assert r.status_code == 200 and r.json()["status"] == "closed"
