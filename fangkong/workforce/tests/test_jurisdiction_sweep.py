"""Every page, API call and export of the workforce, tried across the boundary at once.

Community B holds one of everything (a worker, their report-in, a team, a party branch,
a request, an allocation run and its seat, a post with a shift, a call-out), each named
with a marker. Community A's office, a volunteer of A and a liaison of an organ with no
staff in B then try every route with B's ids, and try to create things in B. Each try
must be refused (403 or 404; 400 for a form that names the field), no answer may carry
a marker or B's full numbers, and nothing in the database may change: no row, no
status, no audit event, no message."""

import datetime as dt
import json

import pytest
from django.test import Client

from fangkong.core.models import AuditEvent, Notification
from fangkong.workforce import services
from fangkong.workforce.models import (
    AllocationRun,
    Assignment,
    Attendance,
    CallOut,
    Enrollment,
    PartyBranch,
    Post,
    ProposedSeat,
    Shift,
    StaffingRequest,
    Team,
    Worker,
)

from .conftest import POINTS, cid, make_worker

MARK = "乙秘"  # in every name of B's things


@pytest.fixture
def b(world, worker_b, command_user, clock):
    clock.move_to(dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC), tick=False)
    w = make_worker(world.community_b, f"{MARK}工", party=True, password="Wk7-pw-bsecret1")
    enrollment, _ = services.report_in(actor=w.user, client_id=cid(), community=world.community_b)
    team = services.team_create(
        actor=worker_b, community=world.community_b, name=f"{MARK}组", leader=w
    )
    branch = services.branch_create(
        actor=worker_b, area=world.community_b, name=f"{MARK}支部", secretary=w
    )
    request = services.request_file(
        actor=worker_b,
        area=world.community_b,
        count=2,
        post_kind="delivery",
        first_day=dt.date(2026, 11, 24),
        last_day=dt.date(2026, 11, 25),
        hours_from=dt.time(8),
        hours_until=dt.time(17),
        note=f"{MARK}需求",
    )
    run = services.allocation_run(actor=command_user, area=world.community_b)
    seat = ProposedSeat.objects.filter(run=run).first()
    post = services.post_create(
        actor=worker_b, area=world.community_b, name=f"{MARK}卡口", kind="checkpoint"
    )
    starts = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    [shift] = services.shifts_create(
        actor=worker_b, post=post, slots=[(starts, starts + dt.timedelta(hours=8), w)]
    )
    lat, lon = POINTS["community_b"]
    callout = services.callout_post(
        actor=worker_b,
        area=world.community_b,
        place=f"{MARK}广场",
        lat=lat,
        lon=lon,
        needed=1,
        client_id=cid(),
    )
    return {
        "worker": w,
        "enrollment": enrollment,
        "team": team,
        "branch": branch,
        "request": request,
        "run": run,
        "seat": seat,
        "post": post,
        "shift": shift,
        "callout": callout,
        "code": world.community_b.code,
    }


