import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from fangkong.areas import selectors, services
from fangkong.areas.models import Area, Level, ZoneDesignation, ZoneKind
from fangkong.core.actors import SYSTEM
from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident, make_user
from fangkong.people.models import Tag

pytestmark = pytest.mark.django_db


def test_subtree_is_one_prefix_query(tree, django_assert_num_queries):
    with django_assert_num_queries(1):
        codes = set(Area.objects.within(tree.community_a).values_list("code", flat=True))
    assert codes == {
        tree.community_a.code,
        tree.compound_a.code,
        tree.building_a1.code,
        tree.building_a2.code,
    }


def test_area_codes_must_extend_the_parent(command_user, tree):
    with pytest.raises(DomainError, match="start with its parent"):
        services.area_create(
            actor=command_user,
            code="431102002001001",
            name="错",
            level=Level.COMPOUND,
            parent=tree.community_a,
        )
    with pytest.raises(DomainError, match="15 digits"):
        services.area_create(
            actor=command_user,
            code="4311",
            name="错",
            level=Level.COMPOUND,
            parent=tree.community_a,
        )
    with pytest.raises(DomainError, match="one level up"):
        services.area_create(
            actor=command_user,
            code=tree.community_a.code + "009001",
            name="错",
            level=Level.BUILDING,
            parent=tree.community_a,
        )


def test_new_buildings_take_the_next_free_code(tree):
    building, created = services.building_get_or_create(
        actor=SYSTEM, compound=tree.compound_a, name="3号楼"
    )
    assert created and building.code == tree.compound_a.code + "003"
    again, created = services.building_get_or_create(
        actor=SYSTEM, compound=tree.compound_a, name="3号楼"
    )
    assert not created and again == building


def test_declaring_a_zone_needs_a_reason_and_keeps_history(command_user, tree):
    with pytest.raises(DomainError, match="reason"):
        services.zone_declare(
            actor=command_user, area=tree.compound_a, kind=ZoneKind.SEALED, reason=" "
        )
    first = services.zone_declare(
        actor=command_user, area=tree.compound_a, kind=ZoneKind.SEALED, reason="病例居住地"
    )
    second = services.zone_declare(
        actor=command_user, area=tree.compound_a, kind=ZoneKind.CONTROLLED, reason="7天无新增"
    )
    first.refresh_from_db()
    assert first.lifted_at is not None and "superseded" in first.lift_reason
    assert list(ZoneDesignation.objects.filter(area=tree.compound_a).active()) == [second]
    assert ZoneDesignation.objects.filter(area=tree.compound_a).count() == 2
    events = list(
        AuditEvent.objects.filter(area_code=tree.compound_a.code).values_list("event", "reason")
    )
    assert ("areas.zone_declare", "病例居住地") in events and (
        "areas.zone_lift",
        "superseded: 7天无新增",
    ) in events


def test_lifting_needs_a_reason(command_user, tree):
    zone = services.zone_declare(
        actor=command_user, area=tree.building_a1, kind=ZoneKind.SEALED, reason="x"
    )
    with pytest.raises(DomainError):
        services.zone_lift(actor=command_user, zone=zone, reason="")
    services.zone_lift(actor=command_user, zone=zone, reason="解封")
    assert selectors.zone_in_force(tree.building_a1) is None


def test_zone_outside_jurisdiction_is_refused(worker_a, tree):
    with pytest.raises(PermissionDenied):
        services.zone_declare(
            actor=worker_a, area=tree.community_b, kind=ZoneKind.SEALED, reason="x"
        )


def test_the_most_specific_active_zone_is_in_force(command_user, tree):
    services.zone_declare(
        actor=command_user, area=tree.community_a, kind=ZoneKind.CONTROLLED, reason="a"
    )
    services.zone_declare(
        actor=command_user, area=tree.building_a1, kind=ZoneKind.SEALED, reason="b"
    )
    assert selectors.zone_in_force(tree.building_a1).kind == ZoneKind.SEALED
    assert selectors.zone_in_force(tree.building_a2).kind == ZoneKind.CONTROLLED
    assert selectors.zone_in_force(tree.community_b) is None


