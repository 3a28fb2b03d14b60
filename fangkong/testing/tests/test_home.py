"""Door-to-door: tasks for the bedridden and for sealed buildings, closed with a tube."""

import pytest

from fangkong.areas.services import zone_declare
from fangkong.core.errors import Conflict, DomainError, PermissionDenied
from fangkong.factories import make_resident
from fangkong.people.models import Tag
from fangkong.testing import selectors, services
from fangkong.testing.models import (
    ExemptReason,
    HomeSamplingTask,
    Sample,
    TaskKind,
    TaskStatus,
    Tube,
    Via,
)

from .conftest import launch, new_barcode

pytestmark = pytest.mark.django_db


@pytest.fixture
def homes(tree, command_user):
    bedridden = make_resident(tree.household_a2, "卧床", tags=Tag.BEDRIDDEN)
    sealed = [make_resident(tree.household_a1, f"封{i}") for i in range(3)]
    sealed_bedridden = make_resident(tree.household_a1, "封卧", tags=Tag.BEDRIDDEN)
    zone_declare(actor=command_user, area=tree.building_a1, kind="sealed", reason="阳性病例")
    rnd = launch(command_user, tree.street)
    return bedridden, sealed + [sealed_bedridden], rnd


def test_tasks_are_made_for_sealed_households_and_the_bedridden(homes, tree, worker_a):
    bedridden, sealed, rnd = homes
    counts = services.home_tasks_generate(actor=worker_a, round=rnd)
    assert counts == {"sealed_households": 1, "bedridden": 1}
    tasks = {(t.kind, t.household_id, t.resident_id) for t in HomeSamplingTask.objects.all()}
    assert tasks == {
        (TaskKind.SEALED_HOUSEHOLD, tree.household_a1.pk, None),
        (TaskKind.BEDRIDDEN, tree.household_a2.pk, bedridden.pk),
    }
    # Again: nothing new.
    assert services.home_tasks_generate(actor=worker_a, round=rnd) == {
        "sealed_households": 0,
        "bedridden": 0,
    }


def test_a_building_downgraded_below_a_sealed_compound_is_not_sealed(homes, tree, command_user):
    zone_declare(actor=command_user, area=tree.compound_a, kind="sealed", reason="扩大")
    zone_declare(actor=command_user, area=tree.building_a2, kind="controlled", reason="降级")
    assert services.sealed_buildings([tree.street.code]) == [tree.building_a1.code]


def test_tasks_group_by_building(homes, worker_a):
    _, _, rnd = homes
    services.home_tasks_generate(actor=worker_a, round=rnd)
    groups = selectors.home_tasks_by_building(selectors.home_tasks(rnd, worker_a))
    assert [len(g.tasks) for g in groups] == [1, 1]


def test_a_sealed_household_is_closed_one_single_tube_a_person(homes, worker_a, tree):
    _, sealed, rnd = homes
    services.home_tasks_generate(actor=worker_a, round=rnd)
    task = HomeSamplingTask.objects.get(kind=TaskKind.SEALED_HOUSEHOLD)
    tubes = [new_barcode() for _ in sealed]
    for i, barcode in enumerate(tubes):
        services.home_task_close(actor=worker_a, task=task, tube=barcode)
        task.refresh_from_db()
        # Open until the last person due is in a tube.
        expected = TaskStatus.DONE if i == len(sealed) - 1 else TaskStatus.OPEN
        assert task.status == expected and task.tube.barcode == barcode
        assert len(services.home_task_due(task)) == len(sealed) - i - 1
    for barcode in tubes:
        tube = Tube.objects.get(barcode=barcode)
        assert tube.via == Via.HOME and tube.site is None and tube.pool_size == 1
        assert tube.samples.count() == 1
    assert {s.resident for s in Sample.objects.filter(tube__barcode__in=tubes)} == set(sealed)
    assert not Sample.objects.filter(flags__hasflag=4).exists()  # nothing over its pool
    assert selectors.coverage_of_area(rnd, tree.building_a1.code).sampled == 4
    # A retry of any tube it used is a no-op; another tube after the last, a conflict.
    services.home_task_close(actor=worker_a, task=task, tube=tubes[0])
    assert Sample.objects.count() == 4
    with pytest.raises(Conflict):
        services.home_task_close(actor=worker_a, task=task, tube=new_barcode())


def test_a_retried_tube_does_not_take_the_next_person(homes, worker_a):
    _, sealed, rnd = homes
    services.home_tasks_generate(actor=worker_a, round=rnd)
    task = HomeSamplingTask.objects.get(kind=TaskKind.SEALED_HOUSEHOLD)
    barcode = new_barcode()
    services.home_task_close(actor=worker_a, task=task, tube=barcode)
    services.home_task_close(actor=worker_a, task=task, tube=barcode)
    assert Tube.objects.get(barcode=barcode).samples.count() == 1
    assert len(services.home_task_due(task)) == len(sealed) - 1


