"""The one gate every service passes: a typed actor, the role's permission, the area."""

import pytest

from fangkong.areas import services as areas
from fangkong.areas.models import Level, ZoneDesignation
from fangkong.core.actors import SYSTEM, System, command_line
from fangkong.core.errors import PermissionDenied
from fangkong.core.models import AuditEvent
from fangkong.factories import make_user, new_id_number
from fangkong.people.services import resident_register, resident_validate


def test_a_service_refuses_to_act_for_nobody(tree):
    with pytest.raises(TypeError, match="actor is required"):
        areas.zone_declare(actor=None, area=tree.community_a, kind="sealed", reason="病例")
    assert not ZoneDesignation.objects.exists()


def test_the_system_acts_under_its_name_and_the_audit_says_so(tree):
    zone = areas.zone_declare(actor=SYSTEM, area=tree.community_a, kind="sealed", reason="病例")
    assert zone.declared_by is None
    event = AuditEvent.objects.get(event="areas.zone_declare")
    assert (event.actor, event.actor_name) == (None, "system")
    assert command_line().username.startswith("cli:") and isinstance(command_line(), System)


def test_zones_are_declared_only_by_the_command_centre(tree, worker_a):
    with pytest.raises(PermissionDenied):
        areas.zone_declare(actor=worker_a, area=tree.community_a, kind="sealed", reason="病例")


def test_areas_are_added_only_inside_ones_own_jurisdiction(tree, worker_a, worker_b):
    made = areas.area_create(
        actor=worker_a,
        code=tree.community_a.code + "009",
        name="新小区",
        level=Level.COMPOUND,
        parent=tree.community_a,
    )
    assert made.parent == tree.community_a
    with pytest.raises(PermissionDenied):
        areas.area_create(
            actor=worker_b,
            code=tree.community_a.code + "010",
            name="越界小区",
            level=Level.COMPOUND,
            parent=tree.community_a,
        )


def test_a_district_is_added_only_by_the_system(tree, command_user):
    with pytest.raises(PermissionDenied):
        areas.area_create(actor=command_user, code="431103", name="冷水滩区", level=Level.DISTRICT)
    assert areas.area_create(actor=SYSTEM, code="431103", name="冷水滩区", level=Level.DISTRICT)


def test_grids_and_buildings_need_their_permission(tree, volunteer):
    with pytest.raises(PermissionDenied):
        areas.grid_create(actor=volunteer, community=tree.community_a, name="一网格")
    with pytest.raises(PermissionDenied):
        areas.building_get_or_create(actor=volunteer, compound=tree.compound_a, name="9号楼")


def test_a_volunteer_cannot_register_a_resident(tree, volunteer):
    data = resident_validate(name="王五", id_type="ID", id_number=new_id_number())
    with pytest.raises(PermissionDenied):
        resident_register(actor=volunteer, household=tree.household_a1, data=data)


def test_a_sampler_of_community_b_cannot_add_a_household_in_a(tree):
    sampler = make_user("s_b", "community", tree.community_b)
    with pytest.raises(PermissionDenied):
        areas.household_get_or_create(
            actor=sampler, building=tree.building_a1, unit="1", room="101"
        )


@pytest.mark.parametrize(
    ("event", "detail"),
    [
        ("people.resident_reveal", {}),
        ("workforce.worker_reveal", {}),
        ("relief.contact_reveal", {}),
        ("people.roster_export", {"rows": 1, "full": True}),
    ],
)
def test_no_full_view_nor_full_export_is_recorded_without_a_reason(tree, event, detail):
    from fangkong.core.audit import audit_record

    for reason in ("", "  "):
        with pytest.raises(ValueError, match="needs a reason"):
            audit_record(actor=SYSTEM, event=event, reason=reason, detail=detail)
    assert not AuditEvent.objects.exists()
    audit_record(actor=SYSTEM, event=event, reason="核对", detail=detail)
    # A masked export needs none.
    audit_record(actor=SYSTEM, event="people.roster_export", detail={"rows": 1, "full": False})
    assert AuditEvent.objects.count() == 2
