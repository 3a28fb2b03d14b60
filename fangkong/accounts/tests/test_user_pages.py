"""The users pages and their API twins: accounts of the roles below one's own, areas
inside one's jurisdiction, every change through the audited services."""

import io

import pytest
from django.urls import reverse

from fangkong.accounts.models import ApiToken, User
from fangkong.accounts.tests.helpers import api_as
from fangkong.core.models import AuditEvent
from fangkong.factories import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "Dongfeng-Qiao-2022"


def test_a_street_office_creates_a_community_worker_for_one_community(
    client_for, street_user, tree
):
    client = client_for(street_user)
    form = client.get(reverse("accounts:user_new")).content.decode()
    assert 'value="community"' in form and 'value="street"' not in form
    assert f'value="{tree.community_a.code}"' in form
    response = client.post(
        reverse("accounts:user_new"),
        {
            "username": "dongfeng.li",
            "display_name": "李社工",
            "role": "community",
            "areas": [tree.community_a.code],
            "password": PASSWORD,
        },
    )
    user = User.objects.get(username="dongfeng.li")
    assert response.url == reverse("accounts:user", args=[user.pk])
    assert user.role == "community" and user.scope_prefixes() == [tree.community_a.code]
    assert user.check_password(PASSWORD)
    assert AuditEvent.objects.filter(event="accounts.user_create", actor=street_user).exists()


def test_the_form_refuses_a_weak_password_and_a_role_above(client_for, street_user, tree):
    client = client_for(street_user)
    weak = client.post(
        reverse("accounts:user_new"),
        {"username": "x", "role": "grid", "areas": [tree.community_a.code], "password": "123"},
    )
    assert weak.status_code == 400 and "密码太短" in weak.content.decode()
    above = client.post(
        reverse("accounts:user_new"),
        {"username": "y", "role": "command", "areas": [tree.community_a.code]},
    )
    assert above.status_code == 400 and "role" in above.context["form"].errors
    assert not User.objects.filter(username__in=["x", "y"]).exists()


def test_a_community_worker_cannot_give_areas_outside_their_community(client_for, worker_a, tree):
    client = client_for(worker_a)
    form = client.get(reverse("accounts:user_new")).content.decode()
    assert f'value="{tree.community_b.code}"' not in form
    response = client.post(
        reverse("accounts:user_new"),
        {"username": "grid_b", "role": "grid", "areas": [tree.community_b.code]},
    )
    assert response.status_code == 400 and not User.objects.filter(username="grid_b").exists()


def test_the_account_page_resets_disables_and_issues_tokens(client_for, worker_a, tree):
    grid = make_user("grid_a", "grid", tree.compound_a)
    client = client_for(worker_a)
    url = reverse("accounts:user", args=[grid.pk])
    assert client.post(url, {"action": "password", "password-password": PASSWORD}).url == url
    grid.refresh_from_db()
    assert grid.check_password(PASSWORD)
    issued = client.post(url, {"action": "token", "token-name": "门岗平板"})
    key = issued.context["new_key"]
    assert key.startswith("fk_") and key in issued.content.decode()
    token = ApiToken.objects.get(user=grid)
    assert token.key_hash == ApiToken.hash_key(key) and token.name == "门岗平板"
    client.post(url, {"action": "revoke", "token_id": token.pk})
    token.refresh_from_db()
    assert token.revoked_at is not None
    refused = client.post(url, {"action": "disable", "disable-reason": ""})
    assert refused.status_code == 400 and User.objects.get(pk=grid.pk).is_active
    client.post(url, {"action": "disable", "disable-reason": "离岗"})
    assert not User.objects.get(pk=grid.pk).is_active
    client.post(url, {"action": "areas", "areas-areas": [tree.community_a.code]})
    assert User.objects.get(pk=grid.pk).scope_prefixes() == [tree.community_a.code]
    events = set(AuditEvent.objects.values_list("event", flat=True))
    assert {
        "accounts.user_set_password",
        "accounts.token_issue",
        "accounts.token_revoke",
        "accounts.user_disable",
        "accounts.user_set_areas",
    } <= events


