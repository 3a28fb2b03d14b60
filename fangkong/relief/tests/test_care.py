"""Proactive care: schedules from the roster's tags, check-ins done and missed, needs
found on the spot, treatment transports made ahead, care packages."""

import datetime as dt

import pytest

from fangkong.core.actors import SYSTEM
from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.factories import make_resident, make_user
from fangkong.people.models import Tag
from fangkong.relief import services
from fangkong.relief.models import CareSchedule, CheckIn, ReliefRequest

from .conftest import SHANGHAI_DAY, local

pytestmark = pytest.mark.django_db
OLD = dt.date(1948, 6, 1)


@pytest.fixture
def vulnerable(tree):
    """In community A: a 78-year-old living alone, a bedridden man, a dialysis patient;
    and a young man living alone (not vulnerable). In B: a pregnant woman."""
    return {
        "alone": make_resident(tree.household_a1, "独居老人", birth=OLD, tags=Tag.LIVING_ALONE),
        "bedridden": make_resident(tree.household_a2, "卧床老人", tags=Tag.BEDRIDDEN),
        "dialysis": make_resident(tree.household_a2, "透析病人", tags=Tag.REGULAR_TREATMENT),
        "young": make_resident(tree.household_a1, "独居青年", tags=Tag.LIVING_ALONE),
        "pregnant": make_resident(tree.household_b1, "孕妇", tags=Tag.PREGNANT),
    }


def test_schedules_come_from_the_roster_tags_and_the_care_policy(
    worker_a, tree, vulnerable, grid_a, clock
):
    clock.move_to(local(SHANGHAI_DAY, 10), tick=False)
    counts = services.care_schedules_sync(actor=worker_a, area=tree.community_a)
    assert counts == {"created": 6, "updated": 0, "ended": 0}
    rows = {
        (s.resident.name, s.kind): s.every_days
        for s in CareSchedule.objects.select_related("resident")
    }
    assert rows == {
        ("独居老人", "call"): 1,
        ("独居老人", "visit"): 3,
        ("卧床老人", "call"): 1,
        ("卧床老人", "visit"): 2,
        ("透析病人", "call"): 1,
        ("透析病人", "visit"): 7,
    }
    assert set(CareSchedule.objects.values_list("assignee", flat=True)) == {grid_a.pk}
    assert set(CareSchedule.objects.values_list("next_due_at", flat=True)) == {
        local(SHANGHAI_DAY, 18)
    }
    # Run again: nothing new; a tag dropped ends its schedules.
    assert services.care_schedules_sync(actor=worker_a, area=tree.community_a)["created"] == 0
    vulnerable["bedridden"].tags = 0
    vulnerable["bedridden"].save()
    assert services.care_schedules_sync(actor=worker_a, area=tree.community_a)["ended"] == 2


def test_another_community_cannot_plan_our_care(worker_b, tree, vulnerable):
    with pytest.raises(PermissionDenied):
        services.care_schedules_sync(actor=worker_b, area=tree.community_a)


def test_a_check_in_done_moves_the_next_one_on(worker_a, tree, vulnerable, grid_a, clock):
    clock.move_to(local(SHANGHAI_DAY, 10), tick=False)
    services.care_schedules_sync(actor=worker_a, area=tree.community_a)
    visit = CareSchedule.objects.get(resident=vulnerable["alone"], kind="visit")
    clock.move_to(local(SHANGHAI_DAY, 16), tick=False)
    services.checkin_record(actor=grid_a, schedule=visit, outcome="well", note="精神好")
    visit.refresh_from_db()
    assert visit.next_due_at == local(SHANGHAI_DAY + dt.timedelta(days=3), 18)
    assert visit.last_done_at == local(SHANGHAI_DAY, 16)
    # Not reached: it stays due.
    call = CareSchedule.objects.get(resident=vulnerable["alone"], kind="call")
    services.checkin_record(actor=grid_a, schedule=call, outcome="unreached")
    call.refresh_from_db()
    assert call.next_due_at == local(SHANGHAI_DAY, 18)


