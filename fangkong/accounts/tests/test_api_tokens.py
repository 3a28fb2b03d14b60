"""Bearer tokens and sessions on the JSON API; who-am-I."""

import pytest
from django.test import Client

from fangkong.accounts.models import ApiToken
from fangkong.accounts.services import token_issue, token_revoke
from fangkong.accounts.tests.helpers import API, ApiClient, api_as, error_of
from fangkong.core.actors import SYSTEM

pytestmark = pytest.mark.django_db


def _with_header(value: str) -> ApiClient:
    return ApiClient(headers={"authorization": value})


def test_bearer_token_identifies_the_user(worker_a):
    response = api_as(worker_a).get("/me")
    assert response.status_code == 200
    me = response.json()
    assert me["username"] == "worker_a"
    assert me["role"] == "community"
    assert [a["code"] for a in me["jurisdiction"]] == ["431102001001"]
    assert me["may"]["people.reveal_pii"] and not me["may"]["areas.declare_zone"]


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer fk_not-a-real-token", "Token whatever", "Basic d29ya2VyOnB3"],
)
def test_missing_or_bad_token_is_401_in_the_error_shape(worker_a, header):
    client = _with_header(header) if header else ApiClient()
    response = client.get("/residents/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_revoked_token_no_longer_works(worker_a):
    key = token_issue(actor=SYSTEM, user=worker_a)
    client = _with_header(f"Bearer {key}")
    assert client.get("/me").status_code == 200
    token_revoke(actor=SYSTEM, token=ApiToken.objects.get(user=worker_a))
    response = client.get("/me")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_token_of_an_inactive_user_no_longer_works(worker_a):
    client = api_as(worker_a)
    worker_a.is_active = False
    worker_a.save()
    assert client.get("/me").status_code == 401


def test_only_a_hash_of_the_key_is_stored_and_use_is_recorded(worker_a):
    key = token_issue(actor=SYSTEM, user=worker_a, name="phone")
    token = ApiToken.objects.get(user=worker_a)
    assert key not in (token.key_hash, token.prefix) and key.startswith(token.prefix)
    assert token.key_hash == ApiToken.hash_key(key)
    _with_header(f"Bearer {key}").get("/me")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_logged_in_page_session_may_read(client_for, worker_a):
    assert client_for(worker_a).get(f"{API}/me").json()["username"] == "worker_a"


def test_a_session_write_needs_the_csrf_token_but_a_bearer_write_does_not(command_user, tree):
    session = Client(enforce_csrf_checks=True)
    session.force_login(command_user)
    body = {"kind": "sealed", "reason": "a case in building 1"}
    path = f"/areas/{tree.community_a.code}/zones"
    response = session.post(API + path, body, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in error_of(response)["message"]
    assert api_as(command_user).post(path, body).status_code == 201


def test_resident_me_names_their_record(tree, resident_a):
    from fangkong.factories import make_user

    me = api_as(make_user("zhang", "resident", resident=resident_a)).get("/me").json()
    assert me["resident_id"] == resident_a.pk
    assert me["jurisdiction"] == []
    held = [code for code, held in me["may"].items() if held]
    assert held == ["people.search_residents", "people.see_own_household", "relief.request_help"]
