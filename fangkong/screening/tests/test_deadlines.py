""" "2+6" deadlines: from the local hour a task is raised at, on the Shanghai clock,
across the day/night boundary and midnight (the test's clock pinned to each moment)."""

import datetime as dt

import pytest

from fangkong.core.services import policy_set
from fangkong.screening import services
from fangkong.screening.deadlines import deadline_for, is_day
from fangkong.screening.policies import DEADLINES, TraceDeadlines

from .conftest import at


@pytest.mark.parametrize(
    ("raised", "due"),
    [
        (at(7, 59), at(13, 59)),  # still night: 6 h
        (at(8, 0), at(10, 0)),  # day begins: 2 h
        (at(21, 59), at(23, 59)),  # last minute of the day: 2 h, before midnight
        (at(22, 0), at(4, 0, day=24)),  # night: 6 h, across midnight
        (at(23, 30), at(5, 30, day=24)),
        (at(0, 0, day=24), at(6, 0, day=24)),  # midnight itself is night
        (at(20, 30), at(22, 30)),  # by day, due after the day ends: still 2 h
    ],
)
def test_a_task_is_due_two_hours_after_it_is_raised_by_day_and_six_by_night(
    clock, worker_a, person_a, raised, due
):
    clock.move_to(raised, tick=False)
    task, _made = services.task_create(
        actor=worker_a, person=person_a, category="close", reason="疾控来电"
    )
    assert task.deadline == due
    assert task.raised_at == raised
    assert task.deadline_version == 0


def test_the_day_is_read_on_the_deployments_clock_not_utc(db):
    rule = DEADLINES.at().value
    # 01:00 UTC is 09:00 in Shanghai (day); 15:00 UTC is 23:00 there (night), though
    # both would read the other way on a UTC clock.
    one_utc = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)
    assert deadline_for(one_utc, rule) == one_utc + dt.timedelta(hours=2)
    fifteen_utc = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 23:00 in Shanghai
    assert deadline_for(fifteen_utc, rule) == fifteen_utc + dt.timedelta(hours=6)


def test_a_day_that_ends_after_midnight_wraps(db):
    rule = TraceDeadlines(day_hours=2, night_hours=6, day_starts="06:00", day_ends="01:00")
    assert is_day(dt.time(0, 30), rule)
    assert not is_day(dt.time(1, 0), rule)
    assert is_day(dt.time(23, 0), rule)
    assert not is_day(dt.time(5, 59), rule)


def test_the_days_hours_are_part_of_the_policy(clock, command_user, worker_a, person_a):
    clock.move_to(at(7, 0), tick=False)
    policy_set(
        actor=command_user,
        key="screening.deadlines",
        value={"day_hours": 2, "night_hours": 6, "day_starts": "07:00", "day_ends": "21:00"},
        reason="冬季作息",
    )
    task, _made = services.task_create(
        actor=worker_a, person=person_a, category="close", reason="疾控来电"
    )
    assert task.deadline == at(9, 0)
    assert task.deadline_version == 1