def test_a_check_in_can_register_a_need_on_the_spot(worker_a, tree, vulnerable, grid_a):
    services.care_schedules_sync(actor=worker_a, area=tree.community_a)
    call = CareSchedule.objects.get(resident=vulnerable["bedridden"], kind="call")
    with pytest.raises(DomainError) as refused:
        services.checkin_record(actor=grid_a, schedule=call, outcome="need")
    assert refused.value.field == "category"
    checkin = services.checkin_record(
        actor=grid_a, schedule=call, outcome="need", category="mobility_aids", detail="需要轮椅"
    )
    need = checkin.request
    assert need.resident == vulnerable["bedridden"] and need.channel == "care"
    assert need.household_id == tree.household_a2.pk and need.detail == "需要轮椅"


def test_a_missed_check_in_raises_a_task_once(worker_a, tree, vulnerable, grid_a, clock):
    clock.move_to(local(SHANGHAI_DAY, 10), tick=False)
    services.care_schedules_sync(actor=worker_a, area=tree.community_a)
    call = CareSchedule.objects.get(resident=vulnerable["alone"], kind="call")
    for schedule in CareSchedule.objects.exclude(pk=call.pk):
        services.checkin_record(actor=grid_a, schedule=schedule, outcome="well")
    # Due at 18:00 with 4 hours' grace: not missed at 21:59, missed at 22:01.
    clock.move_to(local(SHANGHAI_DAY, 21, 59), tick=False)
    assert services.care_watch(actor=SYSTEM) == 0
    clock.move_to(local(SHANGHAI_DAY, 22, 1), tick=False)
    assert services.care_watch(actor=SYSTEM) == 1
    assert services.care_watch(actor=SYSTEM) == 0  # a second watch finds it claimed
    missed = CheckIn.objects.get(outcome="missed")
    assert missed.schedule == call and missed.due_at == local(SHANGHAI_DAY, 18)
    task = missed.request
    assert task.category.code == "care_followup" and task.urgency == "urgent"
    assert task.resident == vulnerable["alone"] and "电话关怀" in task.detail
    call.refresh_from_db()
    assert call.missed == 1
    assert call.next_due_at == local(SHANGHAI_DAY + dt.timedelta(days=1), 18)
    assert ReliefRequest.objects.filter(category__code="care_followup").count() == 1


def test_dialysis_transports_are_made_a_week_ahead_once(worker_a, tree, vulnerable, clock):
    clock.move_to(local(SHANGHAI_DAY, 10), tick=False)  # a Monday
    assert SHANGHAI_DAY.weekday() == 0
    services.treatment_plan_create(
        actor=worker_a,
        resident=vulnerable["dialysis"].pk,
        category="transport_dialysis",
        weekdays=[0, 2, 4],
        pickup_time=dt.time(7, 0),
        destination="市中心医院血透室",
    )
    made = services.transports_schedule(actor=SYSTEM)
    # Today's 07:00 has passed: Wed, Fri, and next Mon (within 7 days from today).
    assert made == 2
    trips = ReliefRequest.objects.filter(plan__isnull=False).order_by("scheduled_for")
    assert [t.scheduled_for for t in trips] == [
        local(SHANGHAI_DAY + dt.timedelta(days=2), 7),
        local(SHANGHAI_DAY + dt.timedelta(days=4), 7),
    ]
    assert all(t.deadline == t.scheduled_for and t.kind == "transport_dialysis" for t in trips)
    assert services.transports_schedule(actor=SYSTEM) == 0
    with pytest.raises(DomainError):
        services.treatment_plan_create(
            actor=worker_a,
            resident=vulnerable["dialysis"].pk,
            category="groceries",
            weekdays=[1],
            pickup_time=dt.time(7),
            destination="医院",
        )


def test_care_packages_are_planned_for_vulnerable_households_and_tracked(
    worker_a, tree, vulnerable, volunteer
):
    plan = services.care_packages_plan(
        actor=worker_a,
        area=tree.community_a,
        name="第一批爱心包",
        contents="米、油、蔬菜",
        planned_for=SHANGHAI_DAY,
    )
    packages = list(plan.packages.order_by("household_id"))
    assert [p.household_id for p in packages] == sorted(
        [tree.household_a1.pk, tree.household_a2.pk]
    )
    services.care_package_deliver(actor=volunteer, package=packages[0])
    with pytest.raises(DomainError):
        services.care_package_deliver(actor=volunteer, package=packages[0])
    outsider = make_user("vol_b", "worker", tree.community_b)
    with pytest.raises(PermissionDenied):
        services.care_package_deliver(actor=outsider, package=packages[1])