def test_one_cannot_open_a_peer_a_superior_or_another_communitys_account(
    client_for, worker_a, worker_b, street_user, tree
):
    other_grid = make_user("grid_b", "grid", tree.community_b)
    client = client_for(worker_a)
    for user in (worker_b, street_user, other_grid):
        assert client.get(reverse("accounts:user", args=[user.pk])).status_code == 404
    listed = client.get(reverse("accounts:users")).content.decode()
    assert "grid_b" not in listed and "worker_b" not in listed


def test_a_volunteer_cannot_open_the_users_pages(client_for, volunteer):
    assert client_for(volunteer).get(reverse("accounts:users")).status_code == 403


ROSTER = (
    "用户名,姓名,角色,辖区代码,密码\n"
    "grid.one,王网格,网格员,{a},\n"
    "grid.two,李网格,grid,{a};{a2},{pw}\n"
    "bad.role,赵,队长,{a},\n"
    "far.away,钱,网格员,{b},\n"
    "worker_a,重名,网格员,{a},\n"
)


def test_accounts_are_imported_in_bulk_and_a_second_import_changes_nothing(
    client_for, worker_a, tree
):
    text = ROSTER.format(
        a=tree.compound_a.code, a2=tree.building_a1.code, b=tree.community_b.code, pw=PASSWORD
    )
    client = client_for(worker_a)

    def upload():
        data = io.BytesIO(text.encode())
        data.name = "accounts.csv"
        return client.post(reverse("accounts:user_import"), {"file": data})

    report = upload().context["report"]
    made = {m.username: m.password for m in report.created}
    assert set(made) == {"grid.one", "grid.two"} and made["grid.two"] == ""
    assert User.objects.get(username="grid.one").check_password(made["grid.one"])
    assert [(e.row, e.column) for e in report.errors] == [
        (4, "role"),
        (5, "areas"),
        (6, "username"),
    ]
    assert "辖区内" in report.errors[1].zh
    again = upload().context["report"]
    assert again.counts() == {"created": 0, "unchanged": 2, "rejected": 3}
    assert User.objects.filter(username__startswith="grid.").count() == 2


def test_the_api_twins(worker_a, worker_b, tree):
    api = api_as(worker_a)
    made = api.post(
        "/users/",
        {
            "username": "grid.api",
            "role": "grid",
            "areas": [tree.compound_a.code],
            "password": PASSWORD,
        },
    )
    assert made.status_code == 201 and made.json()["areas"] == [tree.compound_a.code]
    user_id = made.json()["id"]
    outside = api.post(
        "/users/", {"username": "x", "role": "grid", "areas": [tree.community_b.code]}
    )
    assert outside.status_code == 400 and outside.json()["error"]["field"] == "areas"
    above = api.post(
        "/users/", {"username": "y", "role": "street", "areas": [tree.compound_a.code]}
    )
    assert above.status_code == 403
    assert (
        api.patch(f"/users/{user_id}", {"display_name": "王网格"}).json()["display_name"]
        == "王网格"
    )
    key = api.post(f"/users/{user_id}/tokens", {"name": "平板"}).json()["key"]
    token_id = api.get(f"/users/{user_id}/tokens").json()[0]["id"]
    assert api.post(f"/users/{user_id}/tokens/{token_id}/revoke").status_code == 204
    assert ApiToken.objects.get(key_hash=ApiToken.hash_key(key)).revoked_at is not None
    assert api.post(f"/users/{user_id}/disable", {"reason": ""}).status_code == 400
    assert api.post(f"/users/{user_id}/disable", {"reason": "离岗"}).json()["is_active"] is False
    assert api.post(f"/users/{user_id}/password", {"password": "1"}).status_code == 400
    assert api_as(worker_b).get(f"/users/{user_id}").status_code == 404
