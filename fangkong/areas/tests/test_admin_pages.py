"""The set-up pages and their API twins: the same services, the same boundaries."""

import io

import pytest
from django.urls import reverse

from fangkong.accounts.services import token_issue
from fangkong.areas.models import Area, Grid
from fangkong.core.actors import SYSTEM
from fangkong.factories import make_user

pytestmark = pytest.mark.django_db


def test_the_menu_offers_administration_to_those_who_may_set_something_up(
    client_for, street_user, volunteer
):
    page = client_for(street_user).get(reverse("areas:browse"), follow=True)
    assert reverse("core:administration") in page.content.decode()
    hub = client_for(street_user).get(reverse("core:administration")).content.decode()
    assert reverse("areas:manage_home") in hub and reverse("areas:import") in hub
    assert client_for(volunteer).get(reverse("core:administration")).status_code == 403


def test_a_street_office_adds_a_community_from_the_page(client_for, street_user, tree):
    client = client_for(street_user)
    assert client.get(reverse("areas:manage_home")).url == reverse(
        "areas:manage", args=[tree.street.code]
    )
    response = client.post(
        reverse("areas:manage", args=[tree.street.code]),
        {"action": "add", "add-name": "北门社区", "add-code": ""},
    )
    made = Area.objects.get(name="北门社区")
    assert response.url == reverse("areas:manage", args=[made.code])
    assert made.parent == tree.street


def test_a_bad_name_comes_back_on_the_form_in_chinese(client_for, worker_a, tree):
    response = client_for(worker_a).post(
        reverse("areas:manage", args=[tree.community_a.code]),
        {"action": "add", "add-name": "幸福小区"},
    )
    assert response.status_code == 400
    assert "同一上级下已有名为幸福小区的区域" in response.content.decode()


def test_rename_move_retire_from_the_page(client_for, street_user, tree):
    client = client_for(street_user)
    empty = Area.objects.create(
        code=tree.community_a.code + "005", name="空小区", level=4, parent=tree.community_a
    )
    url = reverse("areas:manage", args=[empty.code])
    page = client.get(url).content.decode()
    assert 'value="rename"' in page and tree.community_b.code in page  # a move target
    client.post(url, {"action": "rename", "rename-name": "空地小区", "rename-reason": ""})
    empty.refresh_from_db()
    assert empty.name == "空地小区"
    response = client.post(
        url, {"action": "move", "move-parent": tree.community_b.code, "move-reason": "划错"}
    )
    empty.refresh_from_db()
    assert empty.parent == tree.community_b and response.url.endswith(f"/{empty.code}/")
    response = client.post(
        reverse("areas:manage", args=[empty.code]),
        {"action": "retire", "retire-reason": "拆除"},
    )
    assert Area.objects.get(pk=empty.pk).retired_at is not None


def test_one_cannot_change_ones_own_area_nor_open_another_communitys(client_for, worker_a, tree):
    client = client_for(worker_a)
    page = client.get(reverse("areas:manage", args=[tree.community_a.code])).content.decode()
    assert 'value="rename"' not in page and 'value="add"' in page
    response = client.post(
        reverse("areas:manage", args=[tree.community_a.code]),
        {"action": "rename", "rename-name": "改名"},
    )
    assert response.status_code == 400 and "不在您的辖区内" in response.content.decode()
    assert client.get(reverse("areas:manage", args=[tree.community_b.code])).status_code == 404
    tree.community_a.refresh_from_db()
    assert tree.community_a.name == "东风社区"


def test_a_volunteer_cannot_open_the_set_up_pages(client_for, volunteer, tree):
    client = client_for(volunteer)
    assert client.get(reverse("areas:manage_home")).status_code == 403
    assert client.get(reverse("areas:manage", args=[tree.community_a.code])).status_code == 403
    assert client.get(reverse("areas:import")).status_code == 403


def test_a_division_list_is_imported_from_the_page(client_for, street_user, tree):
    upload = io.BytesIO(f"代码,名称\n{tree.street.code}003,北门社区\n9,坏\n".encode())
    upload.name = "list.csv"
    response = client_for(street_user).post(reverse("areas:import"), {"file": upload})
    body = response.content.decode()
    assert response.status_code == 200 and "北门社区" in Area.objects.values_list("name", flat=True)
    assert "代码应为9、12、15或18位数字" in body and '<td class="num">3</td>' in body


