"""A resident's page: edit address, tags and phone (audited); key populations by tag,
counted from the building statistics and linked to their lists; registering a resident."""

import datetime as dt

import pytest
from django.urls import reverse

from fangkong.accounts.services import token_issue
from fangkong.core.actors import SYSTEM
from fangkong.core.errors import PermissionDenied
from fangkong.core.idnumbers import IdType
from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident
from fangkong.people import selectors, services
from fangkong.people.models import Resident, Tag

pytestmark = pytest.mark.django_db


def test_editing_changes_address_tags_and_phone_and_is_audited(client_for, worker_a, tree):
    resident = make_resident(tree.household_a1, "张三丰")
    client = client_for(worker_a)
    form = client.get(reverse("people:edit", args=[resident.pk])).content.decode()
    assert resident.phone() not in form  # the full number is never put in the form
    response = client.post(
        reverse("people:edit", args=[resident.pk]),
        {
            "building": tree.building_a2.code,
            "unit": "3",
            "room": "301",
            "tags": ["bedridden", "no_smartphone"],
            "phone": "13900139000",
            "reason": "入户核实",
        },
    )
    assert response.url == reverse("people:detail", args=[resident.pk])
    resident.refresh_from_db()
    assert (resident.household.building, resident.household.room) == (tree.building_a2, "301")
    assert resident.tags == Tag.BEDRIDDEN | Tag.NO_SMARTPHONE
    assert resident.phone() == "13900139000" and resident.name == "张三丰"
    event = AuditEvent.objects.get(event="people.resident_update")
    assert event.reason == "入户核实" and event.actor == worker_a
    assert {"household_id", "tags", "phone_hash"} <= set(event.detail["fields"])


def test_an_empty_phone_keeps_the_number_and_a_bad_one_is_named(client_for, worker_a, tree):
    resident = make_resident(tree.household_a1, "张三丰")
    client = client_for(worker_a)
    base = {"building": tree.building_a1.code, "unit": "1", "room": "101", "tags": []}
    client.post(reverse("people:edit", args=[resident.pk]), {**base, "phone": ""})
    resident.refresh_from_db()
    assert resident.phone() == "13800138000"
    bad = client.post(reverse("people:edit", args=[resident.pk]), {**base, "phone": "12"})
    assert bad.status_code == 400 and "phone" in bad.context["form"].errors


def test_edits_stay_inside_the_jurisdiction(client_for, worker_a, tree):
    resident = make_resident(tree.household_a1, "张三丰")
    other = make_resident(tree.household_b1, "李四")
    client = client_for(worker_a)
    assert client.get(reverse("people:edit", args=[other.pk])).status_code == 404
    moved = client.post(
        reverse("people:edit", args=[resident.pk]),
        {"building": tree.building_b1.code, "unit": "1", "room": "999", "tags": []},
    )
    assert moved.status_code == 400 and "building" in moved.context["form"].errors
    resident.refresh_from_db()
    assert resident.area_code == tree.building_a1.code


def test_the_edit_service_checks_the_role(volunteer, tree):
    resident = make_resident(tree.household_a1, "张三丰")
    with pytest.raises(PermissionDenied):
        services.resident_edit(
            actor=volunteer, resident=resident, household=tree.household_a1, tags=0
        )


def test_the_register_page_registers_a_resident(client_for, worker_a, tree):
    from fangkong.factories import new_id_number

    number = new_id_number()
    response = client_for(worker_a).post(
        reverse("people:register"),
        {
            "name": "王大爷",
            "id_type": IdType.MAINLAND,
            "id_number": number,
            "phone": "",
            "residency": "permanent",
            "building": tree.building_a1.code,
            "unit": "1",
            "room": "102",
            "tags": ["living_alone"],
        },
    )
    resident = Resident.objects.get(name="王大爷")
    assert response.url == reverse("people:detail", args=[resident.pk])
    assert resident.has_tag(Tag.LIVING_ALONE) and resident.household.room == "102"


# Key populations ---------------------------------------------------------------------


@pytest.fixture
def populations(tree):
    old = dt.date(1945, 1, 1)
    make_resident(tree.household_a1, "甲", birth=old, tags=Tag.LIVING_ALONE)
    make_resident(tree.household_a1, "乙", birth=old)
    make_resident(tree.household_a2, "丙", tags=Tag.BEDRIDDEN)
    make_resident(tree.household_b1, "丁", birth=old, tags=Tag.LIVING_ALONE | Tag.BEDRIDDEN)


def _counts(user, area=None) -> dict[str, int]:
    return {c.key: c.count for c in selectors.tag_counts(user, area)}


def test_counts_by_tag_come_from_the_statistics_and_stay_in_scope(
    populations, worker_a, street_user, tree
):
    mine = _counts(worker_a)
    assert (mine["aged_70"], mine["aged_70_alone"], mine["bedridden"]) == (2, 1, 1)
    street = _counts(street_user)
    assert (street["aged_70"], street["aged_70_alone"], street["bedridden"]) == (3, 2, 2)
    assert _counts(street_user, tree.community_b)["bedridden"] == 1


def test_each_count_links_to_its_list(client_for, populations, worker_a, tree):
    client = client_for(worker_a)
    page = client.get(reverse("people:tags")).content.decode()
    link = f"{reverse('people:search')}?tag=aged_70_alone"
    assert link in page
    listed = client.get(reverse("people:search"), {"tag": "aged_70_alone"})
    names = [r.name for r in listed.context["page"].items]
    assert names == ["甲"]  # 丁 is 70+ and alone too, but in community B
    both = client.get(reverse("people:search"), {"tag": ["aged_70", "bedridden"]})
    assert list(both.context["page"].items) == []
    assert client.get(reverse("people:tags"), {"area": tree.community_b.code}).status_code == 404


def test_the_area_page_links_its_counts(client_for, populations, worker_a, tree):
    page = client_for(worker_a).get(reverse("areas:detail", args=[tree.community_a.code]))
    assert f"?area={tree.community_a.code}&amp;tag=bedridden" in page.content.decode()


def test_the_api_counts_and_lists_by_tag(client, populations, worker_a, tree):
    token = token_issue(actor=SYSTEM, user=worker_a)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    counts = client.get("/api/v1/residents/tags", **auth).json()
    assert {c["key"]: c["count"] for c in counts}["aged_70_alone"] == 1
    listed = client.get("/api/v1/residents/", {"tag": "aged_70_alone"}, **auth).json()
    assert [r["name"] for r in listed["items"]] == ["甲"]
    bad = client.get("/api/v1/residents/", {"tag": "nonsense"}, **auth)
    assert bad.status_code == 422
    outside = client.get("/api/v1/residents/tags", {"area": tree.community_b.code}, **auth)
    assert outside.status_code == 404
