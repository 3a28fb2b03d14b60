"""Posts, shifts, check-in and out from a phone (replays never duplicate), hours, and
no-shows flagged once to the team leader and the community."""

import datetime as dt

import pytest
from django.utils import timezone

from fangkong.core.actors import SYSTEM
from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.models import Notification
from fangkong.workforce import selectors, services
from fangkong.workforce.models import Attendance, Shift
from fangkong.workforce.services import DutyEvent

from .conftest import cid, make_worker

NOW = timezone.make_aware(dt.datetime(2026, 11, 23, 18, 0))


@pytest.fixture
def post(world, worker_a):
    return services.post_create(
        actor=worker_a, area=world.compound_a, name="幸福小区东门卡口", kind="checkpoint", heads=1
    )


@pytest.fixture
def code(post, worker_a):
    return services.post_code(actor=worker_a, post=post)


def shift_now(post, worker, worker_a, *, start=NOW, hours=8):
    return services.shifts_create(
        actor=worker_a, post=post, slots=[(start, start + dt.timedelta(hours=hours), worker)]
    )[0]


def test_check_in_and_out_count_hours_and_a_replay_writes_nothing(
    world, cadre, post, code, worker_a, clock
):
    clock.move_to(NOW + dt.timedelta(minutes=5), tick=False)
    shift = shift_now(post, cadre, worker_a)
    key_in, key_out = cid(), cid()
    events = [DutyEvent(key_in, "in", NOW + dt.timedelta(minutes=2), code=code)]
    [result] = services.attendance_upload(actor=cadre.user, events=events)
    assert result.status == "accepted" and result.shift == shift.pk and result.post == post.name
    clock.move_to(NOW + dt.timedelta(hours=8), tick=False)
    out = [DutyEvent(key_out, "out", NOW + dt.timedelta(hours=7, minutes=32), ref=key_in)]
    # The phone lost the first answer and sends the check-in again with the check-out,
    # then everything once more.
    results = services.attendance_upload(actor=cadre.user, events=events + out)
    assert [r.flags for r in results] == [["replay"], []]
    results = services.attendance_upload(actor=cadre.user, events=events + out)
    assert [r.flags for r in results] == [["replay"], ["replay"]]
    assert {r.attendance for r in results} == {result.attendance}
    att = Attendance.objects.get()
    assert att.hours == pytest.approx(7.5)
    assert selectors.worker_hours(cadre) == pytest.approx(7.5)


def test_a_second_check_in_at_the_same_post_is_the_same_duty(world, cadre, post, code):
    first = services.attendance_upload(
        actor=cadre.user, events=[DutyEvent(cid(), "in", timezone.now(), code=code)]
    )[0]
    second = services.attendance_upload(
        actor=cadre.user, events=[DutyEvent(cid(), "in", timezone.now(), code=code)]
    )[0]
    assert second.attendance == first.attendance and "already_in" in second.flags
    assert "no_shift" in first.flags
    assert Attendance.objects.count() == 1


def test_checking_in_elsewhere_closes_a_forgotten_duty(world, cadre, post, code, worker_a):
    other = services.post_create(
        actor=worker_a, area=world.compound_a, name="物资点", kind="delivery"
    )
    other_code = services.post_code(actor=worker_a, post=other)
    at = timezone.now()
    services.attendance_upload(actor=cadre.user, events=[DutyEvent(cid(), "in", at, code=code)])
    [r] = services.attendance_upload(
        actor=cadre.user,
        events=[DutyEvent(cid(), "in", at + dt.timedelta(minutes=1), code=other_code)],
    )
    assert "closed_previous" in r.flags
    assert Attendance.objects.on_duty().get().post == other


def test_bad_events_are_refused_alone_and_the_good_go_in(world, cadre, post, code):
    now = timezone.now()
    results = services.attendance_upload(
        actor=cadre.user,
        events=[
            DutyEvent(cid(), "in", now, code=code[:-3] + "AAA"),
            DutyEvent(cid(), "in", now - dt.timedelta(days=8), code=code),
            DutyEvent(cid(), "out", now),
            DutyEvent(cid(), "in", now, code=code),
            DutyEvent(cid(), "dance", now),
        ],
    )
    assert [r.status for r in results] == [
        "rejected",
        "rejected",
        "rejected",
        "accepted",
        "rejected",
    ]
    assert results[0].message_zh and results[0].message
    assert results[2].code == "no_check_in"
    assert Attendance.objects.count() == 1


