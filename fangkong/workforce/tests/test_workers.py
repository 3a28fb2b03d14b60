"""Registering workers: validated and encrypted like residents, one per ID number,
linked to a resident record when there is one; status changes with who and why."""

import datetime as dt

import pytest
from django.utils import timezone

from fangkong.core.actors import SYSTEM
from fangkong.core.errors import Conflict, DomainError, PermissionDenied
from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident, new_id_number
from fangkong.workforce import services
from fangkong.workforce.models import StatusChange, Worker, WorkerKind, WorkerStatus

from .conftest import make_worker, phone


def test_a_registered_worker_keeps_numbers_encrypted_and_masked(world, health):
    number = new_id_number()
    data = services.worker_validate(
        name=" 李 明 ",
        id_number=number,
        phone="138-0013-8001",
        home_community=world.community_a.code,
        organ=health.pk,
        skills=["medical", "drive_c1"],
        nights=True,
    )
    worker = services.worker_register(actor=SYSTEM, data=data)
    stored = Worker.objects.get(pk=worker.pk)
    assert number.encode() not in bytes(stored.id_cipher)
    assert stored.id_masked == number[:4] + "*" * 10 + number[-4:]
    assert stored.phone_masked == "138****8001"
    assert stored.id_number() == number and stored.phone() == "13800138001"
    assert stored.kind == WorkerKind.CADRE and stored.nights
    assert sorted(stored.skills.values_list("code", flat=True)) == ["drive_c1", "medical"]
    assert stored.area_code == world.community_a.code
    assert (stored.lat, stored.lon) == (26.21, 111.60)
    assert AuditEvent.objects.filter(
        event="workforce.worker_create", target_id=str(worker.pk)
    ).exists()


def test_one_worker_per_id_number_and_the_refusal_says_nothing_of_the_record(world):
    number = new_id_number()
    first = services.worker_validate(
        name="甲", id_number=number, phone=phone(), home_community=world.community_a.code
    )
    services.worker_register(actor=SYSTEM, data=first)
    again = services.worker_validate(
        name="乙", id_number=number, phone=phone(), home_community=world.community_b.code
    )
    with pytest.raises(Conflict) as exc:
        services.worker_register(actor=SYSTEM, data=again)
    assert exc.value.field == "id_number"
    assert "甲" not in str(exc.value) and world.community_a.name not in str(exc.value)
    assert Worker.objects.count() == 1


def test_a_worker_who_is_a_resident_is_linked_not_duplicated(world):
    number = new_id_number()
    resident = make_resident(world.household_b1, "孙八", id_number=number)
    worker = make_worker(world.community_a, "孙八", actor=SYSTEM)
    assert worker.resident_id is None  # another number
    data = services.worker_validate(
        name="孙八", id_number=number, phone=phone(), home_community=world.community_b.code
    )
    linked = services.worker_register(actor=SYSTEM, data=data)
    assert linked.resident_id == resident.pk
    from fangkong.people.models import Resident

    assert Resident.objects.count() == 1


@pytest.mark.parametrize(
    "field,value",
    [
        ("id_number", "43110219850517001Y"),
        ("phone", "12345"),
        ("home_community", "999999999999"),
        ("skills", ["flying"]),
        ("name", "  "),
    ],
)
def test_bad_registrations_name_the_field_in_both_languages(world, field, value):
    fields = {
        "name": "周九",
        "id_number": new_id_number(),
        "phone": phone(),
        "home_community": world.community_a.code,
        "skills": [],
    }
    fields[field] = value
    with pytest.raises(DomainError) as exc:
        services.worker_validate(**fields)
    assert exc.value.field == field
    assert exc.value.zh and exc.value.en


def test_a_stranded_worker_enrols_where_they_are(world):
    data = services.worker_validate(
        name="吴十", id_number=new_id_number(), phone=phone(), home_community=world.community_b.code
    )
    worker = services.worker_register(actor=SYSTEM, data=data, enrol_at=world.community_a)
    worker.refresh_from_db()
    assert worker.home_code == world.community_b.code
    assert worker.area_code == world.community_a.code
    assert worker.enrollments.get().status == "pending"


def test_registration_with_a_password_makes_a_worker_login(world):
    worker = make_worker(world.community_a, password="long-enough")
    assert worker.user.role == "worker"
    assert worker.user.username == worker.phone()
    assert worker.user.check_password("long-enough")


def test_a_liaison_registers_the_organs_own_staff_only(world, health, education, liaison):
    ok = make_worker(world.community_b, "郑一", organ=health, actor=liaison)
    assert ok.organ == health
    with pytest.raises(PermissionDenied):
        make_worker(world.community_b, "郑二", organ=education, actor=liaison)


def test_an_ordinary_worker_cannot_register_others(world, cadre):
    with pytest.raises(PermissionDenied):
        make_worker(world.community_a, "冯三", actor=cadre.user)


