"""The residents API: masking, reveal, search and paging, create and update rules."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fangkong.accounts.tests.helpers import api_as, error_of
from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident, make_user, new_id_number
from fangkong.people.models import Resident, Tag

pytestmark = pytest.mark.django_db

ID = "110101199003070011"


@pytest.fixture
def api(worker_a):
    return api_as(worker_a)


@pytest.fixture
def where(tree):
    return {"building": tree.building_a1.code, "unit": "1", "room": "102"}


def _new(where, **fields) -> dict:
    return {"name": "王五", "id_number": ID, "phone": "139 0000 1111", "household": where, **fields}


# Masking and reveal


def test_list_and_detail_show_masked_numbers_only(api, resident_a):
    full_id, full_phone = resident_a.id_number(), resident_a.phone()
    listed = api.get("/residents/")
    detail = api.get(f"/residents/{resident_a.pk}")
    for response in (listed, detail):
        text = response.content.decode()
        assert full_id not in text and full_phone not in text
        assert full_id[6:14] not in text  # not even the birth date inside it
    item = listed.json()["items"][0]
    assert item["id_number_masked"] == full_id[:4] + "*" * 10 + full_id[-4:]
    assert item["phone_masked"] == "138****8000"
    assert detail.json()["id_number_masked"] == item["id_number_masked"]


def test_items_carry_what_a_roster_needs(api, tree):
    person = make_resident(
        tree.household_a1,
        "刘奶奶",
        birth=dt.date(1940, 3, 1),
        tags=Tag.LIVING_ALONE | Tag.BEDRIDDEN,
        residency="tenant",
    )
    item = api.get(f"/residents/{person.pk}").json()
    assert item["name"] == "刘奶奶"
    assert item["birth_year"] == 1940 and item["age"] >= 80
    assert item["sex"] in ("M", "F")
    assert item["tags"] == ["living_alone", "bedridden"]
    assert item["residency"] == "tenant"
    assert item["area_code"] == tree.building_a1.code
    assert item["household"] == {
        "id": tree.household_a1.pk,
        "building_code": tree.building_a1.code,
        "unit": "1",
        "room": "101",
        "address": "幸福小区1号楼1单元101",
    }


def test_reveal_gives_full_numbers_and_is_audited(api, worker_a, resident_a):
    response = api.post(f"/residents/{resident_a.pk}/reveal", {"reason": "上门核酸联系"})
    assert response.status_code == 200
    assert response.json() == {
        "id": resident_a.pk,
        "id_number": resident_a.id_number(),
        "phone": resident_a.phone(),
    }
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(event="people.resident_reveal")
    assert (event.actor, event.target_id, event.reason) == (
        worker_a,
        str(resident_a.pk),
        "上门核酸联系",
    )


@pytest.mark.parametrize("body", [None, {}, {"reason": ""}, {"reason": "   "}])
def test_reveal_without_a_reason_is_refused_and_shows_nothing(api, resident_a, body):
    response = api.post(f"/residents/{resident_a.pk}/reveal", body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["field"] == "reason" and error["message_zh"] == "必须填写理由"
    assert resident_a.id_number() not in response.content.decode()
    assert not AuditEvent.objects.filter(event="people.resident_reveal").exists()


@pytest.mark.parametrize("role", ["grid", "building", "sampler", "worker"])
def test_roles_that_may_not_reveal_get_403_and_nothing_is_audited(tree, resident_a, role):
    user = make_user(f"u_{role}", role, tree.community_a)
    response = api_as(user).post(f"/residents/{resident_a.pk}/reveal", {"reason": "核对"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert not AuditEvent.objects.filter(event="people.resident_reveal").exists()


def test_volunteer_cannot_list_residents(volunteer, resident_a):
    response = api_as(volunteer).get("/residents/")
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


# Search and paging


def test_filters_narrow_the_list(api, tree, resident_a):
    other = make_resident(tree.household_a2, "王小明")
    assert [i["id"] for i in api.get("/residents/", {"q": "wxm"}).json()["items"]] == [other.pk]
    by_area = api.get("/residents/", {"area": tree.building_a2.code}).json()["items"]
    assert [i["id"] for i in by_area] == [other.pk]
    by_household = api.get("/residents/", {"household": tree.household_a1.pk}).json()["items"]
    assert [i["id"] for i in by_household] == [resident_a.pk]


def test_pages_of_twenty_say_whether_more_follow_without_counting(api, tree):
    for n in range(21):
        make_resident(tree.household_a1, f"居民{n}")
    first = api.get("/residents/").json()
    assert (len(first["items"]), first["page"], first["has_next"]) == (20, 1, True)
    second = api.get("/residents/", {"page": 2}).json()
    assert (len(second["items"]), second["has_next"]) == (1, False)
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    with CaptureQueriesContext(connection) as queries:
        api.get("/residents/")
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    assert len(queries) <= 5  # token (+ its touch), scope (2), the page: never one per row


@pytest.mark.parametrize(
    "params, field",
    [({"page": 0}, "page"), ({"area": "abc"}, "area"), ({"household": "x"}, "household")],
)
def test_bad_filters_are_422_naming_the_field(api, params, field):
    response = api.get("/residents/", params)
    assert response.status_code == 422
    error = error_of(response)
    assert error["field"] == field
    assert field in error["message"] and field in error["message_zh"]


# Create


def test_create_then_again_updates_or_leaves_unchanged(api, worker_a, where):
    first = api.post("/residents/", _new(where))
    assert first.status_code == 201
    assert first.json()["outcome"] == "created"
    created = first.json()["resident"]
    assert created["phone_masked"] == "139****1111"
    assert created["household"]["room"] == "102"

    again = api.post("/residents/", _new(where))
    assert again.status_code == 200
    assert again.json()["outcome"] == "unchanged"

    moved = api.post("/residents/", _new({**where, "room": "103"}, tags=["pregnant"]))
    assert moved.status_code == 200
    assert moved.json()["outcome"] == "updated"
    assert moved.json()["resident"]["id"] == created["id"]
    assert moved.json()["resident"]["tags"] == ["pregnant"]

    assert Resident.objects.count() == 1
    events = AuditEvent.objects.filter(event__startswith="people.resident_").values_list(
        "event", "actor"
    )
    assert list(events.order_by("id")) == [
        ("people.resident_create", worker_a.pk),
        ("people.resident_update", worker_a.pk),
    ]


def test_the_id_number_is_normalised_before_it_identifies(api, where):
    api.post("/residents/", _new(where))
    response = api.post(
        "/residents/", _new(where, id_number=" １１０１０１１９９００３０７００１１ ")
    )
    assert response.json()["outcome"] == "unchanged"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"id_number": "110101199003070012"}, "id_number"),  # wrong check digit
        ({"id_number": "11010119900307001"}, "id_number"),  # 17 characters
        ({"name": "  "}, "name"),
        ({"phone": "12345"}, "phone"),
        ({"id_type": "PP", "id_number": "??"}, "id_number"),
    ],
)
def test_bad_input_is_400_naming_the_field_in_both_languages(api, where, change, field):
    response = api.post("/residents/", _new(where, **change))
    assert response.status_code == 400
    error = error_of(response)
    assert error["field"] == field
    assert error["message"] and error["message_zh"] and error["message"] != error["message_zh"]
    assert not Resident.objects.exists()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"tags": ["vip"]}, "tags.0"),
        ({"residency": "visitor"}, "residency"),
        ({"id_type": "XX"}, "id_type"),
        ({"household": {"building": "431102001001001001"}}, "household.room"),
        ({"name": None}, "name"),
    ],
)
def test_malformed_input_is_422_naming_the_field(api, where, change, field):
    response = api.post("/residents/", _new(where, **change))
    assert response.status_code == 422
    assert error_of(response)["field"] == field


def test_a_household_must_be_in_a_building_and_have_a_room(api, tree):
    response = api.post("/residents/", _new({"building": tree.compound_a.code, "room": "1"}))
    assert response.status_code == 400
    assert error_of(response)["field"] == "household.building"
    response = api.post("/residents/", _new({"building": tree.building_a1.code, "room": " "}))
    assert response.status_code == 400
    assert error_of(response)["field"] == "household.room"


@pytest.mark.parametrize("role", ["sampler", "inspector", "worker", "lab"])
def test_roles_that_may_not_edit_cannot_create(tree, where, role):
    user = make_user(f"u_{role}", role, tree.community_a)
    response = api_as(user).post("/residents/", _new(where))
    assert response.status_code == 403
    assert not Resident.objects.exists()


# Update


def _put_body(resident, **change) -> dict:
    body = {
        "name": resident.name,
        "id_number": resident.id_number(),
        "household": {"building": resident.household.building.code, "unit": "1", "room": "101"},
    }
    return {**body, **change}


def test_put_updates_and_audits_with_the_reason(api, resident_a):
    response = api.put(
        f"/residents/{resident_a.pk}",
        _put_body(resident_a, name="张三丰", tags=["disabled"], reason="入户核实"),
    )
    assert response.status_code == 200
    assert response.json()["outcome"] == "updated"
    assert response.json()["resident"]["tags"] == ["disabled"]
    event = AuditEvent.objects.get(event="people.resident_update")
    assert event.reason == "入户核实" and event.detail["fields"] == ["tags"]


def test_the_id_number_cannot_change(api, resident_a):
    for send in (api.put, api.patch):
        response = send(
            f"/residents/{resident_a.pk}", _put_body(resident_a, id_number=new_id_number())
        )
        assert response.status_code == 400
        assert error_of(response)["field"] == "id_number"
    assert Resident.objects.get().id_number() == resident_a.id_number()


def test_patch_changes_only_what_it_names(api, tree):
    person = make_resident(
        tree.household_a1, "孙七", phone="13700001111", tags=Tag.NO_SMARTPHONE, residency="tenant"
    )
    response = api.patch(f"/residents/{person.pk}", {"tags": ["no_smartphone", "pregnant"]})
    assert response.status_code == 200
    body = response.json()["resident"]
    assert body["tags"] == ["pregnant", "no_smartphone"]
    assert (body["name"], body["residency"], body["phone_masked"]) == (
        "孙七",
        "tenant",
        "137****1111",
    )
    unchanged = api.patch(f"/residents/{person.pk}", {"name": None})
    assert unchanged.json()["outcome"] == "unchanged"


def test_patch_moves_within_the_jurisdiction(api, tree, resident_a):
    response = api.patch(
        f"/residents/{resident_a.pk}",
        {"household": {"building": tree.building_a2.code, "unit": "2", "room": "202"}},
    )
    assert response.json()["resident"]["household"]["id"] == tree.household_a2.pk
    resident_a.refresh_from_db()
    assert resident_a.area_code == tree.building_a2.code


def test_volunteer_cannot_update(volunteer, resident_a):
    response = api_as(volunteer).patch(f"/residents/{resident_a.pk}", {"name": "改名"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "method, path, data",
    [
        ("get", "/residents/", {"q": "张\x00"}),
        ("post", "/residents/", {"name": "王\x00五", "id_number": ID, "household": {}}),
    ],
)
def test_text_holding_a_nul_character_is_refused_not_a_server_error(api, method, path, data):
    """PostgreSQL can neither store nor compare NUL; the fuzz test found the 500."""
    response = getattr(api, method)(path, data)
    assert response.status_code == 422
    assert "NUL" in error_of(response)["message"]
