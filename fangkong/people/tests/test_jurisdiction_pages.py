"""A community worker of A must never see a resident of B, however they ask."""

import pytest
from django.urls import reverse

from fangkong.core.actors import SYSTEM
from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident, make_user
from fangkong.people.models import Resident

pytestmark = pytest.mark.django_db


def test_scoped_queryset_holds_only_own_community(worker_a, resident_a, resident_b):
    assert list(Resident.objects.for_user(worker_a)) == [resident_a]


def test_street_office_sees_both_communities(street_user, resident_a, resident_b):
    assert set(Resident.objects.for_user(street_user)) == {resident_a, resident_b}


def test_anonymous_and_inactive_users_see_nobody(worker_a, resident_a):
    from django.contrib.auth.models import AnonymousUser

    assert not Resident.objects.for_user(AnonymousUser()).exists()
    worker_a.is_active = False
    assert not Resident.objects.for_user(worker_a).exists()


def test_detail_page_of_other_community_is_not_found(client_for, worker_a, resident_b):
    response = client_for(worker_a).get(reverse("people:detail", args=[resident_b.pk]))
    assert response.status_code == 404


def _found(response, resident) -> bool:
    assert response.status_code == 200
    return reverse("people:detail", args=[resident.pk]) in response.content.decode()


def test_search_does_not_cross_communities(client_for, worker_a, resident_a, resident_b):
    client = client_for(worker_a)
    for q in ["李四", "ls", "lisi", resident_b.id_tail, resident_b.id_number()]:
        assert not _found(client.get(reverse("people:search"), {"q": q}), resident_b), q
    # The same searches find a resident of one's own community.
    for q in ["张三丰", "zsf", "zhangsan", resident_a.id_tail, resident_a.id_number()]:
        assert _found(client.get(reverse("people:search"), {"q": q}), resident_a), q


def test_area_filter_cannot_widen_the_scope(client_for, worker_a, tree, resident_b):
    response = client_for(worker_a).get(reverse("people:search"), {"area": tree.community_b.code})
    assert not _found(response, resident_b)


def test_household_filter_cannot_reach_another_community(client_for, worker_a, tree, resident_b):
    response = client_for(worker_a).get(
        reverse("people:search"), {"household": tree.household_b1.pk}
    )
    assert not _found(response, resident_b)


def test_reveal_of_other_community_is_not_found_and_not_audited(client_for, worker_a, resident_b):
    response = client_for(worker_a).post(reverse("people:reveal", args=[resident_b.pk]))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(event="people.resident_reveal").exists()


def test_area_page_of_other_community_is_not_found(client_for, worker_a, tree):
    client = client_for(worker_a)
    assert client.get(reverse("areas:detail", args=[tree.community_b.code])).status_code == 404
    assert client.get(reverse("areas:detail", args=[tree.street.code])).status_code == 404
    assert client.get(reverse("areas:detail", args=[tree.community_a.code])).status_code == 200


def test_grid_worker_sees_only_the_buildings_of_their_grid(tree):
    from fangkong.areas.services import grid_create

    keeper = make_user("grid", "grid")
    grid_create(
        actor=SYSTEM,
        community=tree.community_a,
        name="一网格",
        keeper=keeper,
        buildings=[tree.building_a1],
    )
    in_grid = make_resident(tree.household_a1, "王五")
    make_resident(tree.household_a2, "赵六")
    assert list(Resident.objects.for_user(keeper)) == [in_grid]


def test_resident_sees_only_own_household(tree):
    me = make_resident(tree.household_a1, "张一")
    spouse = make_resident(tree.household_a1, "张二")
    make_resident(tree.household_a2, "邻居")
    user = make_user("me", "resident", resident=me)
    assert set(Resident.objects.for_user(user)) == {me, spouse}


def test_volunteer_cannot_search_residents(client_for, volunteer, resident_a):
    assert client_for(volunteer).get(reverse("people:search")).status_code == 403
