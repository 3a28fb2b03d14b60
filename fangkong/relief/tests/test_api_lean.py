"""Residents' asks through the project's real WSGI application: a bearer-token ask takes
the lean way in (fangkong/core/devices.py) and keeps every guarantee; an ask from the
relief page's script (the session) goes the full way, CSRF and all; and what an ask
costs in round trips to PostgreSQL."""

import uuid

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection

from fangkong.accounts.services import token_issue
from fangkong.core.actors import SYSTEM
from fangkong.core.models import AuditEvent
from fangkong.relief.models import ReliefRequest, RequestEvent, Submission

from .conftest import ask

ASKS = "/api/v1/relief/requests"
pytestmark = pytest.mark.django_db


def _token(user) -> str:
    return token_issue(actor=SYSTEM, user=user, name="phone")


def _session_cookie(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def test_a_bearer_ask_goes_the_lean_way_and_its_retry_answers_the_same(wsgi, asker):
    token = _token(asker)
    body = {"client_id": uuid.uuid4().hex, "category": "medicine", "detail": "降压药"}
    status, headers, first = wsgi(ASKS, body, token)
    assert status == 201, first
    assert wsgi.lean_calls == [ASKS]
    assert first["outcome"] == "created" and first["need"]["address"] == "幸福小区1号楼1单元101"
    assert first["need"]["confirm_code"] and first["need"]["category_name"] == "药品代购"
    assert "no-store" in headers["Cache-Control"] and "Set-Cookie" not in headers
    status, _, again = wsgi(ASKS, body, token)
    assert status == 200 and again["outcome"] == "repeat"
    assert again["need"] == first["need"]
    need = ReliefRequest.objects.get()
    assert Submission.objects.filter(request=need).count() == 1
    assert RequestEvent.objects.filter(request=need, kind="registered").count() == 1
    audit = AuditEvent.objects.get(event="relief.request_register")
    assert (audit.target_id, audit.target_label) == (str(need.pk), f"#{need.pk} 药品代购")
    assert audit.actor == asker and audit.area_code == need.area_code


def test_the_same_need_twice_the_lean_way_is_merged_and_the_resident_told(wsgi, asker):
    token = _token(asker)
    wsgi(ASKS, {"client_id": "a", "category": "meals"}, token)
    status, _, merged = wsgi(ASKS, {"client_id": "b", "category": "meals"}, token)
    assert status == 200 and merged["outcome"] == "merged"
    assert "merged" in merged["message"] and "合并" in merged["message_zh"]
    assert ReliefRequest.objects.get().repeats == 1


def test_a_refused_ask_the_lean_way_is_bilingual_and_writes_nothing(wsgi, asker, tree):
    token = _token(asker)
    status, _, body = wsgi(ASKS, {"client_id": "c", "category": "caviar"}, token)
    assert status == 400 and body["error"]["field"] == "category"
    assert "caviar" in body["error"]["message"] and "类别" in body["error"]["message_zh"]
    other = {"client_id": "d", "category": "meals", "household": tree.household_b1.pk}
    status, _, body = wsgi(ASKS, other, token)
    assert status == 403 and body["error"]["message_zh"]
    assert not ReliefRequest.objects.exists() and not Submission.objects.exists()
    assert not AuditEvent.objects.filter(event="relief.request_register").exists()
    status, _, _ = wsgi(ASKS, {"client_id": "e", "category": "meals"}, "not-a-token")
    assert status == 401


def test_a_lean_ask_speaks_the_language_the_phone_asks_for(wsgi, asker):
    token = _token(asker)
    english = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
    _, _, body = wsgi(ASKS, {"client_id": "f", "category": "medicine"}, token, headers=english)
    assert body["need"]["category_name"] == "Medicine purchase"
    _, _, body = wsgi(ASKS, {"client_id": "g", "category": "meals"}, token)
    assert body["need"]["category_name"] == "送餐"  # the default, not the last request's


def test_a_session_ask_goes_the_full_way_with_its_csrf_check(wsgi, asker):
    cookie = _session_cookie(asker)
    status, _, body = wsgi(ASKS, {"client_id": "h", "category": "meals"}, cookie=cookie)
    assert status == 403 and body["error"]["message"].startswith("CSRF check failed")
    assert wsgi.lean_calls == [] and not ReliefRequest.objects.exists()
    secret = "x" * 32  # the page's script sends the cookie's token back in a header
    status, _, body = wsgi(
        ASKS,
        {"client_id": "h", "category": "meals"},
        cookie=f"{cookie}; {settings.CSRF_COOKIE_NAME}={secret}",
        headers={"HTTP_X_CSRFTOKEN": secret},
    )
    assert status == 201, body
    assert wsgi.lean_calls == [] and ReliefRequest.objects.count() == 1


def test_the_queue_read_by_token_at_the_same_path_goes_the_full_way(wsgi, asker, worker_a):
    ask(asker, "meals")
    status, _, body = wsgi(ASKS, None, _token(worker_a), method="GET")
    assert status == 200 and len(body["items"]) == 1
    assert wsgi.lean_calls == []


@pytest.mark.django_db(transaction=True)
def test_an_ask_costs_three_round_trips_and_a_retry_two_on_postgresql(
    wsgi, asker, round_trips, held
):
    """Through the lean way in, with warm caches and prepared statements: the token
    (with the resident), the retry look-up, and one statement that writes the need, its
    submission, history step and audit record and brings the address back (no BEGIN, no
    COMMIT: it is atomic by itself). A retry: the token and the look-up. It was 11 and
    3 (with the health check and 8 statements in a transaction)."""
    if connection.vendor != "postgresql":
        pytest.skip("round trips are a PostgreSQL matter")
    token = _token(asker)
    for n, code in enumerate(["groceries", "meals", "study", "pets", "other", "medicine"]):
        wsgi(ASKS, {"client_id": f"warm{n}", "category": code}, token)  # prepared by now
    body = {"client_id": uuid.uuid4().hex, "category": "gas_cylinder"}
    with round_trips() as made:
        status, _, first = wsgi(ASKS, body, token)
    assert status == 201 and first["outcome"] == "created"
    assert made.count <= 3, made.trace
    with round_trips() as again:
        status, _, second = wsgi(ASKS, body, token)
    assert status == 200 and second["need"] == first["need"]
    assert again.count <= 2, again.trace
    assert Submission.objects.filter(client_id=body["client_id"]).count() == 1
