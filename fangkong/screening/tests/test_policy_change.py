"""A policy change mid-outbreak applies from its date on: tasks and statuses made before
keep the rule (and version) they were made under; those made after take the new one."""

import datetime as dt

from fangkong.core.services import policy_set
from fangkong.factories import make_resident
from fangkong.screening import services
from fangkong.screening.models import ControlStatus
from fangkong.screening.policies import CONTACTS
from fangkong.screening.services.status import person_for_resident

from .conftest import at

NOVEMBER = {
    "close": {
        "first": "centralised_isolation",
        "first_days": 5,
        "then": "home_isolation",
        "then_days": 3,
    },
    "secondary": {"first": "home_isolation", "first_days": 5},
    "companion": {"first": "health_monitoring", "first_days": 3},
    "risk_area": {"first": "home_isolation", "first_days": 5},
    "symptoms": {"first": "health_monitoring", "first_days": 3},
    "trace_secondary": False,
}


def test_the_november_rules_apply_from_their_date_only(
    clock, command_user, worker_a, person_a, resident_b, worker_b
):
    # Monday 10:00: a close contact is controlled under the June rules (7 + 3).
    clock.move_to(at(10, 0), tick=False)
    early, _ = services.task_create(
        actor=worker_a, person=person_a, category="close", reason="疾控"
    )
    services.task_control(actor=worker_a, task=early, kind="centralised_isolation", reason="已转运")
    before = ControlStatus.objects.get(task=early)
    assert before.planned_end == at(10, 0) + dt.timedelta(days=7)
    assert (before.then_kind, before.then_days, before.policy_version) == ("home_monitoring", 3, 0)

    # The centre changes the rules at 11:00, in force from 14:00 (and the "2+6" too).
    clock.move_to(at(11, 0), tick=False)
    policy_set(
        actor=command_user,
        key="screening.contacts",
        value=NOVEMBER,
        effective_from=at(14, 0),
        reason="第二十条",
    )
    policy_set(
        actor=command_user,
        key="screening.deadlines",
        value={"day_hours": 1, "night_hours": 4, "day_starts": "08:00", "day_ends": "22:00"},
        effective_from=at(14, 0),
        reason="提速",
    )
    # 13:00: still the June rules. A task raised now is due at 15:00 and keeps that.
    clock.move_to(at(13, 0), tick=False)
    person_b = person_for_resident(resident_b)
    pending, _ = services.task_create(
        actor=worker_b, person=person_b, category="close", reason="疾控"
    )
    assert pending.deadline == at(15, 0) and pending.deadline_version == 0
    assert pending.measures_version == 0

    # 15:00: in force. A new task is due in 1 h; the one raised at 13:00 is not moved.
    clock.move_to(at(15, 0), tick=False)
    newcomer = person_for_resident(make_resident(person_a.resident.household, "赵六"))
    late, _ = services.task_create(actor=worker_a, person=newcomer, category="close", reason="疾控")
    assert late.deadline == at(16, 0) and late.deadline_version == 1
    assert late.measures_version == 1
    pending.refresh_from_db()
    assert pending.deadline == at(15, 0)

    # Controlled after the change: 5 + 3, version 1. The status set before is untouched.
    services.task_control(actor=worker_a, task=late, kind="centralised_isolation", reason="已转运")
    after = ControlStatus.objects.get(task=late)
    assert after.planned_end == at(15, 0) + dt.timedelta(days=5)
    assert (after.then_kind, after.then_days, after.policy_version) == ("home_isolation", 3, 1)
    before.refresh_from_db()
    assert before.planned_end == at(10, 0) + dt.timedelta(days=7) and before.policy_version == 0
    # What it was decided under can still be read back.
    assert CONTACTS.version(before.policy_version).value.close.first_days == 7
    assert CONTACTS.at(at(15, 0)).value.trace_secondary is False