def tries(b, a_worker) -> list[tuple[str, str, dict, str]]:
    """(method, url, data, kind): kind 'json' for the API, 'form' for pages."""
    w, c, code = b["worker"].pk, b["callout"].pk, b["code"]
    run, seat = b["run"].pk, b["seat"].pk
    api = "/api/v1/workforce"
    day = {"first_day": "2026-11-24", "last_day": "2026-11-24"}
    hours = {"hours_from": "08:00", "hours_until": "17:00"}
    return [
        # pages, by guessed id
        ("get", f"/workforce/workers/{w}/", {}, "form"),
        ("post", f"/workforce/workers/{w}/status/", {"status": "sick", "reason": "x"}, "form"),
        ("post", f"/workforce/report-ins/{b['enrollment'].pk}/decide/", {"decision": "confirm"}, "form"),
        ("post", f"/workforce/report-ins/{code}/confirm-all/", {}, "form"),
        ("get", f"/workforce/communities/{code}/code/", {}, "form"),
        ("get", f"/workforce/teams/{b['team'].pk}/", {}, "form"),
        ("get", f"/workforce/branches/{b['branch'].pk}/", {}, "form"),
        ("post", f"/workforce/requests/{b['request'].pk}/cancel/", {"reason": "x"}, "form"),
        ("get", f"/workforce/runs/{run}/", {}, "form"),
        ("post", f"/workforce/runs/{run}/decide/", {"decision": "confirm"}, "form"),
        ("post", f"/workforce/runs/{run}/decide/", {"decision": "discard", "reason": "x"}, "form"),
        ("post", f"/workforce/seats/{seat}/", {"worker": a_worker.pk}, "form"),
        ("get", f"/workforce/posts/{b['post'].pk}/", {}, "form"),
        ("post", f"/workforce/posts/{b['post'].pk}/", {"action": "assign", "shift": b["shift"].pk, "worker": a_worker.pk}, "form"),
        ("get", f"/workforce/posts/{b['post'].pk}/code/", {}, "form"),
        ("get", f"/workforce/callouts/{c}/", {}, "form"),
        ("post", f"/workforce/callouts/{c}/answer/", {"accept": "1"}, "form"),
        ("get", f"/workforce/numbers/?area={code}", {}, "form"),
        ("get", f"/workforce/numbers.xlsx?area={code}", {}, "form"),
        # pages, creating in B
        ("post", "/workforce/posts/", {"name": "x", "area": code, "kind": "checkpoint", "pattern": "day", "heads": "1"}, "form"),
        ("post", "/workforce/teams/", {"kind": "team", "name": "x", "area": code, "leader": w}, "form"),
        ("post", "/workforce/teams/", {"kind": "team", "name": "x", "area": code, "leader": a_worker.pk}, "form"),
        ("post", "/workforce/requests/", {"area": code, "count": "1", "post_kind": "delivery", **day, **hours}, "form"),
        ("post", "/workforce/callouts/", {"area": code, "place": "x", "needed": "1"}, "form"),
        ("post", "/workforce/runs/", {"area": code}, "form"),
        # the API, by guessed id
        ("get", f"{api}/workers/{w}", {}, "json"),
        ("post", f"{api}/workers/{w}/reveal", {"reason": "核对"}, "json"),
        ("post", f"{api}/workers/{w}/status", {"status": "sick", "reason": "x", "until": "2026-12-01T00:00:00"}, "json"),
        ("post", f"{api}/report-ins/{b['enrollment'].pk}/decision", {"confirm": True}, "json"),
        ("post", f"{api}/requests/{b['request'].pk}/cancel", {"reason": "x"}, "json"),
        ("get", f"{api}/allocation-runs/{run}", {}, "json"),
        ("post", f"{api}/allocation-runs/{run}/seats/{seat}", {"worker": None}, "json"),
        ("post", f"{api}/allocation-runs/{run}/confirm", {}, "json"),
        ("post", f"{api}/allocation-runs/{run}/discard", {"reason": "x"}, "json"),
        ("get", f"{api}/callouts/{c}", {}, "json"),
        ("post", f"{api}/callouts/{c}/answer", {"accept": True}, "json"),
        ("get", f"{api}/numbers?area={code}", {}, "json"),
        # the API, creating in B
        ("post", f"{api}/requests", {"area": code, "count": 1, "post_kind": "delivery", **day, **hours}, "json"),
        ("post", f"{api}/callouts", {"area": code, "place": "x", "needed": 1, "client_id": cid()}, "json"),
        ("post", f"{api}/allocation-runs", {"area": code}, "json"),
    ]  # fmt: skip


LISTS = [
    "/workforce/",
    "/workforce/workers/",
    "/workforce/report-ins/",
    "/workforce/teams/",
    "/workforce/requests/",
    "/workforce/posts/",
    "/workforce/substitutions/",
    "/workforce/callouts/",
    "/workforce/numbers/",
    "/workforce/me/",
    "/workforce/duty/",
    "/api/v1/workforce/workers",
    "/api/v1/workforce/report-ins",
    "/api/v1/workforce/requests",
    "/api/v1/workforce/callouts",
    "/api/v1/workforce/numbers",
    "/api/v1/workforce/me",
]


