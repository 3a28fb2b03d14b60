"""Deadlines from the SLA policy on a pinned clock, by day and by night, and the watch
that escalates an overdue need once, to the levels the policy names."""

import datetime as dt

import pytest
from django.core.management import call_command

from fangkong.core.actors import SYSTEM
from fangkong.core.errors import PermissionDenied
from fangkong.core.models import AuditEvent, Notification
from fangkong.core.services import policy_set
from fangkong.relief import services
from fangkong.relief.models import Escalation, ReliefRequest
from fangkong.relief.policies import SLA, SlaRule
from fangkong.relief.sla import deadline_for

from .conftest import SHANGHAI_DAY, ask, local

pytestmark = pytest.mark.django_db
NEXT_DAY = SHANGHAI_DAY + dt.timedelta(days=1)


def test_a_critical_need_late_at_night_is_due_an_hour_later_across_midnight(asker, clock):
    clock.move_to(local(SHANGHAI_DAY, 23, 30), tick=False)
    need = ask(asker, "transport_emergency").request
    assert need.urgency == "critical"
    assert need.deadline == local(NEXT_DAY, 0, 30)


def test_the_night_pauses_only_the_urgencies_the_policy_says():
    rule = SlaRule(critical=60, urgent=240, normal=600, paused_at_night=["normal"])
    # 21:00 + 10 h of daytime: 1 h before 22:00, the rest from 07:00 -> 16:00 next day.
    assert deadline_for(local(SHANGHAI_DAY, 21), "normal", rule) == local(NEXT_DAY, 16)
    # Registered in the night: the clock starts at 07:00.
    assert deadline_for(local(NEXT_DAY, 3), "normal", rule) == local(NEXT_DAY, 17)
    # Critical and urgent run through the night.
    assert deadline_for(local(SHANGHAI_DAY, 21), "urgent", rule) == local(NEXT_DAY, 1)
    # By day nothing pauses.
    assert deadline_for(local(SHANGHAI_DAY, 8), "normal", rule) == local(SHANGHAI_DAY, 18)


def test_a_need_keeps_the_sla_version_it_was_registered_under(asker, command_user, clock):
    first = ask(asker, "groceries").request
    policy_set(
        actor=command_user,
        key="relief.sla",
        value={"critical": 30, "urgent": 120, "normal": 720},
        reason="封控升级，缩短时限",
    )
    clock.shift(60)
    second = ask(asker, "meals").request
    assert (first.sla_version, first.sla_minutes) == (0, 1440)
    assert (second.sla_version, second.sla_minutes) == (1, 720)
    # Changing the urgency reckons from registration under the need's own version.
    changed = services.request_set_urgency(
        actor=command_user, request=first, urgency="urgent", reason="老人独居"
    )
    assert changed.deadline == first.registered_at + dt.timedelta(minutes=240)
    assert SLA.at().version == 1


def _watch(clock, when):
    clock.move_to(when, tick=False)
    return services.sla_watch(actor=SYSTEM)


def test_an_overdue_critical_need_escalates_at_once_to_street_and_command(
    asker, worker_a, street_user, command_user, clock
):
    clock.move_to(local(SHANGHAI_DAY, 23, 30), tick=False)
    need = ask(asker, "transport_dialysis", detail="今晚透析").request
    assert _watch(clock, local(NEXT_DAY, 0, 29)).escalated == 0
    result = _watch(clock, local(NEXT_DAY, 0, 31))
    assert result.escalated == 1
    escalation = Escalation.objects.get()
    assert escalation.levels == ["street", "command"] and escalation.notified == 2
    told = set(
        Notification.objects.filter(kind="relief.escalation").values_list("recipient", flat=True)
    )
    assert told == {street_user.pk, command_user.pk}
    assert f"#{need.pk}" in Notification.objects.filter(recipient=street_user).last().text_zh
    need.refresh_from_db()
    assert need.escalated_at == local(NEXT_DAY, 0, 31)
    assert need.events.filter(kind="escalated").count() == 1
    assert AuditEvent.objects.filter(event="relief.needs_escalate").count() == 1
    # The next pass escalates nothing again.
    assert _watch(clock, local(NEXT_DAY, 0, 45)).escalated == 0
    assert Escalation.objects.count() == 1
    # The street takes it in hand: tracked.
    services.escalation_acknowledge(actor=street_user, escalation=escalation, note="已联系120")
    escalation.refresh_from_db()
    assert escalation.acknowledged_by == street_user and escalation.note == "已联系120"


def test_an_overdue_normal_need_tells_the_community_only(asker, worker_a, street_user, clock):
    clock.move_to(local(SHANGHAI_DAY, 9), tick=False)
    ask(asker, "groceries")
    assert _watch(clock, local(NEXT_DAY, 9, 1)).escalated == 1
    assert Escalation.objects.get().levels == ["community"]
    assert Notification.objects.filter(kind="relief.escalation").get().recipient == worker_a


def test_a_need_met_in_time_or_cancelled_never_escalates(asker, worker_a, volunteer, clock):
    clock.move_to(local(SHANGHAI_DAY, 9), tick=False)
    met = ask(asker, "medicine").request
    dropped = ask(asker, "meals").request
    services.request_dispatch(actor=worker_a, request=met, assignee=volunteer)
    services.request_deliver(actor=volunteer, request=met, code=met.confirm_code)
    services.request_cancel(actor=worker_a, request=dropped, reason="家人已送")
    assert _watch(clock, local(NEXT_DAY, 12)).escalated == 0


def test_escalations_follow_the_policy_version_of_the_need(
    asker, worker_a, command_user, street_user, clock
):
    clock.move_to(local(SHANGHAI_DAY, 9), tick=False)
    policy_set(
        actor=command_user,
        key="relief.sla",
        value={
            "critical": 60,
            "urgent": 240,
            "normal": 1440,
            "escalate_to": {"normal": ["community", "street"]},
        },
        reason="一般诉求超时也报街道",
    )
    ask(asker, "groceries")
    assert _watch(clock, local(NEXT_DAY, 9, 5)).escalated == 1
    assert Escalation.objects.get().levels == ["community", "street"]


def test_a_reopened_need_can_escalate_again(asker, worker_a, volunteer, clock):
    from django.core.files.uploadedfile import SimpleUploadedFile

    clock.move_to(local(SHANGHAI_DAY, 9), tick=False)
    need = ask(asker, "medicine").request
    _watch(clock, local(SHANGHAI_DAY, 13, 30))
    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    services.request_deliver(actor=volunteer, request=need, photo=SimpleUploadedFile("a.jpg", b"x"))
    services.request_complain(actor=asker, request=need, reason="药不对")
    assert _watch(clock, local(SHANGHAI_DAY, 18, 0)).escalated == 1
    assert Escalation.objects.filter(request=need).count() == 2
    assert Escalation.objects.filter(request=need, resolved_at__isnull=True).count() == 1


def test_only_the_system_runs_the_watch(worker_a):
    with pytest.raises(PermissionDenied):
        services.sla_watch(actor=worker_a)


def test_the_watch_command_escalates_and_reports(asker, clock, capsys):
    clock.move_to(local(SHANGHAI_DAY, 9), tick=False)
    ask(asker, "transport_chemo")
    clock.move_to(local(SHANGHAI_DAY, 11), tick=False)
    call_command("relief_watch")
    assert "escalated 1" in capsys.readouterr().out
    assert ReliefRequest.objects.get().escalated_at is not None