def test_a_zone_that_has_ended_is_not_in_force(command_user, tree):
    start = timezone.now() - dt.timedelta(days=3)
    services.zone_declare(
        actor=command_user,
        area=tree.building_a1,
        kind=ZoneKind.SEALED,
        reason="x",
        starts_at=start,
        ends_at=start + dt.timedelta(days=1),
    )
    assert selectors.zone_in_force(tree.building_a1) is None


def test_children_counts_come_from_building_stats(tree):
    make_resident(tree.household_a1, "老人", birth=dt.date(1940, 1, 1), tags=Tag.LIVING_ALONE)
    make_resident(tree.household_a1, "卧床", birth=dt.date(1950, 1, 1), tags=Tag.BEDRIDDEN)
    make_resident(tree.household_a2, "租户", residency="tenant")
    rows = {row.area.code: row.counts for row in selectors.area_children(tree.compound_a)}
    assert rows[tree.building_a1.code]["residents"] == 2
    assert rows[tree.building_a1.code]["aged_70"] == 2
    assert rows[tree.building_a1.code]["living_alone"] == 1
    assert rows[tree.building_a1.code]["bedridden"] == 1
    assert rows[tree.building_a2.code]["tenants"] == 1
    totals = selectors.area_totals(tree.street)
    assert totals["residents"] == 3 and totals["households"] == 2


def test_area_page_drills_down_and_shows_counts(client_for, worker_a, tree):
    make_resident(tree.household_a1, "张三")
    client = client_for(worker_a)
    response = client.get(reverse("areas:browse"))
    assert response.status_code == 302 and response.url == reverse(
        "areas:detail", args=[tree.community_a.code]
    )
    page = client.get(response.url).content.decode()
    assert tree.compound_a.name in page
    assert reverse("areas:detail", args=[tree.compound_a.code]) in page
    building = client.get(reverse("areas:detail", args=[tree.building_a1.code])).content.decode()
    assert "101" in building


def test_only_the_command_centre_declares_zones_on_pages(client_for, worker_a, command_user, tree):
    url = reverse("areas:zone_declare", args=[tree.compound_a.code])
    assert client_for(worker_a).post(url, {"kind": "sealed", "reason": "x"}).status_code == 403
    response = client_for(command_user).post(url, {"kind": "sealed", "reason": "病例"})
    assert response.status_code == 302
    assert selectors.zone_in_force(tree.compound_a).reason == "病例"


def test_rooms_sort_as_numbers_and_addresses_name_the_compound(tree):
    from fangkong.areas.models import Household
    from fangkong.areas.selectors import building_households

    for room in ("1002", "102", "99", "A3"):
        Household.objects.create(building=tree.building_a2, unit="1", room=room)
    keeper = make_user("keeper", "community", tree.community_a)
    rooms = [h.room for h in building_households(tree.building_a2, keeper) if h.unit == "1"]
    assert rooms.index("99") < rooms.index("102") < rooms.index("1002")
    household = Household.objects.select_related("building__parent").get(
        building=tree.building_a2, room="102"
    )
    assert str(household).startswith(tree.compound_a.name + tree.building_a2.name)


def test_one_rule_for_the_zone_in_force_most_specific_then_latest(tree, command_user):
    now = timezone.now()

    def declare(area, kind, started_hours_ago, ends_in_hours=None):
        return ZoneDesignation.objects.create(
            area=area,
            kind=kind,
            starts_at=now - dt.timedelta(hours=started_hours_ago),
            ends_at=None if ends_in_hours is None else now + dt.timedelta(hours=ends_in_hours),
            reason="测试",
            declared_by=command_user,
        )

    declare(tree.street, ZoneKind.PREVENTION, 10)
    declare(tree.compound_a, ZoneKind.CONTROLLED, 5)
    later = declare(tree.compound_a, ZoneKind.SEALED, 2)
    ended = declare(tree.compound_b, ZoneKind.SEALED, 5, ends_in_hours=-1)
    zones = selectors.ZoneMap()
    assert (
        selectors.zone_in_force(tree.building_a1) == zones.zone_at(tree.building_a1.code) == later
    )
    assert zones.kind_at(tree.building_b1.code) == ZoneKind.PREVENTION
    assert selectors.zone_in_force(tree.building_b1).kind == ZoneKind.PREVENTION
    assert later.in_force() and not ended.in_force()
    assert zones.codes_of(ZoneKind.SEALED) == [tree.compound_a.code]
