"""Setting up the area tree: add, rename, move, retire, grids; each checks the role and
the jurisdiction, refuses bad input in both languages, and is audited."""

import pytest

from fangkong.areas import selectors, services
from fangkong.areas.models import Area, Grid, Household, Level
from fangkong.core.actors import SYSTEM
from fangkong.core.errors import Conflict, DomainError, PermissionDenied
from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident, make_user

pytestmark = pytest.mark.django_db


def _events(name):
    return list(AuditEvent.objects.filter(event=name))


# Add --------------------------------------------------------------------------------


def test_a_street_office_adds_a_community_with_the_next_free_code(street_user, tree):
    community = services.area_create(actor=street_user, parent=tree.street, name=" 北门 社区 ")
    assert community.code == tree.street.code + "003"
    assert (community.level, community.name) == (Level.COMMUNITY, "北门 社区")
    [event] = _events("areas.area_create")
    assert (event.actor, event.area_code) == (street_user, community.code)


def test_a_community_worker_cannot_add_outside_their_community(worker_a, tree):
    with pytest.raises(PermissionDenied):
        services.area_create(actor=worker_a, parent=tree.community_b, name="越界小区")
    with pytest.raises(PermissionDenied):
        services.area_create(actor=worker_a, parent=tree.street, name="越界社区")
    assert not Area.objects.filter(name__startswith="越界").exists()


def test_roles_without_the_right_cannot_add(tree, volunteer):
    with pytest.raises(PermissionDenied):
        services.area_create(actor=volunteer, parent=tree.community_a, name="志愿者小区")


def test_names_are_required_short_and_unique_among_siblings(worker_a, tree):
    with pytest.raises(DomainError, match="name is empty") as empty:
        services.area_create(actor=worker_a, parent=tree.community_a, name="  ")
    assert empty.value.zh == "名称为空" and empty.value.field == "name"
    with pytest.raises(DomainError, match="too long"):
        services.area_create(actor=worker_a, parent=tree.community_a, name="长" * 101)
    with pytest.raises(DomainError, match="same parent is named") as twin:
        services.area_create(actor=worker_a, parent=tree.community_a, name="幸福小区")
    assert "幸福小区" in twin.value.zh
    with pytest.raises(DomainError, match="nothing goes below a building"):
        services.area_create(actor=worker_a, parent=tree.building_a1, name="地下室")


# Rename -------------------------------------------------------------------------------


def test_renaming_keeps_the_code_and_records_both_names(worker_a, tree):
    assert services.area_rename(
        actor=worker_a, area=tree.compound_a, name="幸福家园", reason="更名"
    )
    tree.compound_a.refresh_from_db()
    assert (tree.compound_a.name, tree.compound_a.code) == ("幸福家园", "431102001001001")
    [event] = _events("areas.area_rename")
    assert event.detail == {"from": "幸福小区", "to": "幸福家园"} and event.reason == "更名"
    # The same name again changes nothing and writes nothing.
    assert not services.area_rename(actor=worker_a, area=tree.compound_a, name="幸福家园")
    assert len(_events("areas.area_rename")) == 1


def test_one_cannot_rename_the_area_one_holds_or_one_outside(worker_a, tree):
    with pytest.raises(PermissionDenied):  # the street office renames a community
        services.area_rename(actor=worker_a, area=tree.community_a, name="东风新社区")
    with pytest.raises(PermissionDenied):
        services.area_rename(actor=worker_a, area=tree.compound_b, name="和平家园")


# Move ---------------------------------------------------------------------------------


def test_an_empty_compound_moves_to_another_community_with_new_codes(street_user, tree):
    empty = services.area_create(actor=street_user, parent=tree.community_a, name="新建小区")
    building = services.area_create(actor=street_user, parent=empty, name="1栋")
    old = empty.code
    moved = services.area_move(
        actor=street_user, area=empty, parent=tree.community_b, reason="划错社区"
    )
    building.refresh_from_db()
    assert moved.parent == tree.community_b and moved.code == tree.community_b.code + "002"
    assert building.code == moved.code + "001"
    assert not Area.objects.filter(code__startswith=old).exists()
    events = _events("areas.area_move")
    assert {e.area_code for e in events} == {moved.code, tree.community_a.code}
    assert all(e.detail["from"] == old and e.reason == "划错社区" for e in events)


def test_an_area_with_households_does_not_move(street_user, tree):
    with pytest.raises(Conflict, match="cannot move") as refused:
        services.area_move(
            actor=street_user, area=tree.compound_a, parent=tree.community_b, reason="调整"
        )
    assert "areas.household" in refused.value.en and "不能移动" in refused.value.zh
    tree.compound_a.refresh_from_db()
    assert tree.compound_a.parent == tree.community_a


def test_an_area_with_a_zone_or_a_gridded_building_does_not_move(command_user, street_user, tree):
    empty = services.area_create(actor=street_user, parent=tree.community_a, name="空小区")
    building = services.area_create(actor=street_user, parent=empty, name="1栋")
    services.grid_create(
        actor=street_user, community=tree.community_a, name="一网格", buildings=[building]
    )
    with pytest.raises(Conflict, match="grid"):
        services.area_move(actor=street_user, area=empty, parent=tree.community_b, reason="x")
    Grid.objects.all().delete()
    services.zone_declare(actor=command_user, area=building, kind="controlled", reason="病例")
    with pytest.raises(Conflict, match="areas.zonedesignation"):
        services.area_move(actor=street_user, area=empty, parent=tree.community_b, reason="x")


