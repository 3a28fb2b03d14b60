"""Uploads through the lean device path (fangkong/core/devices.py): the project's real
WSGI application, without the browser's middleware and without the health check, keeps
every guarantee of the upload endpoint."""

import pytest
from django.db import connection

from fangkong.accounts.services import token_issue
from fangkong.core.actors import SYSTEM
from fangkong.core.models import AuditEvent
from fangkong.factories import make_user
from fangkong.testing import gate, selectors, services
from fangkong.testing.models import Sample, UploadEvent

from .test_api import API, _body

pytestmark = pytest.mark.django_db
UPLOADS = f"{API}/uploads"


def _token(user):
    return token_issue(actor=SYSTEM, user=user)


def test_a_bearer_upload_goes_the_lean_way_and_a_replay_answers_the_same(
    wsgi, sampler, rnd, site_a, people_a
):
    token, body = _token(sampler), _body(rnd, site_a.channels.first(), people_a[:2])
    status, headers, first = wsgi(UPLOADS, body, token)
    assert status == 200 and wsgi.lean_calls == [UPLOADS]
    assert [r["status"] for r in first["results"]] == ["accepted"] * 4
    assert "no-store" in headers["Cache-Control"]
    assert "Set-Cookie" not in headers and "Content-Security-Policy" not in headers
    status, _, again = wsgi(UPLOADS, body, token)
    assert again["results"] == first["results"]
    assert Sample.objects.count() == 2


def test_a_client_id_of_another_device_tells_nothing_on_the_lean_way(
    wsgi, sampler, tree, rnd, site_a, people_a
):
    body = _body(rnd, site_a.channels.first(), people_a[:1])
    wsgi(UPLOADS, body, _token(sampler))
    other = make_user("sampler_a2", "sampler", tree.community_a)
    _, _, answer = wsgi(UPLOADS, body, _token(other))
    assert {r["code"] for r in answer["results"]} == {"client_id_taken"}
    assert "resident" not in answer["results"][1]


def test_jurisdiction_holds_on_the_lean_way(wsgi, sampler, rnd, site_b, people_a):
    body = _body(rnd, site_b.channels.first(), people_a[:1])  # a site of community B
    status, _, answer = wsgi(UPLOADS, body, _token(sampler))
    assert status == 200 and {r["code"] for r in answer["results"]} == {"forbidden"}
    assert not Sample.objects.exists()
    assert UploadEvent.objects.filter(code="forbidden").count() == 3  # kept as refusals


def test_a_bad_token_is_unauthorized_in_the_api_s_shape_not_a_session_error(
    wsgi, rnd, site_a, people_a
):
    status, _, answer = wsgi(UPLOADS, _body(rnd, site_a.channels.first(), people_a[:1]), "nope")
    assert status == 401 and answer["error"]["code"] == "unauthorized"
    assert wsgi.lean_calls == [UPLOADS]


def test_without_a_bearer_token_the_full_stack_serves_the_request(wsgi, rnd, site_a, people_a):
    status, _, answer = wsgi(UPLOADS, _body(rnd, site_a.channels.first(), people_a[:1]))
    assert status == 401 and answer["error"]["code"] == "unauthorized"
    assert wsgi.lean_calls == []


def test_the_gate_sheds_and_paces_on_the_lean_way(
    wsgi, sampler, rnd, site_a, people_a, monkeypatch
):
    full = gate.Gate(slots=1, queue=0, wait_seconds=0.01)
    monkeypatch.setattr(gate, "_gate", full)
    token, channel = _token(sampler), site_a.channels.first()
    with full.admit():
        status, headers, answer = wsgi(UPLOADS, _body(rnd, channel, people_a[:1]), token)
    assert status == 503 and answer["error"]["code"] == "busy"
    assert 1 <= int(headers["Retry-After"]) <= 10
    assert not Sample.objects.exists()
    paced = gate.Gate(slots=2, queue=4, wait_seconds=1, pace_s=30)
    monkeypatch.setattr(gate, "_gate", paced)
    with paced.admit():
        status, headers, _ = wsgi(UPLOADS, _body(rnd, channel, people_a[1:2]), token)
    assert status == 200 and 15 <= int(headers["Upload-Pace"]) <= 30


def test_counters_and_the_audit_trail_move_on_the_lean_way(
    wsgi, sampler, worker_a, rnd, site_a, people_a
):
    services.exemption_grant(actor=worker_a, round=rnd, resident=people_a[0], reason="away")
    status, _, _ = wsgi(UPLOADS, _body(rnd, site_a.channels.first(), people_a[:3]), _token(sampler))
    assert status == 200
    cov = selectors.coverage_of_area(rnd, people_a[0].area_code)
    assert (cov.sampled, cov.exempt) == (3, 0)
    assert AuditEvent.objects.filter(event="testing.exemption_end", reason="sampled").exists()


def test_the_lean_way_skips_the_connection_health_check(
    wsgi, sampler, rnd, site_a, people_a, monkeypatch
):
    checks = []
    real = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or real())
    token, channel = _token(sampler), site_a.channels.first()
    connection.health_check_done = False  # as at the start of any request
    assert wsgi(UPLOADS, _body(rnd, channel, people_a[:1]), token)[0] == 200
    assert checks == []
    connection.health_check_done = False
    wsgi(f"{API}/rounds", {}, token, method="GET")  # not a device path: the full stack checks
    assert checks == [1]
