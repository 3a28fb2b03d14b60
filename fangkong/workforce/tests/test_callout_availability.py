"""Who a call-out reaches: only workers who offer that hour as they said (their days,
their hours, nights or not), in the deployment's zone; not those whose shift starts
within the policy's window, unless the call-out is urgent to all."""

import datetime as dt
import zoneinfo

import pytest

from fangkong.core.services import policy_set
from fangkong.workforce import services
from fangkong.workforce.models import CallOutResponse, Post, Shift
from fangkong.workforce.rules import Availability, free_at

from .conftest import make_worker

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
PLACE = {"place": "东风社区核酸点", "lat": 26.21, "lon": 111.60}
MONDAY, TUESDAY = 1, 2  # day bits
# Tuesday 2026-12-01 in Shanghai.
TUESDAY_2AM = dt.datetime(2026, 12, 1, 2, 0, tzinfo=SHANGHAI)
TUESDAY_6PM = dt.datetime(2026, 12, 1, 18, 0, tzinfo=SHANGHAI)


def called(world, actor, **extra) -> set[int]:
    callout = services.callout_post(actor=actor, area=world.community_a, needed=1, **PLACE, **extra)
    return set(CallOutResponse.objects.filter(callout=callout).values_list("worker_id", flat=True))


def at(clock, when: dt.datetime) -> None:
    clock.move_to(when.astimezone(dt.UTC), tick=False)


def test_at_2am_a_day_only_volunteer_within_reach_is_not_texted(world, worker_a, clock):
    day_only = make_worker(world.community_a, "白班")
    nights = make_worker(world.community_a, "夜班", nights=True)
    at(clock, TUESDAY_2AM)
    assert called(world, worker_a) == {nights.pk}
    at(clock, TUESDAY_6PM)
    assert called(world, worker_a) == {day_only.pk, nights.pk}


def test_by_day_only_those_whose_stated_hours_cover_the_moment_are_called(world, worker_a, clock):
    morning = make_worker(world.community_a, "上午", day_from=dt.time(8), day_until=dt.time(12))
    evening = make_worker(world.community_a, "傍晚", day_from=dt.time(17), day_until=dt.time(21))
    ends_now = make_worker(world.community_a, "到点", day_from=dt.time(9), day_until=dt.time(18))
    at(clock, TUESDAY_6PM)
    assert called(world, worker_a) == {evening.pk}
    assert morning.pk and ends_now.pk


def test_the_days_a_worker_offers_count_in_the_deployments_zone(world, worker_a, clock):
    """18:00 Tuesday in Shanghai is 10:00 Tuesday UTC; 07:00 Tuesday in Shanghai is
    23:00 Monday UTC: the day is the zone's, not the server's."""
    tuesdays = make_worker(world.community_a, "周二", days=TUESDAY)
    mondays = make_worker(world.community_a, "周一", days=MONDAY)
    at(clock, dt.datetime(2026, 12, 1, 7, 30, tzinfo=SHANGHAI))
    assert called(world, worker_a) == {tuesdays.pk}
    assert mondays.pk


def test_the_small_hours_belong_to_the_night_that_began_the_evening_before(world, worker_a, clock):
    monday_nights = make_worker(world.community_a, "周一夜", days=MONDAY, nights=True)
    tuesday_nights = make_worker(world.community_a, "周二夜", days=TUESDAY, nights=True)
    at(clock, TUESDAY_2AM)
    assert called(world, worker_a) == {monday_nights.pk}
    assert tuesday_nights.pk


@pytest.fixture
def gate(world):
    return Post.objects.create(
        name="东门", kind="checkpoint", area=world.community_a, area_code=world.community_a.code
    )


def shift(gate, worker, starts_at):
    return Shift.objects.create(
        post=gate,
        area_code=gate.area_code,
        worker=worker,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=8),
    )


def test_someone_whose_shift_starts_within_the_window_is_not_called_unless_urgent(
    world, worker_a, clock, gate
):
    at(clock, TUESDAY_6PM)
    now = TUESDAY_6PM.astimezone(dt.UTC)
    soon = make_worker(world.community_a, "快上岗")
    later = make_worker(world.community_a, "晚上岗")
    free = make_worker(world.community_a, "空闲")
    shift(gate, soon, now + dt.timedelta(minutes=45))
    shift(gate, later, now + dt.timedelta(minutes=90))
    assert called(world, worker_a) == {later.pk, free.pk}
    assert called(world, worker_a, urgent=True) == {soon.pk, later.pk, free.pk}


def test_the_window_is_a_versioned_policy(world, worker_a, command_user, clock, gate):
    at(clock, TUESDAY_6PM)
    now = TUESDAY_6PM.astimezone(dt.UTC)
    later = make_worker(world.community_a, "晚上岗")
    shift(gate, later, now + dt.timedelta(minutes=90))
    assert called(world, worker_a) == {later.pk}
    policy_set(
        actor=command_user,
        key="workforce.call_out",
        value={"radius_km": 5.0, "open_minutes": 120, "shift_soon_minutes": 120},
        effective_from=now,
        reason="夜间加强",
    )
    callout = services.callout_post(actor=worker_a, area=world.community_a, needed=1, **PLACE)
    assert callout.notified == 0 and not callout.urgent


def test_urgent_to_all_still_honours_stated_hours(world, worker_a, clock):
    make_worker(world.community_a, "白班")
    at(clock, TUESDAY_2AM)
    assert called(world, worker_a, urgent=True) == set()


@pytest.mark.parametrize(
    ("local", "days", "hours", "nights", "free"),
    [
        (TUESDAY_6PM, TUESDAY, (7, 22), False, True),
        (TUESDAY_6PM, MONDAY, (7, 22), True, False),
        (TUESDAY_6PM, TUESDAY, (7, 18), True, False),  # their hours end at 18:00
        (TUESDAY_2AM, TUESDAY, (7, 22), True, False),  # Monday's night
        (TUESDAY_2AM, MONDAY, (7, 22), True, True),
        (TUESDAY_2AM, MONDAY, (7, 22), False, False),
        (TUESDAY_2AM.replace(hour=22), TUESDAY, (7, 23), False, False),  # night: nights rule
    ],
)
def test_free_at_reads_days_hours_and_nights(local, days, hours, nights, free):
    who = Availability(days, dt.time(hours[0]), dt.time(hours[1]), nights)
    assert free_at(who, local) is free