def test_a_tube_takes_no_more_than_the_pool(homes, worker_a):
    _, sealed, rnd = homes
    rnd.pool_sealed = 3
    rnd.save(update_fields=["pool_sealed"])
    services.home_tasks_generate(actor=worker_a, round=rnd)
    task = HomeSamplingTask.objects.get(kind=TaskKind.SEALED_HOUSEHOLD)
    with pytest.raises(DomainError, match="at most 3"):
        services.home_task_close(actor=worker_a, task=task, tube=new_barcode(), residents=sealed)
    first, second = new_barcode(), new_barcode()
    services.home_task_close(actor=worker_a, task=task, tube=first)
    assert Tube.objects.get(barcode=first).samples.count() == 3
    services.home_task_close(actor=worker_a, task=task, tube=second)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert Tube.objects.get(barcode=second).samples.count() == 1


def test_an_exempt_member_is_not_waited_for(homes, worker_a):
    _, sealed, rnd = homes
    services.home_tasks_generate(actor=worker_a, round=rnd)
    task = HomeSamplingTask.objects.get(kind=TaskKind.SEALED_HOUSEHOLD)
    for person in sealed[1:]:
        services.exemption_grant(
            actor=worker_a, round=rnd, resident=person, reason=ExemptReason.IN_HOSPITAL, note="住院"
        )
    services.home_task_close(actor=worker_a, task=task, tube=new_barcode())
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert {s.resident for s in Sample.objects.all()} == {sealed[0]}


def test_closing_with_a_tube_used_at_a_site_is_refused(homes, worker_a, sampler, site_a):
    from .conftest import Channel, upload

    bedridden, _, rnd = homes
    services.home_tasks_generate(actor=worker_a, round=rnd)
    task = HomeSamplingTask.objects.get(kind=TaskKind.BEDRIDDEN)
    barcode = new_barcode()
    upload(sampler, Channel(rnd, site_a.channels.first()).tube([], barcode=barcode))
    with pytest.raises(DomainError, match="already used"):
        services.home_task_close(actor=worker_a, task=task, tube=barcode)
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and not Sample.objects.filter(via=Via.HOME).exists()


def test_a_home_isolated_person_gets_a_task(homes, worker_a, tree):
    _, _, rnd = homes
    person = make_resident(tree.household_a2, "居家隔离")
    task = services.home_task_create(actor=worker_a, round=rnd, resident=person, note="密接")
    assert task.kind == TaskKind.ISOLATED and task.area_code == person.area_code
    again = services.home_task_create(actor=worker_a, round=rnd, resident=person)
    assert again.pk == task.pk


def test_tasks_stay_in_the_jurisdiction(homes, worker_b, worker_a):
    _, _, rnd = homes
    services.home_tasks_generate(actor=worker_a, round=rnd)
    assert not selectors.home_tasks(rnd, worker_b).exists()
    task = HomeSamplingTask.objects.first()
    with pytest.raises(PermissionDenied):
        services.home_task_close(actor=worker_b, task=task, tube=new_barcode())
    with pytest.raises(PermissionDenied):
        services.home_tasks_assign(actor=worker_b, tasks=[task], team=worker_b)


def test_tasks_are_assigned_to_a_person_by_a_deadline_and_cancelled_with_a_reason(
    homes, worker_a, tree
):
    import datetime as dt

    from django.utils import timezone

    from fangkong.factories import make_user

    _, _, rnd = homes
    services.home_tasks_generate(actor=worker_a, round=rnd)
    tasks = list(HomeSamplingTask.objects.select_related("round"))
    # Made with a deadline: the policy's 6 hours, never past the round's end.
    soon = timezone.now() + dt.timedelta(hours=6, minutes=1)
    assert all(t.due_at is not None and t.due_at <= soon for t in tasks)
    assert all(t.due_at <= rnd.deadline for t in tasks)
    with pytest.raises(DomainError):  # free text alone is no longer an assignment
        services.home_tasks_assign(actor=worker_a, tasks=tasks, team_name="入户一组")
    with pytest.raises(DomainError):  # a resident's account cannot do door-to-door
        services.home_tasks_assign(
            actor=worker_a, tasks=tasks, team=make_user("r", "resident", tree.community_a)
        )
    with pytest.raises(DomainError):  # not past the round's deadline
        services.home_tasks_assign(
            actor=worker_a,
            tasks=tasks,
            team=make_user("s0", "sampler", tree.community_a),
            due_at=rnd.deadline + dt.timedelta(hours=1),
        )
    sampler = make_user("s1", "sampler", tree.community_a)
    due = rnd.deadline - dt.timedelta(hours=1)
    assert services.home_tasks_assign(actor=worker_a, tasks=tasks, team=sampler, due_at=due) == 2
    assert set(HomeSamplingTask.objects.values_list("team", "due_at")) == {(sampler.pk, due)}
    with pytest.raises(DomainError):
        services.home_task_cancel(actor=worker_a, task=tasks[0], reason="")
    services.home_task_cancel(actor=worker_a, task=tasks[0], reason="已搬走")
    tasks[0].refresh_from_db()
    assert tasks[0].status == TaskStatus.CANCELLED
