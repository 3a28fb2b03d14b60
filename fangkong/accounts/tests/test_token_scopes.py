"""Tokens expire, reach only their scope, and stop at once when revoked, on every
endpoint (the upload endpoint cached them for 30 s); API answers and logged-in pages
are never cached."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import resolve, reverse

from fangkong.accounts.auth import scope_operations
from fangkong.accounts.models import ApiToken
from fangkong.accounts.services import token_issue
from fangkong.accounts.tests.helpers import ApiClient, error_of
from fangkong.core.actors import SYSTEM
from fangkong.factories import make_user

pytestmark = pytest.mark.django_db
UPLOAD = {"device_id": "phone-3", "events": []}


@pytest.fixture
def sampler(tree):
    return make_user("sampler", "sampler", tree.community_a)


def bearer(key: str) -> ApiClient:
    return ApiClient(headers={"authorization": f"Bearer {key}"})


def test_a_revoked_token_stops_at_once_on_the_upload_endpoint_and_everywhere(sampler, capsys):
    key = token_issue(actor=SYSTEM, user=sampler, scope="upload")
    device = bearer(key)
    assert device.post("/testing/uploads", UPLOAD).status_code == 200  # now known and warm
    # Revoked from the command line: another process than the one serving the device.
    call_command("token", "sampler", "--revoke", key[:10])
    for response in (device.post("/testing/uploads", UPLOAD), device.get("/me")):
        assert response.status_code == 401
        assert error_of(response)["code"] == "unauthorized"


def test_a_token_expires(sampler, clock):
    device = bearer(token_issue(actor=SYSTEM, user=sampler, scope="upload", days=1))
    assert device.post("/testing/uploads", UPLOAD).status_code == 200
    clock.shift(86400 + 1)
    assert device.post("/testing/uploads", UPLOAD).status_code == 401
    assert device.get("/testing/sampler-config").status_code == 401


def test_an_upload_token_reaches_uploads_and_the_config_only(sampler, tree):
    device = bearer(token_issue(actor=SYSTEM, user=sampler, scope="upload"))
    assert device.post("/testing/uploads", UPLOAD).status_code == 200
    assert device.get("/testing/sampler-config").status_code == 200
    assert device.get("/me").status_code == 200
    # The sampler's role may list rounds; the device's token may not.
    for response in (device.get("/testing/rounds"), device.get("/residents/")):
        assert response.status_code == 403
        error = error_of(response)
        assert error["code"] == "forbidden" and "upload" in error["message"]
        assert "范围" in error["message_zh"]
    # The same user with a token of scope `all` reaches what the role may.
    assert bearer(token_issue(actor=SYSTEM, user=sampler)).get("/testing/rounds").status_code == 200


def test_a_results_token_uploads_results_and_reaches_no_recalls(tree):
    lab = make_user("lab", "lab", tree.district)
    system = bearer(token_issue(actor=SYSTEM, user=lab, scope="results"))
    row = {"tube": "T-404", "result": "negative", "tested_at": "2026-11-23T17:00:00+08:00"}
    response = system.post("/labs/results", {"results": [row]})
    assert response.status_code != 403, response.content
    assert system.get("/labs/recalls").status_code == 403
    assert bearer(token_issue(actor=SYSTEM, user=lab)).get("/labs/recalls").status_code == 200


def test_scopes_name_only_operations_that_exist(client):
    """A renamed route must not silently leave a scoped token reaching nothing."""
    paths = client.get("/api/openapi.json").json()["paths"]
    assert set(scope_operations()) == {"upload", "results"}
    for operations in scope_operations().values():
        for method, route in operations:
            path = "/" + route.replace("<", "{").replace(">", "}")
            assert method.lower() in paths.get(path, {}), (method, route)
            assert resolve(path.replace("{round_id}", "1")).route == route


def test_the_scope_and_expiry_are_on_record(sampler):
    token_issue(actor=SYSTEM, user=sampler, scope="upload", days=30)
    token = ApiToken.objects.get()
    assert token.scope == "upload"
    assert 29 <= (token.expires_at - token.created_at).days <= 30


# Never cached ------------------------------------------------------------------------------


def test_every_api_answer_says_no_store(sampler):
    device = bearer(token_issue(actor=SYSTEM, user=sampler))
    for response in (
        device.get("/me"),
        device.get("/residents/"),
        device.get("/no/such/path"),
        ApiClient().get("/me"),  # 401
        Client().get("/api/openapi.json"),
    ):
        assert "no-store" in response["Cache-Control"], response


def test_logged_in_pages_say_no_store_static_files_do_not(client_for, worker_a, resident_a):
    client = client_for(worker_a)
    for url in (reverse("people:search"), reverse("people:detail", args=[resident_a.pk])):
        assert "no-store" in client.get(url)["Cache-Control"]
    static = client.get("/static/fangkong/app.css")
    assert static.status_code == 200 and "no-store" not in static.get("Cache-Control", "")
