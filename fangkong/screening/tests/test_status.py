"""Control statuses: history, a reason always, audited; people found registered with the
same ID rules, attached to where found; a number kept elsewhere tells nothing more."""

import datetime as dt

import pytest

from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident, make_user, new_id_number
from fangkong.screening import services
from fangkong.screening.models import ControlStatus, Person
from fangkong.screening.selectors import status_of_resident

from .conftest import at


def test_a_status_change_keeps_history_who_and_why(clock, worker_a, person_a, resident_a):
    clock.move_to(at(9, 0), tick=False)
    services.status_set(
        actor=worker_a,
        person=person_a,
        kind="home_isolation",
        reason="密接，居家隔离",
        category="secondary",
    )
    clock.move_to(at(12, 0), tick=False)
    services.status_set(actor=worker_a, person=person_a, kind="hospital", reason="发热送医")
    view = status_of_resident(resident_a.pk)
    assert view.current.kind == "hospital" and view.current.planned_end is None
    first = view.history[-1]
    assert (first.kind, first.starts_at, first.ended_at) == ("home_isolation", at(9, 0), at(12, 0))
    assert first.planned_end == at(9, 0) + dt.timedelta(days=7)
    assert first.set_by_name == "worker_a" and first.reason == "密接，居家隔离"
    events = AuditEvent.objects.filter(event="screening.status_set").order_by("id")
    assert [e.detail["to"] for e in events] == ["home_isolation", "hospital"]
    assert events[1].detail["from"] == "home_isolation" and events[1].reason == "发热送医"


def test_no_status_changes_without_a_reason(worker_a, person_a):
    with pytest.raises(DomainError) as caught:
        services.status_set(actor=worker_a, person=person_a, kind="home_isolation", reason="  ")
    assert caught.value.field == "reason"
    assert not ControlStatus.objects.exists()


def test_a_grid_worker_may_not_change_a_status_and_another_community_may_not_either(
    worker_b, person_a, tree
):
    grid = make_user("gridder", "grid", tree.community_a)
    for actor in (grid, worker_b):
        with pytest.raises(PermissionDenied):
            services.status_set(actor=actor, person=person_a, kind="home_isolation", reason="x")


def test_a_person_found_is_registered_where_found_with_the_id_rules(tree, worker_a):
    number = new_id_number(region="310115")
    reg = services.person_register(
        actor=worker_a,
        id_type="ID",
        id_number=number,
        name="外地游客",
        area=tree.compound_a,
        phone="13912345678",
        note="旅店登记",
    )
    p = reg.person
    assert reg.created and not reg.elsewhere and p.found and p.area_code == tree.compound_a.code
    assert p.id_number() == number and p.id_masked.startswith("3101") and "*" in p.id_masked
    assert p.phone() == "13912345678"
    again = services.person_register(
        actor=worker_a, id_type="ID", id_number=number, name="外地游客", area=tree.compound_a
    )
    assert again.person == p and not again.created
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    with pytest.raises(DomainError) as caught:
        services.person_register(
            actor=worker_a, id_type="ID", id_number=wrong, name="x", area=tree.compound_a
        )
    assert caught.value.field == "id_number" and "校验" in caught.value.zh


def test_a_number_kept_by_another_community_tells_only_that(tree, worker_a, resident_b):
    reg = services.person_register(
        actor=worker_a,
        id_type="ID",
        id_number=resident_b.id_number(),
        name="随便",
        area=tree.community_a,
    )
    assert reg.elsewhere and reg.person.resident_id == resident_b.pk
    assert reg.person.area_code == tree.building_b1.code  # stays theirs
    found, task = services.person_found(
        actor=worker_a,
        id_type="ID",
        id_number=resident_b.id_number(),
        name="随便",
        area=tree.community_a,
        category="risk_area",
        reason="自报来自风险地区",
    )
    assert found.elsewhere and task.area_code == tree.building_b1.code


def test_a_found_person_later_on_the_roster_is_one_person(tree, worker_a):
    number = new_id_number()
    found = services.person_register(
        actor=worker_a, id_type="ID", id_number=number, name="新住户", area=tree.compound_a
    ).person
    resident = make_resident(tree.household_a2, "新住户", id_number=number)
    linked = services.person_for_resident(resident)
    assert linked.pk == found.pk and linked.resident_id == resident.pk
    assert linked.area_code == tree.building_a2.code
    assert Person.objects.count() == 1
