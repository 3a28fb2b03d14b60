"""Over the API, a community worker of A must never reach B, however they ask.

Each attack is paired with the same request aimed at A, which must succeed: a test
that passes because everything fails proves nothing.
"""

import pytest

from fangkong.accounts.tests.helpers import api_as, error_of
from fangkong.areas.models import Household
from fangkong.areas.services import grid_create, zone_declare
from fangkong.core.actors import SYSTEM
from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident, make_user
from fangkong.people.models import Resident

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(tree):
    """A resident of community A."""
    return make_resident(tree.household_a1, "张三丰", phone="13811112222")


@pytest.fixture
def bob(tree):
    """A resident of community B."""
    return make_resident(tree.household_b1, "李四", phone="13933334444")


@pytest.fixture
def api(worker_a):
    return api_as(worker_a)


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


def _body(where, name="王五", id_number="110101199003070011", **fields) -> dict:
    return {"name": name, "id_number": id_number, "household": where, **fields}


def test_by_id(api, alice, bob):
    assert api.get(f"/residents/{alice.pk}").status_code == 200
    response = api.get(f"/residents/{bob.pk}")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert "李四" not in response.content.decode()


def test_unfiltered_list_holds_only_own_community(api, alice, bob):
    assert _ids(api.get("/residents/")) == {alice.pk}


def test_by_area_filter(api, tree, alice, bob):
    assert _ids(api.get("/residents/", {"area": tree.community_a.code})) == {alice.pk}
    assert _ids(api.get("/residents/", {"area": tree.community_b.code})) == set()
    assert _ids(api.get("/residents/", {"area": tree.building_b1.code})) == set()
    # A prefix above one's own scope still yields only one's own.
    assert _ids(api.get("/residents/", {"area": tree.street.code})) == {alice.pk}


def test_by_household_filter(api, alice, bob):
    assert _ids(api.get("/residents/", {"household": alice.household_id})) == {alice.pk}
    assert _ids(api.get("/residents/", {"household": bob.household_id})) == set()


@pytest.mark.parametrize(
    "query",
    [
        lambda r: r.name,
        lambda r: r.name[:1],
        lambda r: r.name_initials,
        lambda r: r.name_pinyin,
        lambda r: r.id_tail,
        lambda r: r.id_number(),
        lambda r: r.phone(),
        lambda r: r.phone()[-4:],
    ],
    ids=["name", "surname", "initials", "pinyin", "id-tail", "full-id", "phone", "phone4"],
)
def test_by_search(api, alice, bob, query):
    assert alice.pk in _ids(api.get("/residents/", {"q": query(alice)}))
    assert bob.pk not in _ids(api.get("/residents/", {"q": query(bob)}))


def test_by_reveal(api, alice, bob):
    assert api.post(f"/residents/{alice.pk}/reveal", {"reason": "核对"}).status_code == 200
    assert api.post(f"/residents/{bob.pk}/reveal", {"reason": "核对"}).status_code == 404
    assert AuditEvent.objects.filter(event="people.resident_reveal").count() == 1


def test_by_creating_into_the_other_building(api, tree):
    households = Household.objects.count()
    here = api.post("/residents/", _body({"building": tree.building_a1.code, "room": "909"}))
    assert here.status_code == 201
    there = api.post(
        "/residents/",
        _body({"building": tree.building_b1.code, "room": "909"}, id_number="110101199003070038"),
    )
    assert there.status_code == 400
    assert error_of(there)["field"] == "household.building"
    # Nothing was made in B: neither the resident nor an empty household.
    assert not Resident.objects.filter(area_code=tree.building_b1.code).exists()
    assert Household.objects.count() == households + 1


def test_by_registering_the_other_communitys_person_here(api, tree, bob):
    """Creating with B's ID number must not pull B's record (and its data) into A."""
    response = api.post(
        "/residents/",
        _body({"building": tree.building_a1.code, "room": "101"}, id_number=bob.id_number()),
    )
    assert response.status_code == 409
    assert error_of(response)["field"] == "id_number"
    assert "13933334444"[-4:] not in response.content.decode()
    bob.refresh_from_db()
    assert bob.area_code == tree.building_b1.code and bob.name == "李四"


def test_street_office_may_move_a_person_between_its_communities(street_user, tree, bob):
    response = api_as(street_user).post(
        "/residents/",
        _body({"building": tree.building_a1.code, "room": "101"}, "李四", bob.id_number()),
    )
    assert response.status_code == 200
    assert response.json()["outcome"] == "updated"
    bob.refresh_from_db()
    assert bob.area_code == tree.building_a1.code