def test_a_grid_is_drawn_on_the_page_with_a_keeper(client_for, worker_a, tree):
    keeper = make_user("grid_a", "grid", tree.community_a)
    client = client_for(worker_a)
    form = client.get(reverse("areas:grid_new", args=[tree.community_a.code])).content.decode()
    assert f'value="{tree.building_a1.pk}"' in form and f'value="{tree.building_b1.pk}"' not in form
    client.post(
        reverse("areas:grid_new", args=[tree.community_a.code]),
        {"name": "一网格", "keeper": keeper.pk, "buildings": [tree.building_a1.pk]},
    )
    grid = Grid.objects.get(name="一网格")
    assert grid.keeper == keeper and list(grid.buildings.all()) == [tree.building_a1]
    # A building of another community cannot be slipped in.
    response = client.post(
        reverse("areas:grid_edit", args=[grid.pk]),
        {"name": "一网格", "buildings": [tree.building_a1.pk, tree.building_b1.pk]},
    )
    assert response.status_code == 400
    assert list(grid.buildings.all()) == [tree.building_a1]


def test_another_communitys_grid_is_not_found(client_for, worker_b, tree):
    grid = Grid.objects.create(community=tree.community_a, name="一网格")
    assert client_for(worker_b).get(reverse("areas:grid_edit", args=[grid.pk])).status_code == 404


# The API twins ----------------------------------------------------------------------------


@pytest.fixture
def api(client):
    def call(user, method, path, body=None, **extra):
        token = token_issue(actor=SYSTEM, user=user)
        send = getattr(client, method)
        kwargs = {"content_type": "application/json"} if body is not None else {}
        return send(
            f"/api/v1/areas{path}",
            body if body is not None else extra.pop("data", None),
            HTTP_AUTHORIZATION=f"Bearer {token}",
            **kwargs,
            **extra,
        )

    return call


def test_the_api_adds_renames_moves_and_retires(api, street_user, tree):
    made = api(street_user, "post", f"/{tree.community_a.code}/children", {"name": "北门小区"})
    assert made.status_code == 201 and made.json()["level"] == "compound"
    code = made.json()["code"]
    assert api(street_user, "post", f"/{code}/rename", {"name": "北门家园"}).json()["name"] == (
        "北门家园"
    )
    moved = api(
        street_user, "post", f"/{code}/move", {"parent": tree.community_b.code, "reason": "划错"}
    )
    assert moved.status_code == 200 and moved.json()["code"].startswith(tree.community_b.code)
    retired = api(street_user, "post", f"/{moved.json()['code']}/retire", {"reason": "拆除"})
    assert retired.json() == {"code": moved.json()["code"], "retired": 1}


def test_the_api_refuses_across_the_boundary_and_populated_moves(api, worker_a, street_user, tree):
    outside = api(worker_a, "post", f"/{tree.community_b.code}/children", {"name": "越界"})
    assert outside.status_code == 404
    own = api(worker_a, "post", f"/{tree.community_a.code}/rename", {"name": "改"})
    assert own.status_code == 403
    busy = api(
        street_user,
        "post",
        f"/{tree.compound_a.code}/move",
        {"parent": tree.community_b.code, "reason": "调整"},
    )
    assert busy.status_code == 409 and "不能移动" in busy.json()["error"]["message_zh"]


def test_the_api_imports_a_division_list(api, street_user, tree):
    upload = io.BytesIO(f"code,name\n{tree.street.code}003,北门社区\n1,bad\n".encode())
    upload.name = "list.csv"
    response = api(street_user, "post", "/divisions/import", data={"file": upload})
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["rejected"]) == (1, 1)
    assert body["errors"][0]["row"] == 3 and body["errors"][0]["field"] == "code"


def test_the_api_draws_grids(api, worker_a, worker_b, tree):
    make_user("grid_a", "grid", tree.community_a)
    made = api(
        worker_a,
        "post",
        f"/{tree.community_a.code}/grids",
        {"name": "一网格", "keeper": "grid_a", "buildings": [tree.building_a1.code]},
    )
    assert made.status_code == 201 and made.json()["keeper"] == "grid_a"
    grid_id = made.json()["id"]
    changed = api(
        worker_a,
        "put",
        f"/grids/{grid_id}",
        {"name": "一网格", "keeper": None, "buildings": [tree.building_a2.code]},
    )
    assert changed.json()["buildings"] == [tree.building_a2.code]
    assert changed.json()["keeper"] is None
    sneaky = api(
        worker_a,
        "put",
        f"/grids/{grid_id}",
        {"name": "一网格", "buildings": [tree.building_b1.code]},
    )
    assert sneaky.status_code == 400 and sneaky.json()["error"]["field"] == "buildings"
    assert api(worker_b, "get", f"/grids/{grid_id}").status_code == 404
    listed = api(worker_a, "get", f"/{tree.community_a.code}/grids").json()
    assert [g["name"] for g in listed] == ["一网格"]
