"""The pages, as each role uses them: a worker's tasks and a task's actions, a person's
status, a grid worker screening a household on the form, coverage and the not-yet list,
a spreadsheet, hand-overs, venues and their codes, exposure matching."""

import datetime as dt

import pytest

from fangkong.core import signing
from fangkong.screening import services
from fangkong.screening.models import ControlStatus, HouseholdVisit, TraceTask, Venue

from .conftest import at


def test_a_worker_works_a_task_from_the_phone_page(client_for, worker_a, task_a, clock):
    c = client_for(worker_a)
    page = c.get("/screening/").content.decode()
    assert "张三丰" in page and "密接" in page and f"/screening/tasks/{task_a.pk}/" in page
    detail = c.get(f"/screening/tasks/{task_a.pk}/").content.decode()
    assert 'id="deadline"' in detail and "疾控来电" in detail
    c.post(f"/screening/tasks/{task_a.pk}/attempt/", {"channel": "phone", "note": "未接"})
    c.post(f"/screening/tasks/{task_a.pk}/reach/")
    c.post(
        f"/screening/tasks/{task_a.pk}/control/", {"kind": "home_isolation", "reason": "居家隔离"}
    )
    task_a.refresh_from_db()
    assert task_a.state == "controlled" and task_a.attempts == 1
    assert ControlStatus.objects.get(task=task_a).reason == "居家隔离"


def test_tasks_are_listed_by_time_left(client_for, worker_a, person_a, tree, clock):
    from fangkong.factories import make_resident
    from fangkong.screening.services.status import person_for_resident

    clock.move_to(at(21, 0), tick=False)  # day: due 23:00
    first, _ = services.task_create(actor=worker_a, person=person_a, category="close", reason="a")
    clock.move_to(at(22, 30), tick=False)  # night: due 04:30
    other = person_for_resident(make_resident(tree.household_a2, "后来"))
    services.task_create(actor=worker_a, person=other, category="close", reason="b")
    clock.move_to(at(23, 10), tick=False)  # the first is overdue now
    page = client_for(worker_a).get("/screening/")
    names = [t.person.name for t in page.context["tasks"]]
    assert names == ["张三丰", "后来"]
    html = page.content.decode()
    assert "超时10分钟" in html and "剩余5小时20分" in html


def test_a_status_is_set_on_the_person_page_with_a_reason(client_for, worker_a, person_a):
    c = client_for(worker_a)
    c.post(f"/screening/people/{person_a.pk}/status/", {"kind": "health_monitoring", "reason": ""})
    assert not ControlStatus.objects.exists()
    c.post(
        f"/screening/people/{person_a.pk}/status/",
        {"kind": "home_isolation", "category": "risk_area", "reason": "来自风险地区"},
    )
    page = c.get(f"/screening/people/{person_a.pk}/").content.decode()
    assert "来自风险地区" in page and ControlStatus.objects.get().planned_end is not None


def test_a_grid_worker_screens_a_household_on_the_form(
    client_for, grid_worker, campaign, tree, family_a
):
    c = client_for(grid_worker)
    assert (
        c.get(f"/screening/campaigns/{campaign.pk}/building/{tree.building_a1.code}/").status_code
        == 200
    )
    form = c.get(f"/screening/campaigns/{campaign.pk}/household/{tree.household_a1.pk}/")
    assert "王大明" in form.content.decode()
    r = c.post(
        f"/screening/campaigns/{campaign.pk}/household/{tree.household_a1.pk}/",
        {
            "client_id": "form-1",
            "method": "door",
            "outcome": "done",
            f"r{family_a[0].pk}_travelled": "1",
            f"r{family_a[0].pk}_risk": "1",
            f"r{family_a[0].pk}_travel_from": "上海市浦东新区",
            f"r{family_a[1].pk}_vaccination": "full",
        },
    )
    html = r.content.decode()
    assert r.status_code == 200 and "王大明" in html and "data-task" in html
    assert TraceTask.objects.get().category == "risk_area"
    assert HouseholdVisit.objects.get().answers.count() == 2
    not_yet = c.get(
        f"/screening/campaigns/{campaign.pk}/building/{tree.building_a1.code}/?show=not_yet"
    )
    assert (
        "Every household is screened" in not_yet.content.decode()
        or "均已排查" in not_yet.content.decode()
    )


def test_coverage_pages_drill_down(client_for, street_user, campaign, tree):
    c = client_for(street_user)
    r = c.get(f"/screening/campaigns/{campaign.pk}/", follow=True)
    assert r.status_code == 200 and "南津街道" in r.content.decode()
    r = c.get(f"/screening/campaigns/{campaign.pk}/area/{tree.community_a.code}/")
    assert "幸福小区" in r.content.decode()
    assert c.get("/screening/campaigns/").status_code == 200


def test_a_spreadsheet_is_loaded_on_the_page(client_for, worker_a, campaign, tree):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = (
        f"楼栋编码,单元,房号,排查结果\n{tree.building_a1.code},1,101,无人在家\n1,1,1,x\n".encode()
    )
    r = client_for(worker_a).post(
        f"/screening/campaigns/{campaign.pk}/import/",
        {"file": SimpleUploadedFile("a.csv", data, content_type="text/csv")},
    )
    html = r.content.decode()
    assert r.status_code == 200 and "楼栋编码应为18位数字" in html
    assert HouseholdVisit.objects.get().outcome == "nobody_home"


def test_a_venue_gets_a_signed_code_without_its_id(client_for, worker_a, tree):
    c = client_for(worker_a)
    r = c.post(
        "/screening/venues/",
        {"name": "东风菜场", "kind": "market", "area": tree.community_a.pk},
        follow=True,
    )
    venue = Venue.objects.get()
    html = r.content.decode()
    assert "<svg" in html and venue.code in html
    code = services.venue_qr(venue)
    verified = signing.verify(code, kind="venue")
    assert verified.subject == venue.code and verified.claims["n"] == "东风菜场"
    assert signing.id_of("venue", venue.code) == venue.pk


def test_a_person_found_is_registered_and_their_task_opens(client_for, worker_a, tree):
    from fangkong.factories import new_id_number

    r = client_for(worker_a).post(
        "/screening/found/",
        {
            "id_type": "ID",
            "id_number": new_id_number(region="310115"),
            "name": "过路旅客",
            "phone": "",
            "area": tree.compound_a.pk,
            "note": "卡口发现",
            "category": "risk_area",
            "reason": "自上海返回",
            "client_id": "found-1",
        },
        follow=True,
    )
    t = TraceTask.objects.get()
    assert r.redirect_chain[-1][0] == f"/screening/tasks/{t.pk}/"
    assert t.person.found and t.area_code == tree.compound_a.code


@pytest.mark.parametrize(
    "path", ["/screening/exposure/", "/screening/hand-overs/", "/screening/venues/"]
)
def test_the_command_centres_pages_open(client_for, command_user, path, case_a):
    assert client_for(command_user).get(path).status_code == 200


def test_exposure_page_queues_a_run(client_for, command_user, case_a):
    r = client_for(command_user).post(f"/screening/exposure/case/{case_a.pk}/run/", follow=True)
    assert r.status_code == 200
    assert dt.datetime is not None