def snapshot() -> dict:
    return {
        "workers": list(Worker.objects.order_by("pk").values_list("pk", "status", "area_code")),
        "enrollments": list(Enrollment.objects.order_by("pk").values_list("pk", "status")),
        "teams": Team.objects.count(),
        "branches": PartyBranch.objects.count(),
        "requests": list(StaffingRequest.objects.order_by("pk").values_list("pk", "status")),
        "runs": list(AllocationRun.objects.order_by("pk").values_list("pk", "status")),
        "seats": list(ProposedSeat.objects.order_by("pk").values_list("pk", "worker_id")),
        "assignments": Assignment.objects.count(),
        "posts": Post.objects.count(),
        "shifts": list(Shift.objects.order_by("pk").values_list("pk", "worker_id", "status")),
        "attendance": Attendance.objects.count(),
        "callouts": list(CallOut.objects.order_by("pk").values_list("pk", "status", "accepted")),
        "audit": AuditEvent.objects.count(),
        "messages": Notification.objects.count(),
    }


def attackers(world, worker_a, liaison):
    volunteer = make_worker(world.community_a, "甲志", password="Wk7-pw-avolunt1")
    return {"community A office": worker_a, "volunteer of A": volunteer.user, "liaison": liaison}


def body_of(response) -> str:
    """The answer as text a person would read (JSON with its Chinese unescaped)."""
    kind = response.get("Content-Type", "")
    if kind.startswith("application/vnd.openxml"):
        return ""  # refused before any workbook is made (asserted by the status)
    if kind.startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    return response.content.decode(errors="replace")


def test_nothing_of_another_community_is_reached_by_any_route(b, world, worker_a, liaison):
    people = attackers(world, worker_a, liaison)
    a_worker = Worker.objects.get(user=people["volunteer of A"])
    before = snapshot()
    full_id, full_phone = b["worker"].id_number(), b["worker"].phone()
    broken = []
    for who, user in people.items():
        client = Client()
        client.force_login(user)
        for method, url, data, kind in tries(b, a_worker):
            if kind == "json":
                r = getattr(client, method)(url, data, content_type="application/json")
            else:
                r = getattr(client, method)(url, data)
            text = body_of(r)
            allowed = {403, 404} | ({400} if method == "post" else set())
            if r.status_code not in allowed or MARK in text or full_id in text:
                broken.append(f"{who}: {method.upper()} {url} → {r.status_code}")
            if full_phone in text:
                broken.append(f"{who}: {method.upper()} {url} shows B's phone number")
        for url in LISTS:
            r = client.get(url)
            text = body_of(r)
            if r.status_code >= 500 or MARK in text or full_id in text or full_phone in text:
                broken.append(f"{who}: GET {url} → {r.status_code} shows B")
    assert broken == [], "\n".join(broken)
    assert snapshot() == before


def test_the_sweep_would_see_a_leak(b, worker_b):
    """The markers are there for B's own office: the sweep is not vacuous."""
    client = Client()
    client.force_login(worker_b)
    for url in (
        f"/workforce/workers/{b['worker'].pk}/",
        f"/workforce/teams/{b['team'].pk}/",
        f"/workforce/branches/{b['branch'].pk}/",
        f"/workforce/posts/{b['post'].pk}/",
        f"/workforce/callouts/{b['callout'].pk}/",
        "/workforce/callouts/",
        "/api/v1/workforce/workers",
    ):
        r = client.get(url)
        assert r.status_code == 200 and MARK in body_of(r), url


def test_a_login_that_is_a_phone_number_is_masked_as_the_phone_is(b, worker_b):
    """A worker's login is their phone number: the office that may see them sees it
    masked, as the phone; the full number needs a reason and leaves an audit record."""
    w = b["worker"]
    client = Client()
    client.force_login(worker_b)
    [row] = client.get("/api/v1/workforce/workers").json()["items"]
    assert row["username"] == row["phone_masked"] == w.phone_masked != w.phone()
    assert w.phone() not in body_of(client.get(f"/api/v1/workforce/workers/{w.pk}"))
    own = Client()
    own.force_login(w.user)
    assert own.get("/api/v1/workforce/me").json()["worker"]["username"] == w.phone()