def test_an_area_with_a_sampling_site_does_not_move(street_user, tree):
    from fangkong.testing.models import SamplingSite

    empty = services.area_create(actor=street_user, parent=tree.community_a, name="空小区")
    SamplingSite.objects.create(area=empty, name="临时采样点")
    with pytest.raises(Conflict, match="testing.samplingsite"):
        services.area_move(actor=street_user, area=empty, parent=tree.community_b, reason="x")


def test_moving_needs_both_places_in_ones_jurisdiction(worker_a, street_user, tree):
    empty = services.area_create(actor=street_user, parent=tree.community_a, name="空小区")
    with pytest.raises(PermissionDenied):
        services.area_move(actor=worker_a, area=empty, parent=tree.community_b, reason="x")
    with pytest.raises(DomainError, match="one level up"):
        services.area_move(actor=street_user, area=empty, parent=tree.street, reason="x")
    with pytest.raises(DomainError, match="reason"):
        services.area_move(actor=street_user, area=empty, parent=tree.community_b, reason=" ")


def test_records_under_asks_every_app_with_an_indexed_area_code(tree):
    assert "areas.household" in services.records_under(tree.community_a.code)
    assert services.records_under(tree.community_a.code + "999") == []


# Retire -------------------------------------------------------------------------------


def test_retiring_hides_an_empty_subtree_and_frees_nothing(worker_a, tree):
    empty = services.area_create(actor=worker_a, parent=tree.community_a, name="拆迁小区")
    building = services.area_create(actor=worker_a, parent=empty, name="1栋")
    grid = services.grid_create(
        actor=worker_a, community=tree.community_a, name="一网格", buildings=[building]
    )
    assert services.area_retire(actor=worker_a, area=empty, reason="拆迁") == 2
    assert empty not in selectors.active_children(tree.community_a)
    assert empty.code not in [r.area.code for r in selectors.area_children(tree.community_a)]
    assert list(grid.buildings.all()) == []
    # Its code stays taken: the next compound gets a new one.
    again = services.area_create(actor=worker_a, parent=tree.community_a, name="拆迁小区")
    assert again.code != empty.code
    [event] = _events("areas.area_retire")
    assert event.reason == "拆迁" and event.detail == {"areas": 2}
    with pytest.raises(DomainError, match="retired"):
        services.area_create(actor=worker_a, parent=Area.objects.get(pk=empty.pk), name="x")


def test_an_area_with_people_is_not_retired(worker_a, tree):
    make_resident(tree.household_a1)
    with pytest.raises(Conflict, match="households are still registered"):
        services.area_retire(actor=worker_a, area=tree.compound_a, reason="拆迁")
    assert Area.objects.active().filter(pk=tree.compound_a.pk).exists()
    assert Household.objects.filter(pk=tree.household_a1.pk).exists()


# Grids --------------------------------------------------------------------------------


def test_a_grid_gets_buildings_and_a_keeper_who_then_sees_them(worker_a, tree):
    keeper = make_user("grid_a", "grid", tree.compound_a)
    grid = services.grid_create(actor=worker_a, community=tree.community_a, name="一网格")
    changed = services.grid_update(
        actor=worker_a, grid=grid, name="第一网格", keeper=keeper, buildings=[tree.building_a1]
    )
    assert set(changed) == {"name", "keeper", "buildings"}
    keeper = type(keeper).objects.get(pk=keeper.pk)
    assert keeper.may_see_area(tree.building_a1.code)
    event = AuditEvent.objects.get(event="areas.grid_update")
    assert event.detail["keeper"] == [None, "grid_a"]
    assert event.detail["buildings"] == [[], [tree.building_a1.code]]
    assert (
        services.grid_update(
            actor=worker_a, grid=grid, name="第一网格", keeper=keeper, buildings=[tree.building_a1]
        )
        == []
    )


def test_a_grid_keeps_to_its_community(worker_a, worker_b, tree):
    outsider = make_user("grid_b", "grid", tree.community_b)
    volunteer = make_user("vol", "worker", tree.community_a)
    grid = services.grid_create(actor=worker_a, community=tree.community_a, name="一网格")
    with pytest.raises(DomainError, match="in its community"):
        services.grid_update(
            actor=worker_a, grid=grid, name="一网格", keeper=None, buildings=[tree.building_b1]
        )
    with pytest.raises(DomainError, match="belong to this community"):
        services.grid_update(
            actor=worker_a, grid=grid, name="一网格", keeper=outsider, buildings=[]
        )
    with pytest.raises(DomainError, match="grid worker"):
        services.grid_update(
            actor=worker_a, grid=grid, name="一网格", keeper=volunteer, buildings=[]
        )
    with pytest.raises(PermissionDenied):
        services.grid_update(actor=worker_b, grid=grid, name="抢", keeper=None, buildings=[])
    with pytest.raises(DomainError, match="has a grid named"):
        services.grid_create(actor=worker_a, community=tree.community_a, name="一网格")


def test_the_scoped_grid_lookup_lets_in_the_community_and_the_keeper_only(worker_a, worker_b, tree):
    keeper = make_user("grid_a", "grid")
    grid = services.grid_create(actor=SYSTEM, community=tree.community_a, name="一网格")
    Grid.objects.filter(pk=grid.pk).update(keeper=keeper)
    assert list(Grid.objects.for_user(worker_a)) == [grid]
    assert list(Grid.objects.for_user(keeper)) == [grid]
    assert list(Grid.objects.for_user(worker_b)) == []