def test_someone_elses_client_id_answers_nothing_of_theirs(world, cadre, cadre_b, post, code):
    key = cid()
    services.attendance_upload(
        actor=cadre.user, events=[DutyEvent(key, "in", timezone.now(), code=code)]
    )
    [r] = services.attendance_upload(
        actor=cadre_b.user, events=[DutyEvent(key, "in", timezone.now(), code=code)]
    )
    assert r.status == "rejected" and r.code == "client_id_taken" and r.attendance is None


def test_only_workers_check_in(world, post, code, worker_a):
    with pytest.raises(PermissionDenied):
        services.attendance_upload(
            actor=worker_a, events=[DutyEvent(cid(), "in", timezone.now(), code=code)]
        )


def test_a_no_show_is_flagged_once_to_the_team_leader_and_the_community(
    world, cadre, post, worker_a, clock
):
    leader = make_worker(world.community_a, "组长", password="Wk7-pw-leader")
    services.team_create(
        actor=worker_a, community=world.community_a, name="一组", leader=leader, members=[cadre]
    )
    clock.move_to(NOW, tick=False)
    shift = shift_now(post, cadre, worker_a)
    clock.move_to(NOW + dt.timedelta(minutes=14), tick=False)
    assert services.no_shows_flag(actor=SYSTEM) == 0
    clock.move_to(NOW + dt.timedelta(minutes=16), tick=False)
    assert services.no_shows_flag(actor=SYSTEM) == 1
    assert services.no_shows_flag(actor=SYSTEM) == 0  # told once
    shift.refresh_from_db()
    assert shift.no_show_at is not None
    told = set(
        Notification.objects.filter(kind="workforce.no_show").values_list("recipient", flat=True)
    )
    assert told == {leader.user_id, worker_a.pk}


def test_a_worker_who_checked_in_is_no_no_show(world, cadre, post, code, worker_a, clock):
    clock.move_to(NOW - dt.timedelta(minutes=10), tick=False)
    shift_now(post, cadre, worker_a)
    services.attendance_upload(
        actor=cadre.user, events=[DutyEvent(cid(), "in", timezone.now(), code=code)]
    )
    clock.move_to(NOW + dt.timedelta(minutes=30), tick=False)
    assert services.no_shows_flag(actor=SYSTEM) == 0


def test_the_no_show_minutes_are_a_policy(world, cadre, post, worker_a, command_user, clock):
    from fangkong.core.services import policy_set

    clock.move_to(NOW - dt.timedelta(hours=1), tick=False)
    policy_set(actor=command_user, key="workforce.no_show", value={"minutes": 5}, reason="收紧")
    clock.move_to(NOW, tick=False)
    shift_now(post, cadre, worker_a)
    clock.move_to(NOW + dt.timedelta(minutes=6), tick=False)
    assert services.no_shows_flag(actor=SYSTEM) == 1


def test_a_pattern_makes_its_shifts(world, post):
    post.pattern, post.heads = "3x8", 2
    slots = services.pattern_slots(post, NOW.date(), 2)
    assert len(slots) == 12
    assert [s[1] - s[0] for s in slots] == [dt.timedelta(hours=8)] * 12


def test_post_names_are_required(world, worker_a, worker_b):
    with pytest.raises(DomainError):
        services.post_create(actor=worker_a, area=world.compound_a, name=" ", kind="checkpoint")
    with pytest.raises(PermissionDenied):
        services.post_create(actor=worker_b, area=world.compound_a, name="卡口", kind="checkpoint")
    assert not Shift.objects.exists()


def test_a_rota_fills_a_week_from_the_team_with_rest_and_stores_short_shifts_open(world, worker_a):
    people = [make_worker(world.community_a, f"R{i}") for i in range(4)]
    team = services.team_create(
        actor=worker_a,
        community=world.community_a,
        name="轮班组",
        leader=people[0],
        members=people[1:],
    )
    gate = services.post_create(
        actor=worker_a,
        area=world.compound_a,
        name="南门",
        kind="checkpoint",
        pattern="3x8",
        team=team,
    )
    made = services.rota_build(actor=worker_a, posts=[gate], first_day=NOW.date(), days=7)
    assert made["shifts"] == 21 and made["filled"] + made["open"] == 21
    shifts = list(Shift.objects.filter(post=gate, worker__isnull=False).order_by("starts_at"))
    by_worker = {}
    for s in shifts:
        by_worker.setdefault(s.worker_id, []).append(s)
    for mine in by_worker.values():
        for a, b in zip(mine, mine[1:], strict=False):
            assert b.starts_at - a.ends_at >= dt.timedelta(hours=8)
        assert sum(s.hours for s in mine) <= 48
    assert set(by_worker) <= {w.pk for w in people}
    # Built again: the same week replaced, not doubled.
    services.rota_build(actor=worker_a, posts=[gate], first_day=NOW.date(), days=7)
    assert Shift.objects.filter(post=gate).count() == 21
