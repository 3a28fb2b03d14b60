"""The pages: a worker's phone pages and the offices', each flow through the page."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from fangkong.core.models import Notification
from fangkong.factories import new_id_number
from fangkong.workforce import services
from fangkong.workforce.models import (
    Attendance,
    CallOut,
    Enrollment,
    Post,
    Shift,
    StaffingRequest,
    Team,
    Worker,
)

from .conftest import cid, make_worker


def test_a_cadre_registers_on_the_public_page_and_is_logged_in(world, health, client):
    page = client.get("/workforce/register/")
    assert page.status_code == 200 and world.community_a.name in page.content.decode()
    number = new_id_number()
    r = client.post(
        "/workforce/register/",
        {
            "name": "林一",
            "id_number": number,
            "phone": "13912345678",
            "home_community": world.community_a.code,
            "organ": str(health.pk),
            "skills": ["medical"],
            "days": ["1", "2", "4"],
            "day_from": "08:00",
            "day_until": "20:00",
            "password": "secret-pw-1",
        },
    )
    assert r.status_code == 302 and r["Location"] == "/workforce/report-in/"
    w = Worker.objects.get()
    assert w.days == 7 and w.organ == health and w.user.username == "13912345678"
    assert client.get("/workforce/me/").status_code == 200


def test_a_bad_registration_says_why_and_keeps_nothing(world, client):
    r = client.post(
        "/workforce/register/",
        {
            "name": "林二",
            "id_number": "123",
            "phone": "13912345678",
            "home_community": world.community_a.code,
            "password": "secret-pw-1",
        },
    )
    assert r.status_code == 400
    body = r.content.decode()
    assert "身份证号应为18位" in body and 'class="wf-bad"' in body
    assert not Worker.objects.exists()


def test_reporting_in_through_the_page_and_the_community_confirming(
    world, cadre, worker_b, client_for
):
    code = services.community_code(actor=worker_b, community=world.community_b)
    client = client_for(cadre.user)
    page = client.get("/workforce/report-in/").content.decode()
    assert 'id="wf-keys"' in page
    r = client.post("/workforce/report-in/", {"code": code, "client_id": "abc-1"})
    assert r.status_code == 302
    client.post("/workforce/report-in/", {"code": code, "client_id": "abc-1"})  # double tap
    e = Enrollment.objects.get()
    assert e.via == "scan" and e.area_code == world.community_b.code
    office = client_for(worker_b)
    assert "赵六" in office.get("/workforce/report-ins/").content.decode()
    office.post(f"/workforce/report-ins/{world.community_b.code}/confirm-all/")
    e.refresh_from_db()
    assert e.status == "confirmed"
    printed = office.get(f"/workforce/communities/{world.community_b.code}/code/").content.decode()
    assert "data:image/svg+xml" in printed and "FK2." in printed


def test_the_report_ins_list_refreshes_itself_like_the_numbers_page(world, worker_b, client_for):
    """The list polls its own URL every 30 s (htmx; same page, so the same jurisdiction
    and the same community filter) and swaps in the waiting list: a new report-in shows
    up without a reload."""
    office = client_for(worker_b)
    url = f"/workforce/report-ins/?community={world.community_b.code}"
    page = office.get(url).content.decode()
    live = re.search(r'<div id="report-ins"[^>]*>', page).group(0)
    assert 'hx-trigger="every 30s"' in live and 'hx-select="#report-ins"' in live
    assert f'hx-get="{url}"' in live and "data-live" in live
    assert "workforce/live.js" in page and "后到" not in page
    services.report_in(
        actor=make_worker(world.community_b, "后到", password="Wk7-pw-late-2x").user,
        client_id=cid(),
        community=world.community_b,
    )
    again = office.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="report-ins"' in again
    inside = again[again.index('id="report-ins"') :]
    assert "后到" in inside
    # Someone else's community stays out of the refreshed list.
    services.report_in(
        actor=make_worker(world.community_a, "别处", password="Wk7-pw-else-3x").user,
        client_id=cid(),
        community=world.community_a,
    )
    assert (
        "别处" not in office.get("/workforce/report-ins/", HTTP_HX_REQUEST="true").content.decode()
    )


def test_my_duty_shows_a_call_out_to_accept(world, cadre, worker_a, client_for):
    callout = services.callout_post(
        actor=worker_a, area=world.community_a, place="东风广场", lat=26.21, lon=111.6, needed=1
    )
    client = client_for(cadre.user)
    page = client.get("/workforce/me/").content.decode()
    assert "东风广场" in page and f"/workforce/callouts/{callout.pk}/answer/" in page
    r = client.post(f"/workforce/callouts/{callout.pk}/answer/", {"answer": "accept"}, follow=True)
    assert r.status_code == 200
    callout.refresh_from_db()
    assert callout.accepted == 1 and callout.status == "filled"
    office = client_for(worker_a).get(f"/workforce/callouts/{callout.pk}/").content.decode()
    assert "赵六" in office


def test_a_worker_reports_sick_from_the_phone(world, cadre, client_for):
    until = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    client_for(cadre.user).post(
        "/workforce/me/unavailable/", {"status": "sick", "reason": "发烧", "until": until}
    )
    cadre.refresh_from_db()
    assert cadre.status == "sick"
    client_for(cadre.user).post(
        "/workforce/me/unavailable/", {"status": "close_contact", "reason": "x", "until": until}
    )
    cadre.refresh_from_db()
    assert cadre.status == "sick"  # quarantine is the community's to record


def test_posts_shifts_and_the_duty_page(world, cadre, worker_a, client_for):
    office = client_for(worker_a)
    r = office.post(
        "/workforce/posts/",
        {
            "name": "东门卡口",
            "area": world.compound_a.code,
            "kind": "checkpoint",
            "pattern": "3x8",
            "heads": "1",
        },
    )
    post = Post.objects.get()
    assert r["Location"] == f"/workforce/posts/{post.pk}/"
    office.post(
        f"/workforce/posts/{post.pk}/",
        {"action": "pattern", "first_day": "2026-11-24", "days": "2"},
    )
    assert Shift.objects.filter(post=post, worker__isnull=True).count() == 6
    shift = Shift.objects.filter(post=post).order_by("starts_at").first()
    office.post(
        f"/workforce/posts/{post.pk}/", {"action": "assign", "shift": shift.pk, "worker": cadre.pk}
    )
    shift.refresh_from_db()
    assert shift.worker == cadre
    printed = office.get(f"/workforce/posts/{post.pk}/code/").content.decode()
    code = re.search(r'id="code-text">([^<]+)<', printed).group(1)
    duty = Client()
    duty.force_login(cadre.user)
    assert duty.get("/workforce/duty/").status_code == 200
    assert "no-cache" in duty.get("/workforce/duty/sw.js")["Cache-Control"]
    r = duty.post(
        "/api/v1/workforce/attendance",
        {
            "events": [
                {"client_id": cid(), "type": "in", "at": timezone.now().isoformat(), "code": code}
            ]
        },
        content_type="application/json",
    )
    assert r.json()["results"][0]["status"] == "accepted"
    page = client_for(worker_a).get(f"/workforce/posts/{post.pk}/").content.decode()
    assert "赵六" in page and Attendance.objects.on_duty().count() == 1


def test_teams_and_branches_through_the_page(world, cadre, worker_a, client_for):
    member = make_worker(world.community_a, "孙", party=True)
    office = client_for(worker_a)
    r = office.post(
        "/workforce/teams/",
        {
            "kind": "team",
            "name": "一组",
            "area": world.community_a.code,
            "leader": cadre.pk,
            "members": [member.pk],
        },
    )
    team = Team.objects.get()
    assert r["Location"] == f"/workforce/teams/{team.pk}/"
    assert "孙" in office.get(f"/workforce/teams/{team.pk}/").content.decode()
    r = office.post(
        "/workforce/teams/",
        {
            "kind": "branch",
            "name": "临时党支部",
            "area": world.compound_a.code,
            "leader": cadre.pk,
            "members": [member.pk],
        },
    )
    page = office.get(r["Location"]).content.decode()
    assert 'id="activity"' in page and "临时党支部" in page
    # A member sees their team page; another community's worker does not.
    assert client_for(cadre.user).get(f"/workforce/teams/{team.pk}/").status_code == 200


def test_a_request_is_filed_and_a_call_out_posted_from_the_pages(world, worker_a, client_for):
    office = client_for(worker_a)
    r = office.post(
        "/workforce/requests/",
        {
            "area": world.community_a.code,
            "count": "5",
            "post_kind": "delivery",
            "first_day": "2026-11-24",
            "last_day": "2026-11-25",
            "hours_from": "08:00",
            "hours_until": "18:00",
            "client_id": "r-1",
        },
    )
    assert r.status_code == 302
    office.post(
        "/workforce/requests/",
        {
            "area": world.community_a.code,
            "count": "5",
            "post_kind": "delivery",
            "first_day": "2026-11-24",
            "last_day": "2026-11-25",
            "client_id": "r-1",
        },
    )
    assert StaffingRequest.objects.get().count == 5
    make_worker(world.community_a, "周", password="Wk7-pw-zhou-123")
    r = office.post(
        "/workforce/callouts/", {"area": world.community_a.code, "place": "3号楼", "needed": "2"}
    )
    callout = CallOut.objects.get()
    assert r["Location"] == f"/workforce/callouts/{callout.pk}/" and callout.notified == 1
    assert Notification.objects.filter(kind="workforce.callout").count() == 1


def test_the_numbers_page_draws_charts_and_exports(world, cadre, command_user, client_for):
    services.report_in(actor=cadre.user, client_id=cid(), community=world.community_a)
    client = client_for(command_user)
    page = client.get("/workforce/numbers/").content.decode()
    assert (
        "echarts-5.6.0.simple.min.js" in page
        and 'id="wf-charts"' in page
        and world.community_a.name in page
    )
    r = client.get("/workforce/numbers.xlsx")
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    # Live: the counts and the table by community refresh themselves every 30 s from
    # the same page (so the same jurisdiction), without a reload.
    assert 'hx-trigger="every 30s"' in page and 'hx-select-oob="#by-community"' in page
    services.report_in(
        actor=make_worker(world.community_b, "后到", password="Wk7-pw-late-1x").user,
        client_id=cid(),
        community=world.community_b,
    )
    again = client.get("/workforce/numbers/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="summary"' in again and world.community_b.name in again


@pytest.mark.parametrize(
    "url",
    [
        "/workforce/workers/",
        "/workforce/report-ins/",
        "/workforce/teams/",
        "/workforce/requests/",
        "/workforce/posts/",
        "/workforce/substitutions/",
        "/workforce/callouts/",
        "/workforce/numbers/",
    ],
)
def test_office_pages_open_and_workers_are_kept_out_of_office_pages(
    world, cadre, command_user, client_for, url
):
    assert client_for(command_user).get(url).status_code == 200
    if url in (
        "/workforce/report-ins/",
        "/workforce/requests/",
        "/workforce/posts/",
        "/workforce/numbers/",
    ):
        assert client_for(cadre.user).get(url).status_code == 403
