"""The policies page and API: every declared policy with its value in force, version and
history; the command centre sets a new version from a form made from the schema."""

import pytest
from django.urls import reverse

from fangkong.accounts.services import token_issue
from fangkong.core.actors import SYSTEM
from fangkong.core.models import PolicyVersion
from fangkong.core.policies import all_policies

pytestmark = pytest.mark.django_db

POOL = "testing.pool_sizes"


def test_the_page_lists_every_declared_policy(client_for, command_user):
    body = client_for(command_user).get(reverse("core:policies")).content.decode()
    for declared in all_policies():
        assert reverse("core:policy", args=[declared.key]) in body


def test_the_command_centre_sets_a_version_from_the_generated_form(client_for, command_user, tree):
    client = client_for(command_user)
    page = client.get(reverse("core:policy", args=[POOL])).content.decode()
    # One number input a field of the schema, with its bounds and the value in force.
    assert 'name="value_controlled"' in page and 'max="50"' in page and 'value="10"' in page
    response = client.post(
        reverse("core:policy", args=[POOL]),
        {
            "value_sealed": "1",
            "value_controlled": "5",
            "value_prevention": "10",
            "area": tree.street.code,
            "reason": "上级通知",
        },
    )
    assert response.status_code == 302
    row = PolicyVersion.objects.get(key=POOL)
    assert row.value == {"sealed": 1, "controlled": 5, "prevention": 10}
    assert (row.area_code, row.reason, row.set_by) == (tree.street.code, "上级通知", command_user)
    history = client.get(reverse("core:policy", args=[POOL])).content.decode()
    assert "上级通知" in history and tree.street.code in history


def test_bad_values_come_back_on_the_form(client_for, command_user):
    response = client_for(command_user).post(
        reverse("core:policy", args=[POOL]),
        {"value_sealed": "0", "value_controlled": "5", "value_prevention": "10", "reason": ""},
    )
    assert response.status_code == 200 and not PolicyVersion.objects.exists()
    form = response.context["form"]
    assert "value_sealed" in form.errors and "reason" in form.errors


def test_others_read_the_policies_but_cannot_set_them(client_for, street_user, volunteer):
    client = client_for(street_user)
    page = client.get(reverse("core:policy", args=[POOL]))
    assert page.status_code == 200 and 'name="value_sealed"' not in page.content.decode()
    assert client.post(reverse("core:policy", args=[POOL]), {"reason": "x"}).status_code == 403
    assert client.get(reverse("core:policy", args=["no.such"])).status_code == 404
    assert client_for(volunteer).get(reverse("core:policies")).status_code == 403


def _api(client, user, method, path, body=None):
    token = token_issue(actor=SYSTEM, user=user)
    kwargs = {"content_type": "application/json"} if body is not None else {}
    return getattr(client, method)(
        f"/api/v1/policies{path}", body, HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs
    )


def test_the_api_lists_sets_and_shows_history(client, command_user, street_user):
    listed = _api(client, street_user, "get", "/").json()
    pool = next(p for p in listed if p["key"] == POOL)
    assert pool["in_force"]["version"] == 0 and pool["default"]["controlled"] == 10
    assert pool["value_schema"]["properties"]["sealed"]["maximum"] == 50
    refused = _api(client, street_user, "post", f"/{POOL}", {"value": {}, "reason": "x"})
    assert refused.status_code == 403
    made = _api(
        client,
        command_user,
        "post",
        f"/{POOL}",
        {"value": {"sealed": 1, "controlled": 5, "prevention": 10}, "reason": "上级通知"},
    )
    assert made.status_code == 201 and made.json()["version"] == 1
    bad = _api(client, command_user, "post", f"/{POOL}", {"value": {"sealed": 0}, "reason": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["field"].startswith("value.")
    detail = _api(client, street_user, "get", f"/{POOL}").json()
    assert [v["version"] for v in detail["history"]] == [1]
    assert detail["in_force"]["value"]["controlled"] == 5
    assert _api(client, street_user, "get", "/no.such").status_code == 404
