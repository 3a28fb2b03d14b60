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


def _ping_file(resident_a, resident_b):
    from django.core.files.uploadedfile import SimpleUploadedFile

    lines = ["person_id,lat,lon,at"]
    for minute in range(0, 45, 5):
        when = at(10, minute, day=21).isoformat()
        lines.append(f"{resident_a.id_hash},30.0001,120.0001,{when}")  # the case
        lines.append(f"{resident_b.id_hash},30.0002,120.0002,{when}")  # beside them: 40 min
    lines.append(f"{resident_b.id_hash},91,120.0,{at(10, 50, day=21).isoformat()}")  # row 20
    return SimpleUploadedFile("pings.csv", ("\n".join(lines) + "\n").encode(), "text/csv")


def test_the_exposure_page_links_each_case_to_its_run_form(client_for, command_user, case_a):
    c = client_for(command_user)
    page = c.get("/screening/exposure/").content.decode()
    assert f'href="/screening/exposure/case/{case_a.pk}/run/"' in page
    form = c.get(f"/screening/exposure/case/{case_a.pk}/run/").content.decode()
    assert 'type="datetime-local"' in form and 'name="onset"' in form
    assert 'type="file"' in form and 'name="pings"' in form
    assert 'enctype="multipart/form-data"' in form
    assert "发病时间" in form and "位置文件" in form  # labels in Chinese (English after)


def test_a_run_started_on_the_page_with_a_ping_file_records_its_rows(
    analytics, client_for, command_user, case_a, resident_a, resident_b, clock
):
    from fangkong.screening.models import MatchRun
    from fangkong.screening.services import match_run_execute

    clock.move_to(at(9, 0, day=23), tick=False)
    r = client_for(command_user).post(
        f"/screening/exposure/case/{case_a.pk}/run/",
        {"pings": _ping_file(resident_a, resident_b), "onset": ""},
    )
    run = MatchRun.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/screening/exposure/runs/{run.pk}/"
    assert run.pings_file.endswith(f"run-{run.pk}.csv")
    match_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert (run.pings_rows, run.pings_refused, run.companions) == (18, 1, 1)
    assert [(p["row"], p["field"]) for p in run.pings_problems] == [(20, "lat")]
    assert TraceTask.objects.get().person.resident_id == resident_b.pk


def test_the_onset_on_the_page_moves_the_window_start(client_for, command_user, case_a, clock):
    from fangkong.screening.models import MatchRun

    clock.move_to(at(9, 0, day=23), tick=False)
    # Sampled 2026-11-22 09:00; symptoms from the 21st 20:00 (the deployment's zone):
    # the window starts two days before the onset.
    client_for(command_user).post(
        f"/screening/exposure/case/{case_a.pk}/run/", {"onset": "2026-11-21T20:00"}
    )
    run = MatchRun.objects.get()
    assert (run.window_start, run.window_end) == (at(20, 0, day=19), case_a.recorded_at)


def test_an_onset_after_confirmation_is_shown_on_the_form_and_makes_no_run(
    client_for, command_user, case_a, clock
):
    from fangkong.screening.models import MatchRun

    clock.move_to(at(9, 0, day=23), tick=False)
    r = client_for(command_user).post(
        f"/screening/exposure/case/{case_a.pk}/run/", {"onset": "2026-11-24T09:00"}
    )
    page = r.content.decode()
    assert r.status_code == 200 and not MatchRun.objects.exists()
    assert "发病时间晚于病例确认时间" in page and "later than the case" in page
    assert "errorlist" in page and "Traceback" not in page
    assert 'value="2026-11-24T09:00"' in page  # what was typed stays


def test_an_empty_ping_file_is_shown_on_the_form_and_makes_no_run(
    analytics, client_for, command_user, case_a, clock
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from fangkong.screening.models import MatchRun

    clock.move_to(at(9, 0, day=23), tick=False)
    r = client_for(command_user).post(
        f"/screening/exposure/case/{case_a.pk}/run/",
        {"pings": SimpleUploadedFile("pings.csv", b"", "text/csv")},
    )
    page = r.content.decode()
    assert r.status_code == 200 and not MatchRun.objects.exists()
    assert "位置文件为空" in page and "the ping file is empty" in page


def test_a_ping_file_too_large_is_refused_by_the_service_on_the_form(
    analytics, client_for, command_user, case_a, resident_a, resident_b, clock, monkeypatch
):
    from fangkong.screening.models import MatchRun
    from fangkong.screening.services import matching

    monkeypatch.setattr(matching, "MAX_PINGS_BYTES", 10)
    clock.move_to(at(9, 0, day=23), tick=False)
    r = client_for(command_user).post(
        f"/screening/exposure/case/{case_a.pk}/run/", {"pings": _ping_file(resident_a, resident_b)}
    )
    page = r.content.decode()
    assert r.status_code == 200 and not MatchRun.objects.exists()
    assert "位置文件过大" in page and "too large" in page


def test_a_user_without_the_right_cannot_start_a_run_from_the_page(
    client_for, worker_a, case_a, clock
):
    from fangkong.screening.models import MatchRun

    clock.move_to(at(9, 0, day=23), tick=False)
    c = client_for(worker_a)
    assert c.get(f"/screening/exposure/case/{case_a.pk}/run/").status_code == 403
    r = c.post(f"/screening/exposure/case/{case_a.pk}/run/", {"onset": "2026-11-21T20:00"})
    assert r.status_code == 403 and not MatchRun.objects.exists()
