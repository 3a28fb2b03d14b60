"""Trace tasks: one active a person (merged, the stronger category kept), reached,
attempts logged (unreachable), controlled (the status set), handed over (the receiver
sees only what it needs), escalated when overdue: once, to the street and the centre."""

import datetime as dt

import pytest

from fangkong.core.errors import Conflict, DomainError
from fangkong.core.models import AuditEvent, Notification
from fangkong.factories import make_user
from fangkong.screening import services
from fangkong.screening.models import ControlStatus, HandOver, TraceTask

from .conftest import at


def test_a_second_raise_merges_into_the_active_task(worker_a, person_a):
    first, made = services.task_create(
        actor=worker_a, person=person_a, category="companion", reason="a"
    )
    second, made_again = services.task_create(
        actor=worker_a, person=person_a, category="close", reason="b"
    )
    assert made and not made_again and first.pk == second.pk
    second.refresh_from_db()
    assert second.category == "close" and len(second.evidence) == 2
    assert TraceTask.objects.count() == 1
    assert AuditEvent.objects.filter(event="screening.task_merge").count() == 1


def test_a_client_id_makes_a_retry_safe(worker_a, person_a):
    one, _ = services.task_create(
        actor=worker_a, person=person_a, category="close", reason="a", client_id="c1"
    )
    two, made = services.task_create(
        actor=worker_a, person=person_a, category="close", reason="a", client_id="c1"
    )
    assert one.pk == two.pk and not made
    assert TraceTask.objects.get().evidence == one.evidence


def test_a_task_is_reached_then_controlled_and_the_status_is_set(clock, worker_a, task_a):
    clock.move_to(at(18, 30), tick=False)
    services.task_reach(actor=worker_a, task=task_a)
    clock.move_to(at(19, 0), tick=False)
    t = services.task_control(
        actor=worker_a, task=task_a, kind="centralised_isolation", reason="已转运至隔离点"
    )
    assert t.state == "controlled" and t.reached_at == at(18, 30) and t.closed_at == at(19, 0)
    status = ControlStatus.objects.get(task=t)
    assert status.kind == "centralised_isolation" and status.category == "close"
    assert status.planned_end == at(19, 0) + dt.timedelta(days=7)
    with pytest.raises(Conflict):
        services.task_reach(actor=worker_a, task=t)
    assert {e.event for e in AuditEvent.objects.filter(target_id=str(t.pk))} >= {
        "screening.task_reach",
        "screening.task_control",
        "screening.task_raise",
    }


def test_attempts_are_logged_and_the_task_turns_unreachable(worker_a, task_a):
    services.task_attempt(actor=worker_a, task=task_a, channel="phone", note="关机")
    t = services.task_attempt(actor=worker_a, task=task_a, channel="visit", note="无人应门")
    assert t.state == "unreachable" and t.attempts == 2
    assert [a.note for a in t.attempt_log.all()] == ["关机", "无人应门"]
    t = services.task_reach(actor=worker_a, task=t)
    assert t.state == "reached"


def test_control_needs_a_measure_and_a_reason(worker_a, task_a):
    with pytest.raises(DomainError):
        services.task_control(actor=worker_a, task=task_a, kind="released", reason="x")
    with pytest.raises(DomainError):
        services.task_control(actor=worker_a, task=task_a, kind="home_isolation", reason="")


def test_a_hand_over_gives_the_receiver_only_what_it_needs(tree, worker_a, task_a, resident_a):
    receiver = make_user("other_cmd", "command")
    from fangkong.areas.models import Area, Level

    other = Area.objects.create(code="430103", name="天心区", level=Level.DISTRICT)
    community = Area.objects.create(code="430103001001", name="坡子街社区", level=Level.COMMUNITY)
    receiver.areas.set([other])
    h = services.task_hand_over(
        actor=worker_a,
        task=task_a,
        to_district="430103",
        where_now="长沙市天心区某酒店",
        reason="已离开本区",
    )
    task_a.refresh_from_db()
    assert task_a.state == "handed_over"
    assert h.id_number() == resident_a.id_number() and h.phone() == resident_a.phone()
    assert h.from_area_code == tree.building_a1.code and h.to_district == "430103"
    assert Notification.objects.filter(recipient=receiver, kind="screening.hand_over").exists()
    # Audited on both sides.
    assert AuditEvent.objects.get(event="screening.hand_over_receive").area_code == "430103"
    assert (
        AuditEvent.objects.get(event="screening.task_hand_over").area_code == tree.building_a1.code
    )
    # The receiver reads the hand-over, never the sending side's task.
    assert list(HandOver.objects.for_user(receiver)) == [h]
    assert not TraceTask.objects.for_user(receiver).filter(pk=task_a.pk).exists()
    new = services.hand_over_accept(actor=receiver, hand_over=h, area=community)
    assert new.area_code == community.code  # where the person is now: the receiver's
    assert new.source == "hand_over" and new.state == "open"
    with pytest.raises(Conflict):
        services.hand_over_accept(actor=receiver, hand_over=h, area=community)


def test_a_hand_over_to_ones_own_district_is_refused(worker_a, task_a):
    with pytest.raises(DomainError) as caught:
        services.task_hand_over(
            actor=worker_a, task=task_a, to_district="431102", where_now="x", reason="y"
        )
    assert caught.value.field == "to_district"


def test_overdue_tasks_escalate_once_to_the_street_and_the_command_centre(
    clock, tree, worker_a, person_a, street_user, command_user, worker_b
):
    clock.move_to(at(10, 0), tick=False)
    task, _ = services.task_create(actor=worker_a, person=person_a, category="close", reason="疾控")
    clock.move_to(at(11, 59), tick=False)
    assert services.tasks_escalate() == 0
    clock.move_to(at(12, 1), tick=False)
    assert services.tasks_escalate() == 1
    assert services.tasks_escalate() == 0  # claimed: never twice
    told = set(
        Notification.objects.filter(kind="screening.overdue").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"street", "command"}
    text = Notification.objects.filter(kind="screening.overdue").first().text_zh
    assert "东风社区" in text and "超时" in text and "12:00" in text
    task.refresh_from_db()
    assert task.escalated_at == at(12, 1)
    assert AuditEvent.objects.filter(event="screening.task_escalate").count() == 1


def test_a_controlled_task_is_never_escalated(clock, worker_a, person_a):
    clock.move_to(at(10, 0), tick=False)
    task, _ = services.task_create(actor=worker_a, person=person_a, category="close", reason="疾控")
    services.task_control(actor=worker_a, task=task, kind="home_isolation", reason="居家")
    clock.move_to(at(13, 0), tick=False)
    assert services.tasks_escalate() == 0


def test_the_watch_command_escalates(clock, worker_a, person_a, street_user):
    from django.core.management import call_command

    clock.move_to(at(10, 0), tick=False)
    services.task_create(actor=worker_a, person=person_a, category="close", reason="疾控")
    clock.move_to(at(13, 0), tick=False)
    call_command("screening_watch")
    assert Notification.objects.filter(kind="screening.overdue", recipient=street_user).count() == 1
