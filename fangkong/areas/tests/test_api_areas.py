"""The areas API: the caller's roots, drill-down counts, zones and their history."""

import datetime as dt

import pytest

from fangkong.accounts.tests.helpers import api_as, error_of
from fangkong.areas.models import ZoneDesignation
from fangkong.areas.services import zone_declare
from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(tree):
    make_resident(tree.household_a1, "甲")
    make_resident(tree.household_a1, "乙")
    make_resident(tree.household_a2, "丙", residency="tenant")
    make_resident(tree.household_b1, "丁")


def test_roots_are_the_callers_jurisdiction_with_counts(street_user, tree, people):
    roots = api_as(street_user).get("/areas/").json()
    assert [(r["code"], r["level"]) for r in roots] == [(tree.street.code, "street")]
    assert roots[0]["counts"]["residents"] == 4
    assert roots[0]["counts"]["households"] == 3
    assert roots[0]["zone"] is None


def test_an_area_lists_its_children_with_counts(worker_a, tree, people):
    body = api_as(worker_a).get(f"/areas/{tree.compound_a.code}").json()
    assert (body["name"], body["level"], body["parent_code"]) == (
        "幸福小区",
        "compound",
        tree.community_a.code,
    )
    assert body["counts"]["residents"] == 3 and body["counts"]["tenants"] == 1
    assert [(c["code"], c["counts"]["residents"]) for c in body["children"]] == [
        (tree.building_a1.code, 2),
        (tree.building_a2.code, 1),
    ]
    # The path shows only what the caller may open: not the street above community A.
    assert [a["code"] for a in body["path"]] == [tree.community_a.code]
    assert body["households"] == []


def test_a_building_lists_its_households(worker_a, tree, people):
    body = api_as(worker_a).get(f"/areas/{tree.building_a1.code}").json()
    assert body["children"] == []
    assert body["households"] == [
        {"id": tree.household_a1.pk, "unit": "1", "room": "101", "residents": 2}
    ]


def test_unknown_area_is_404_in_the_error_shape(worker_a):
    response = api_as(worker_a).get("/areas/999999")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_residents_may_not_browse_areas(tree):
    user = make_user("r", "resident", resident=make_resident(tree.household_a1))
    response = api_as(user).get("/areas/")
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def test_zone_in_force_is_inherited_from_above(worker_a, command_user, tree):
    zone_declare(actor=command_user, area=tree.community_a, kind="controlled", reason="密接")
    body = api_as(worker_a).get(f"/areas/{tree.compound_a.code}").json()
    assert body["zone"]["kind"] == "controlled"
    assert body["zone"]["area_code"] == tree.community_a.code
    assert body["zone"]["in_force"] is True
    assert {c["zone"]["kind"] for c in body["children"]} == {"controlled"}


def test_command_centre_declares_a_zone_with_a_reason(command_user, tree):
    api = api_as(command_user)
    response = api.post(
        f"/areas/{tree.building_a1.code}/zones",
        {"kind": "sealed", "reason": "阳性病例居住楼栋", "ends_at": "2099-01-01T00:00:00"},
    )
    assert response.status_code == 201
    zone = response.json()
    assert (zone["kind"], zone["declared_by"], zone["in_force"]) == ("sealed", "command", True)
    # A time without an offset is read in the deployment's zone, Asia/Shanghai.
    assert dt.datetime.fromisoformat(zone["ends_at"]) == dt.datetime(
        2098, 12, 31, 16, tzinfo=dt.UTC
    )
    event = AuditEvent.objects.get(event="areas.zone_declare")
    assert event.reason == "阳性病例居住楼栋" and event.actor == command_user
    body = api.get(f"/areas/{tree.building_a1.code}").json()
    assert body["zone"]["id"] == zone["id"]


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_zone_needs_a_reason(command_user, tree, reason):
    response = api_as(command_user).post(
        f"/areas/{tree.community_a.code}/zones", {"kind": "sealed", "reason": reason}
    )
    assert response.status_code == 400
    assert error_of(response)["field"] == "reason"
    assert not ZoneDesignation.objects.exists()


def test_a_zone_cannot_end_before_it_starts(command_user, tree):
    response = api_as(command_user).post(
        f"/areas/{tree.community_a.code}/zones",
        {
            "kind": "sealed",
            "reason": "x",
            "starts_at": "2022-04-02T00:00:00+08:00",
            "ends_at": "2022-04-01T00:00:00+08:00",
        },
    )
    assert response.status_code == 400
    assert error_of(response)["field"] == "ends_at"


@pytest.mark.parametrize("persona", ["street_user", "worker_a", "volunteer"])
def test_only_the_command_centre_declares_or_lifts(request, command_user, tree, persona):
    api = api_as(request.getfixturevalue(persona))
    declare = api.post(f"/areas/{tree.community_a.code}/zones", {"kind": "sealed", "reason": "x"})
    assert declare.status_code == 403
    zone = zone_declare(actor=command_user, area=tree.community_a, kind="sealed", reason="x")
    lift = api.post(f"/areas/zones/{zone.pk}/lift", {"reason": "解封"})
    assert lift.status_code == 403
    zone.refresh_from_db()
    assert zone.lifted_at is None


def test_lift_needs_a_reason_and_keeps_the_history(command_user, worker_a, tree):
    api = api_as(command_user)
    zone = zone_declare(actor=command_user, area=tree.community_a, kind="sealed", reason="病例")
    missing = api.post(f"/areas/zones/{zone.pk}/lift", {"reason": " "})
    assert missing.status_code == 400 and error_of(missing)["field"] == "reason"
    assert api.post(f"/areas/zones/{zone.pk}/lift", {}).status_code == 422

    lifted = api.post(f"/areas/zones/{zone.pk}/lift", {"reason": "连续14天无新增"})
    assert lifted.status_code == 200
    assert (lifted.json()["lifted_by"], lifted.json()["in_force"]) == ("command", False)
    again = api.post(f"/areas/zones/{zone.pk}/lift", {"reason": "again"})
    assert again.status_code == 400

    history = api_as(worker_a).get(f"/areas/{tree.community_a.code}/zones").json()
    assert [(z["id"], z["lift_reason"]) for z in history["items"]] == [(zone.pk, "连续14天无新增")]
    assert history["has_next"] is False
    assert api.get(f"/areas/{tree.community_a.code}").json()["zone"] is None


def test_lifting_an_unknown_zone_is_404(command_user):
    response = api_as(command_user).post("/areas/zones/999999/lift", {"reason": "x"})
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_a_new_zone_supersedes_the_one_in_force(command_user, tree):
    api = api_as(command_user)
    path = f"/areas/{tree.community_a.code}/zones"
    api.post(path, {"kind": "sealed", "reason": "病例"})
    api.post(path, {"kind": "controlled", "reason": "降级"})
    items = api.get(path).json()["items"]
    assert [(z["kind"], z["in_force"]) for z in items] == [("controlled", True), ("sealed", False)]