@pytest.mark.parametrize("method", ["put", "patch"])
def test_by_moving_own_resident_into_the_other_building(api, tree, alice, method):
    body = _body({"building": tree.building_b1.code, "room": "101"}, alice.name, alice.id_number())
    response = getattr(api, method)(f"/residents/{alice.pk}", body)
    assert response.status_code == 400
    assert error_of(response)["field"] == "household.building"
    alice.refresh_from_db()
    assert alice.area_code == tree.building_a1.code
    # The same move inside A goes through.
    body["household"]["building"] = tree.building_a2.code
    assert getattr(api, method)(f"/residents/{alice.pk}", body).status_code == 200


@pytest.mark.parametrize("method", ["put", "patch"])
def test_by_updating_the_other_communitys_resident(api, tree, bob, method):
    body = _body({"building": tree.building_a1.code, "room": "101"}, "改名", bob.id_number())
    assert getattr(api, method)(f"/residents/{bob.pk}", body).status_code == 404
    bob.refresh_from_db()
    assert bob.name == "李四"


def test_by_reading_the_other_area(api, tree):
    assert api.get(f"/areas/{tree.community_a.code}").status_code == 200
    assert api.get(f"/areas/{tree.building_a1.code}").status_code == 200
    for code in (tree.community_b.code, tree.building_b1.code, tree.street.code):
        response = api.get(f"/areas/{code}")
        assert response.status_code == 404, code
        assert error_of(response)["code"] == "not_found"
    roots = api.get("/areas/").json()
    assert [r["code"] for r in roots] == [tree.community_a.code]


def test_by_reading_the_other_areas_zones(api, command_user, tree):
    for area in (tree.community_a, tree.community_b):
        zone_declare(actor=command_user, area=area, kind="sealed", reason="case")
    assert api.get(f"/areas/{tree.community_a.code}/zones").json()["items"]
    assert api.get(f"/areas/{tree.community_b.code}/zones").status_code == 404


def test_command_centre_of_one_community_cannot_zone_another(tree, command_user):
    officer = make_user("officer_a", "command", tree.community_a)
    officer_api = api_as(officer)
    body = {"kind": "controlled", "reason": "close contacts"}
    assert officer_api.post(f"/areas/{tree.community_a.code}/zones", body).status_code == 201
    assert officer_api.post(f"/areas/{tree.community_b.code}/zones", body).status_code == 404
    zone = zone_declare(actor=command_user, area=tree.community_b, kind="sealed", reason="case")
    lift = officer_api.post(f"/areas/zones/{zone.pk}/lift", {"reason": "x"})
    assert lift.status_code == 404
    zone.refresh_from_db()
    assert zone.lifted_at is None


def test_the_street_sees_both(street_user, alice, bob):
    assert _ids(api_as(street_user).get("/residents/")) == {alice.pk, bob.pk}


def test_grid_worker_reaches_only_the_buildings_of_their_grid(tree, alice):
    keeper = make_user("grid", "grid")
    grid_create(
        actor=SYSTEM,
        community=tree.community_a,
        name="一网格",
        keeper=keeper,
        buildings=[tree.building_a1],
    )
    neighbour = make_resident(tree.household_a2, "赵六")
    grid_api = api_as(keeper)
    assert _ids(grid_api.get("/residents/")) == {alice.pk}
    assert grid_api.get(f"/residents/{neighbour.pk}").status_code == 404
    assert [r["code"] for r in grid_api.get("/areas/").json()] == [tree.building_a1.code]
    assert grid_api.get(f"/areas/{tree.building_a2.code}").status_code == 404


def test_resident_token_sees_only_their_own_household(tree, alice, bob):
    spouse = make_resident(tree.household_a1, "张二")
    neighbour = make_resident(tree.household_a2, "邻居")
    mine = api_as(make_user("alice", "resident", resident=alice))
    assert _ids(mine.get("/residents/")) == {alice.pk, spouse.pk}
    assert _ids(mine.get("/residents/", {"q": "邻居"})) == set()
    assert _ids(mine.get("/residents/", {"household": neighbour.household_id})) == set()
    assert mine.get(f"/residents/{spouse.pk}").status_code == 200
    for other in (neighbour, bob):
        assert mine.get(f"/residents/{other.pk}").status_code == 404
    assert mine.post(f"/residents/{alice.pk}/reveal", {"reason": "核对"}).status_code == 403
    assert mine.get(f"/areas/{tree.community_a.code}").status_code == 403
    assert mine.patch(f"/residents/{alice.pk}", {"name": "改名"}).status_code == 403


def test_a_resident_user_without_a_record_sees_nobody(tree, alice):
    assert _ids(api_as(make_user("lost", "resident")).get("/residents/")) == set()
