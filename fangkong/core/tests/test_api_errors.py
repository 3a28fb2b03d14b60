"""Every failure of the API answers in the one JSON error shape, in both languages:
bad bodies, CSRF, oversized bodies, unknown paths and methods, server errors, and the
database gone (503 with Retry-After, for /healthz too)."""

import re

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client
from django.urls import reverse

from fangkong.accounts.models import ApiToken
from fangkong.accounts.services import token_issue, token_revoke
from fangkong.accounts.tests.helpers import API
from fangkong.core.actors import SYSTEM

pytestmark = pytest.mark.django_db
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def error_of(response, status: int) -> dict:
    """The response's error after checking its status, type and shape, and that
    message_zh is Chinese and message English."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert {"code", "message", "message_zh", "field"} <= error.keys()
    assert CHINESE.search(error["message_zh"]), error
    assert not CHINESE.search(error["message"]), error
    return error


@pytest.fixture
def bearer(command_user):
    return Client(
        headers={"authorization": f"Bearer {token_issue(actor=SYSTEM, user=command_user)}"}
    )


@pytest.fixture
def zones(tree):
    return f"{API}/areas/{tree.community_a.code}/zones"


def test_malformed_json_is_400_saying_where(bearer, zones):
    error = error_of(bearer.post(zones, '{"kind": "sealed",', content_type="application/json"), 400)
    assert error["code"] == "invalid" and error["field"] == "body"
    assert "第1行" in error["message_zh"] and "line 1" in error["message"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_body_that_is_not_json_is_415(bearer, zones, content_type):
    response = bearer.post(zones, '{"kind": "sealed", "reason": "x"}', content_type=content_type)
    assert error_of(response, 415)["code"] == "unsupported_media_type"


def test_json_with_a_charset_or_a_json_suffix_is_fine(bearer, zones):
    body = '{"kind": "sealed", "reason": "一例阳性"}'
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        assert bearer.post(zones, body, content_type=content_type).status_code == 201


def test_a_session_write_without_the_csrf_token_is_refused_in_chinese_too(command_user, zones):
    session = Client(enforce_csrf_checks=True)
    session.force_login(command_user)
    response = session.post(
        zones, {"kind": "sealed", "reason": "x"}, content_type="application/json"
    )
    error = error_of(response, 403)
    assert error["code"] == "csrf_failed" and "CSRF校验失败" in error["message_zh"]


def test_a_body_over_the_limit_is_413_in_the_error_shape(bearer, zones, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    body = '{"kind": "sealed", "reason": "' + "x" * (2 * 1024 * 1024) + '"}'
    error = error_of(bearer.post(zones, body, content_type="application/json"), 413)
    assert error["code"] == "too_large" and "1MB" in error["message_zh"]


def test_a_25_mb_upload_is_413_not_an_html_400(bearer):
    body = b'{"device_id": "d", "events": [' + b'{"client_id": "x"},' * 1_400_000 + b"{}]}"
    assert len(body) > 25_000_000
    response = bearer.post(f"{API}/testing/uploads", body, content_type="application/json")
    assert error_of(response, 413)["code"] == "too_large"


@pytest.mark.parametrize("header", [None, "Bearer fk_no-such-token", "Bearer"])
def test_the_upload_endpoint_says_401_to_a_missing_or_bad_token_never_csrf(header):
    client = Client(
        enforce_csrf_checks=True, **({"headers": {"authorization": header}} if header else {})
    )
    response = client.post(
        f"{API}/testing/uploads", {"events": []}, content_type="application/json"
    )
    assert error_of(response, 401)["code"] == "unauthorized"


def test_a_revoked_token_on_the_upload_endpoint_is_401(command_user):
    key = token_issue(actor=SYSTEM, user=command_user)
    client = Client(enforce_csrf_checks=True, headers={"authorization": f"Bearer {key}"})
    token_revoke(actor=SYSTEM, token=ApiToken.objects.get(user=command_user))
    response = client.post(
        f"{API}/testing/uploads", {"events": []}, content_type="application/json"
    )
    assert error_of(response, 401)["code"] == "unauthorized"


def test_unknown_paths_and_methods_answer_in_the_shape(bearer):
    assert error_of(bearer.get(f"{API}/no/such/thing"), 404)["code"] == "not_found"
    response = bearer.delete(f"{API}/me")
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_an_unexpected_error_is_a_500_in_the_shape_and_logged(bearer, monkeypatch, caplog):
    def boom(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("fangkong.people.services.resident_search", boom)
    bearer.raise_request_exception = False
    response = bearer.get(f"{API}/residents/")
    assert error_of(response, 500)["code"] == "server_error"
    assert "a bug" not in response.content.decode()  # no traceback leaks out
    assert any("a bug" in str(r.exc_info) for r in caplog.records if r.exc_info)


# The database gone ----------------------------------------------------------------------


@pytest.fixture
def database_down(monkeypatch):
    def refused(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed")

    def down():
        monkeypatch.setattr(CursorWrapper, "execute", refused)
        monkeypatch.setattr(CursorWrapper, "executemany", refused)

    return down


def test_healthz_answers_json_503_with_retry_after(client, database_down, settings):
    assert client.get(reverse("core:healthz")).content == b"ok"
    database_down()
    response = client.get(reverse("core:healthz"))
    assert error_of(response, 503)["code"] == "unavailable"
    assert response["Retry-After"] == str(settings.UNAVAILABLE_RETRY_AFTER_S)


def test_the_api_answers_json_503_with_retry_after(command_user, database_down):
    key = token_issue(actor=SYSTEM, user=command_user)
    client = Client(raise_request_exception=False, headers={"authorization": f"Bearer {key}"})
    session = Client(raise_request_exception=False)
    session.force_login(command_user)
    database_down()
    for response in (client.get(f"{API}/residents/"), session.get(f"{API}/me")):
        assert error_of(response, 503)["code"] == "unavailable"
        assert int(response["Retry-After"]) > 0


def test_pages_answer_a_bilingual_503_when_the_database_is_gone(command_user, database_down):
    client = Client(raise_request_exception=False)
    client.force_login(command_user)
    database_down()
    response = client.get(reverse("people:search"))
    assert response.status_code == 503 and response["Retry-After"]
    page = response.content.decode()
    assert "数据库暂时不可用" in page and "database is unavailable" in page


# Input types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("starts_at", 0), ("starts_at", "1700000000"), ("ends_at", True)],
)
def test_a_number_is_not_taken_for_a_time(bearer, zones, field, value):
    body = {"kind": "sealed", "reason": "一例阳性", field: value}
    response = bearer.post(zones, body, content_type="application/json")
    assert error_of(response, 422)["field"] == field


@pytest.mark.parametrize("value", [True, "7", 7.5])
def test_a_json_number_must_be_a_whole_number_not_true_or_text(bearer, value):
    body = {"recalls": [value], "via": "site"}
    response = bearer.post(f"{API}/labs/recalls/arrange", body, content_type="application/json")
    assert error_of(response, 422)["field"].startswith("recalls")


def test_any_offset_iso_8601_allows_is_taken_as_the_same_instant(bearer):
    """PostgreSQL refuses offsets beyond ±15:59; the API stores the instant in UTC."""
    event = {"client_id": "c1", "type": "tube_open", "at": "2026-11-23T18:00:00+17:22"}
    body = {"device_id": "d", "events": [event]}
    response = bearer.post(f"{API}/testing/uploads", body, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["results"][0]["client_id"] == "c1"


@pytest.mark.parametrize("body", ["[null, null]", "[]", '"all"', "3"])
def test_a_body_that_is_not_an_object_is_refused_not_taken_as_all_defaults(bearer, body):
    """`[null]` read as an object with every field left out would mark every
    notification read."""
    response = bearer.post(f"{API}/notifications/read", body, content_type="application/json")
    assert error_of(response, 422)["field"] == ""
    assert "JSON object" in response.json()["error"]["message"]
