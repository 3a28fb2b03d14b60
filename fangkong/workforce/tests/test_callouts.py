"""Urgent call-outs: the available workers within reach are told at once; exactly N
accept however many press at the same moment; the rest are told it is filled."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from fangkong.core.actors import SYSTEM
from fangkong.core.errors import NotFound, PermissionDenied
from fangkong.core.messaging import MemoryBackend
from fangkong.core.models import Notification
from fangkong.workforce import services
from fangkong.workforce.models import CallOut, CallOutResponse, Skill

from .conftest import make_worker

PLACE = {"place": "东风社区核酸点", "lat": 26.21, "lon": 111.60}


@pytest.fixture(autouse=True)
def _outbox():
    MemoryBackend.outbox.clear()
    yield
    MemoryBackend.outbox.clear()


@pytest.fixture
def people(world):
    """Four available workers in community A (one a driver), one far away."""
    near = [
        make_worker(
            world.community_a,
            f"甲{i}",
            password=f"Wk7-pw-near-{i}",
            skills=["drive_c1"] if i == 0 else [],
        )
        for i in range(4)
    ]
    from fangkong.workforce.models import AreaPoint, Worker

    far = make_worker(world.community_b, "远", password="Wk7-pw-far-0")
    Worker.objects.filter(pk=far.pk).update(lat=27.5, lon=112.9)  # ~180 km off
    AreaPoint.objects.count()
    return near, far


def test_a_call_out_reaches_the_available_within_reach_at_once(
    world, people, worker_a, django_capture_on_commit_callbacks
):
    near, far = people
    sick = near[3]
    services.worker_set_status(
        actor=worker_a,
        worker=sick,
        status="sick",
        reason="发烧",
        until=timezone.now() + dt.timedelta(days=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        callout = services.callout_post(actor=worker_a, area=world.community_a, needed=2, **PLACE)
    assert callout.notified == 3 and callout.fanout_seconds is not None
    told = set(CallOutResponse.objects.filter(callout=callout).values_list("worker_id", flat=True))
    assert told == {w.pk for w in near[:3]}
    assert {m.phone for m in MemoryBackend.outbox} == {w.phone() for w in near[:3]}
    assert Notification.objects.filter(kind="workforce.callout").count() == 3


def test_a_skill_narrows_who_is_called(world, people, worker_a):
    near, _ = people
    callout = services.callout_post(
        actor=worker_a,
        area=world.community_a,
        needed=1,
        skill=Skill.objects.get(code="drive_c1"),
        **PLACE,
    )
    assert list(
        CallOutResponse.objects.filter(callout=callout).values_list("worker_id", flat=True)
    ) == [near[0].pk]


def test_first_n_get_it_the_rest_are_told_filled(
    world, people, worker_a, django_capture_on_commit_callbacks
):
    near, _ = people
    callout = services.callout_post(actor=worker_a, area=world.community_a, needed=2, **PLACE)
    MemoryBackend.outbox.clear()
    answers = []
    with django_capture_on_commit_callbacks(execute=True):
        for w in near[:3]:
            answers.append(services.callout_answer(actor=w.user, callout=callout))
    assert answers == ["accepted", "accepted", "too_late"]
    callout.refresh_from_db()
    assert callout.status == "filled" and callout.accepted == 2
    # Whoever had not answered when the filling committed is told, by text too (the
    # third learnt it from their own answer).
    assert [m.phone for m in MemoryBackend.outbox] == [near[3].phone()]
    # A double tap changes nothing.
    assert services.callout_answer(actor=near[0].user, callout=callout) == "accepted"
    responses = CallOutResponse.objects.filter(callout=callout, answer="accepted")
    assert all(r.seconds is not None and r.seconds >= 0 for r in responses)


def test_only_the_notified_may_answer(world, people, worker_a):
    _, far = people
    callout = services.callout_post(actor=worker_a, area=world.community_a, needed=1, **PLACE)
    with pytest.raises(NotFound):
        services.callout_answer(actor=far.user, callout=callout)


def test_a_team_leader_may_call_out_at_the_teams_community_only(world, people, worker_a):
    near, _ = people
    services.team_create(
        actor=worker_a, community=world.community_a, name="一组", leader=near[0], members=near[1:3]
    )
    services.callout_post(actor=near[0].user, area=world.community_a, needed=1, **PLACE)
    with pytest.raises(PermissionDenied):
        services.callout_post(actor=near[1].user, area=world.community_a, needed=1, **PLACE)
    with pytest.raises(PermissionDenied):
        services.callout_post(actor=near[0].user, area=world.community_b, needed=1, **PLACE)


def test_a_replayed_call_out_is_posted_once(world, people, worker_a):
    one = services.callout_post(
        actor=worker_a, area=world.community_a, needed=1, client_id="c-1", **PLACE
    )
    two = services.callout_post(
        actor=worker_a, area=world.community_a, needed=1, client_id="c-1", **PLACE
    )
    assert one.pk == two.pk and CallOut.objects.count() == 1


def test_an_unfilled_call_out_expires_and_says_so(world, people, worker_a, clock):
    callout = services.callout_post(actor=worker_a, area=world.community_a, needed=3, **PLACE)
    clock.shift(3 * 3600)
    assert services.callouts_expire(actor=SYSTEM) == 1
    assert services.callouts_expire(actor=SYSTEM) == 0
    callout.refresh_from_db()
    assert callout.status == "expired"
    near, _ = people
    assert services.callout_answer(actor=near[1].user, callout=callout) == "too_late"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only")
def test_exactly_n_accept_when_many_press_at_once_on_postgresql(world, worker_a):
    """60 workers press "accept" at the same instant on their own connections."""
    workers = [
        make_worker(world.community_a, f"众{i}", password=f"Wk7-pw-crowd-{i:03d}")
        for i in range(60)
    ]
    callout = services.callout_post(actor=worker_a, area=world.community_a, needed=7, **PLACE)
    barrier = threading.Barrier(len(workers))
    answers, errors = [], []

    def press(worker):
        try:
            barrier.wait()
            answers.append(services.callout_answer(actor=worker.user, callout=callout))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=press, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert answers.count("accepted") == 7 and answers.count("too_late") == 53
    callout.refresh_from_db()
    assert callout.accepted == 7 and callout.status == "filled"
    assert CallOutResponse.objects.filter(callout=callout, answer="accepted").count() == 7