def test_a_community_registers_people_of_its_own_community_only(world, worker_a):
    make_worker(world.community_a, "陈四", actor=worker_a)
    with pytest.raises(PermissionDenied):
        make_worker(world.community_b, "陈五", actor=worker_a)


def test_full_numbers_need_a_reason_and_are_audited(world, cadre, worker_a, worker_b):
    with pytest.raises(DomainError):
        services.worker_reveal(actor=worker_a, worker=cadre, reason=" ")
    shown = services.worker_reveal(actor=worker_a, worker=cadre, reason="联系到岗")
    assert shown["id_number"] == cadre.id_number()
    event = AuditEvent.objects.get(event="workforce.worker_reveal")
    assert event.reason == "联系到岗" and event.actor == worker_a
    with pytest.raises(PermissionDenied):
        services.worker_reveal(actor=worker_b, worker=cadre, reason="看看")


def test_quarantine_is_recorded_with_who_why_and_until(world, cadre, worker_a):
    until = timezone.now() + dt.timedelta(days=7)
    services.worker_set_status(
        actor=worker_a, worker=cadre, status="close_contact", reason="密接，集中隔离", until=until
    )
    cadre.refresh_from_db()
    assert cadre.status == WorkerStatus.CLOSE_CONTACT and cadre.status_until == until
    change = StatusChange.objects.get(worker=cadre)
    assert change.by == worker_a and change.reason == "密接，集中隔离"
    with pytest.raises(DomainError):
        services.worker_set_status(actor=worker_a, worker=cadre, status="available", reason="")
    services.worker_set_status(actor=worker_a, worker=cadre, status="available", reason="解除隔离")
    cadre.refresh_from_db()
    assert cadre.status == WorkerStatus.AVAILABLE and cadre.status_until is None
    assert AuditEvent.objects.filter(event="workforce.worker_status_set").count() == 2


def test_a_worker_reports_themself_sick_but_not_released_from_quarantine(world, cadre):
    until = timezone.now() + dt.timedelta(days=2)
    services.worker_set_status(
        actor=cadre.user, worker=cadre, status="sick", reason="发烧", until=until
    )
    with pytest.raises(PermissionDenied):
        services.worker_set_status(
            actor=cadre.user, worker=cadre, status="close_contact", reason="x", until=until
        )


def test_statuses_end_when_recorded(world, cadre, worker_a, clock):
    until = timezone.now() + dt.timedelta(hours=3)
    services.worker_set_status(
        actor=worker_a, worker=cadre, status="sick", reason="发烧", until=until
    )
    assert services.statuses_expire(actor=SYSTEM) == 0
    clock.shift(3 * 3600 + 1)
    assert services.statuses_expire(actor=SYSTEM) == 1
    assert services.statuses_expire(actor=SYSTEM) == 0
    cadre.refresh_from_db()
    assert cadre.status == WorkerStatus.AVAILABLE


def test_a_worker_enrolled_by_the_organ_takes_a_login_with_the_same_phone(world, health, liaison):
    number, mobile = new_id_number(), phone()
    data = services.worker_validate(
        name="吕七",
        id_number=number,
        phone=mobile,
        home_community=world.community_a.code,
        organ=health.pk,
    )
    enrolled = services.worker_register(actor=liaison, data=data)
    assert enrolled.user_id is None
    mine = services.worker_validate(
        name="吕七", id_number=number, phone=mobile, home_community=world.community_a.code
    )
    claimed = services.worker_register(actor=SYSTEM, data=mine, password="Wk7-my-own-login")
    assert claimed.pk == enrolled.pk and claimed.user.check_password("Wk7-my-own-login")
    assert Worker.objects.get().organ == health  # nothing else changes
    # Another phone (someone else who knows the ID number) gets nothing.
    other = services.worker_validate(
        name="吕七", id_number=number, phone=phone(), home_community=world.community_a.code
    )
    with pytest.raises(Conflict):
        services.worker_register(actor=SYSTEM, data=other, password="Wk7-my-own-login")


def test_a_weak_password_is_refused_in_both_languages(world):
    with pytest.raises(DomainError) as exc:
        make_worker(world.community_a, password="12345678")
    assert exc.value.field == "password" and exc.value.zh and exc.value.en
    assert not Worker.objects.exists()


def test_every_bad_field_of_a_registration_is_named_at_once(world):
    from fangkong.workforce.services import WorkerInvalid

    with pytest.raises(WorkerInvalid) as caught:
        services.worker_validate(
            name="",
            id_number="123",
            phone="12345",
            home_community="000000000000",
            day_from=dt.time(9, tzinfo=dt.UTC),  # an offset is dropped, not compared
            day_until=dt.time(8),
        )
    fields = [p.field for p in caught.value.problems]
    assert fields == ["name", "id_number", "phone", "home_community", "day_until"]
    assert caught.value.field == "name" and "；" in caught.value.zh
