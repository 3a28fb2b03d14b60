"""The JSON API: register, report in, requests, allocation runs, attendance (batch,
idempotent), call-outs and answers, numbers; one error shape."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from fangkong.factories import new_id_number
from fangkong.workforce import services
from fangkong.workforce.models import Attendance, CallOut, Enrollment, Worker

from .conftest import cid


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_keys_and_the_schema_list_the_operations(world, cadre, client_for):
    client = client_for(cadre.user)
    assert "k1" in client.get("/api/v1/workforce/keys").json()["keys"]
    paths = client.get("/api/openapi.json").json()["paths"]
    for p in (
        "/api/v1/workforce/workers",
        "/api/v1/workforce/report-ins",
        "/api/v1/workforce/attendance",
        "/api/v1/workforce/allocation-runs",
        "/api/v1/workforce/callouts/{pk}/answer",
    ):
        assert p in paths


def test_a_liaisons_hr_system_registers_staff_over_the_api(world, health, liaison, education):
    api = Client()
    api.force_login(liaison)
    body = {
        "name": "马一",
        "id_number": new_id_number(),
        "phone": "13987654321",
        "home_community": world.community_a.code,
        "organ": health.pk,
        "skills": ["medical"],
        "password": "Wk7-pw-12345678",
    }
    r = post(api, "/api/v1/workforce/workers", body)
    assert r.status_code == 201, r.content
    out = r.json()
    assert out["phone_masked"] == "139****4321" and out["username"] == "13987654321"
    assert body["id_number"] not in r.content.decode()
    again = post(api, "/api/v1/workforce/workers", {**body, "phone": "13987654322"})
    assert again.status_code == 409 and again.json()["error"]["field"] == "id_number"
    bad = post(api, "/api/v1/workforce/workers", {**body, "id_number": "1"})
    assert bad.status_code == 400 and bad.json()["error"]["message_zh"]
    other = post(
        api,
        "/api/v1/workforce/workers",
        {**body, "id_number": new_id_number(), "organ": education.pk},
    )
    assert other.status_code == 403
    assert post(Client(), "/api/v1/workforce/workers", body).status_code == 401
    assert Worker.objects.count() == 1


def test_report_in_is_idempotent_by_client_id(world, cadre, worker_a):
    api = Client()
    api.force_login(cadre.user)
    code = services.community_code(actor=worker_a, community=world.community_a)
    key = cid()
    first = post(api, "/api/v1/workforce/report-ins", {"client_id": key, "code": code})
    second = post(api, "/api/v1/workforce/report-ins", {"client_id": key, "code": code})
    assert (first.status_code, second.status_code) == (201, 200)
    assert (
        first.json()["id"] == second.json()["id"]
        and first.json()["community_name"] == world.community_a.name
    )
    assert Enrollment.objects.count() == 1
    forged = code[:-4] + ("AAAA" if not code.endswith("AAAA") else "BBBB")
    r = post(api, "/api/v1/workforce/report-ins", {"client_id": cid(), "code": forged})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_code"
    office = Client()
    office.force_login(worker_a)
    listed = office.get("/api/v1/workforce/report-ins").json()["items"]
    assert [e["id"] for e in listed] == [first.json()["id"]]
    decided = post(
        office, f"/api/v1/workforce/report-ins/{listed[0]['id']}/decision", {"confirm": True}
    )
    assert decided.json()["status"] == "confirmed"


def test_attendance_batch_replayed_changes_nothing(world, cadre, worker_a):
    p = services.post_create(actor=worker_a, area=world.compound_a, name="东门", kind="checkpoint")
    code = services.post_code(actor=worker_a, post=p)
    api = Client()
    api.force_login(cadre.user)
    now = timezone.now()
    k_in, k_out = cid(), cid()
    batch = {
        "device_time": now.isoformat(),
        "events": [
            {
                "client_id": k_in,
                "type": "in",
                "at": (now - dt.timedelta(hours=2)).isoformat(),
                "code": code,
            },
            {"client_id": k_out, "type": "out", "at": now.isoformat(), "ref": k_in},
        ],
    }
    one = post(api, "/api/v1/workforce/attendance", batch).json()["results"]
    two = post(api, "/api/v1/workforce/attendance", batch).json()["results"]
    assert [r["status"] for r in one] == ["accepted", "accepted"]
    assert [r["flags"] for r in two] == [["replay"], ["replay"]]
    assert Attendance.objects.count() == 1
    assert Attendance.objects.get().hours == pytest.approx(2.0, abs=0.01)
    skewed = {**batch, "device_time": (now + dt.timedelta(minutes=10)).isoformat()}
    skewed["events"] = [{"client_id": cid(), "type": "in", "at": now.isoformat(), "code": code}]
    assert (
        "clock_skew"
        in post(api, "/api/v1/workforce/attendance", skewed).json()["results"][0]["flags"]
    )
    bad = post(
        api,
        "/api/v1/workforce/attendance",
        {"events": [{"client_id": "x y", "type": "in", "at": now.isoformat()}]},
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"].startswith("events")


def test_requests_and_call_outs_over_the_api(world, cadre, worker_a):
    office = Client()
    office.force_login(worker_a)
    body = {
        "area": world.community_a.code,
        "count": 3,
        "post_kind": "delivery",
        "first_day": "2026-11-24",
        "last_day": "2026-11-26",
        "hours_from": "08:00",
        "hours_until": "18:00",
        "required_skill": "medical",
    }
    r = post(office, "/api/v1/workforce/requests", body)
    assert r.status_code == 201 and r.json()["required_skill"] == "medical"
    assert (
        post(
            office, "/api/v1/workforce/requests", {**body, "area": world.community_b.code}
        ).status_code
        == 404
    )
    assert (
        post(office, "/api/v1/workforce/requests", {**body, "required_skill": "x"}).status_code
        == 400
    )
    c = post(
        office,
        "/api/v1/workforce/callouts",
        {"area": world.community_a.code, "place": "广场", "needed": 1, "client_id": "c1"},
    )
    assert c.status_code == 201 and c.json()["notified"] == 1 and c.json()["urgent"] is False
    urgent = post(
        office,
        "/api/v1/workforce/callouts",
        {"area": world.community_a.code, "place": "广场", "needed": 1, "urgent": True},
    )
    assert urgent.json()["urgent"] is True and CallOut.objects.get(pk=urgent.json()["id"]).urgent
    CallOut.objects.filter(pk=urgent.json()["id"]).delete()
    phone = Client()
    phone.force_login(cadre.user)
    mine = phone.get("/api/v1/workforce/callouts").json()
    assert [x["id"] for x in mine] == [c.json()["id"]]
    answer = post(phone, f"/api/v1/workforce/callouts/{c.json()['id']}/answer", {"accept": True})
    assert answer.json() == {"answer": "accepted"}
    detail = office.get(f"/api/v1/workforce/callouts/{c.json()['id']}").json()
    assert detail["status"] == "filled" and detail["responses"][0]["worker"] == cadre.pk
    assert phone.get("/api/v1/workforce/me").json()["callouts"][0]["answer"] == "accepted"


def test_allocation_over_the_api(world, cadre, worker_a, command_user):
    office = Client()
    office.force_login(worker_a)
    post(
        office,
        "/api/v1/workforce/requests",
        {
            "area": world.community_a.code,
            "count": 2,
            "post_kind": "delivery",
            "first_day": "2026-11-24",
            "last_day": "2026-11-24",
            "hours_from": "08:00",
            "hours_until": "18:00",
        },
    )
    centre = Client()
    centre.force_login(command_user)
    run = post(centre, "/api/v1/workforce/allocation-runs", {"area": world.district.code})
    assert run.status_code == 201
    data = run.json()
    assert data["filled"] == 1 and data["seats"] == 2
    assert sorted(s["unfilled"] for s in data["proposal"]) == ["", "all_taken"]
    assert (
        post(office, "/api/v1/workforce/allocation-runs", {"area": world.district.code}).status_code
        == 404
    )
    confirmed = post(centre, f"/api/v1/workforce/allocation-runs/{data['id']}/confirm", {})
    assert confirmed.json() == {"placed": 1}
    # A retry (the first answer lost on the way) answers the first answer.
    retried = post(centre, f"/api/v1/workforce/allocation-runs/{data['id']}/confirm", {})
    assert retried.status_code == 200 and retried.json() == {"placed": 1}
    # A conflicting decision stays a conflict.
    discard = post(
        centre, f"/api/v1/workforce/allocation-runs/{data['id']}/discard", {"reason": "重来"}
    )
    assert discard.status_code == 409
