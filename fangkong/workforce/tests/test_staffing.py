"""Staffing requests and their allocation: the solver under the app's hard constraints
and cost, every unfilled seat with its reason, adjusted and confirmed by a person; the
same allocation proposes substitutes for opened shifts."""

import datetime as dt

import pytest
from django.utils import timezone

from fangkong.core.errors import Conflict, DomainError, PermissionDenied
from fangkong.core.messaging import MemoryBackend
from fangkong.workforce import costing, services
from fangkong.workforce.models import (
    Assignment,
    ProposedSeat,
    Shift,
    ShiftStatus,
    Skill,
    StaffingRequest,
    Unfilled,
    Worker,
)

from .conftest import make_worker

TOMORROW = dt.date(2026, 11, 24)


def file(actor, area, count, *, skill=None, preferred=None, hours=(dt.time(8), dt.time(18)), **kw):
    return services.request_file(
        actor=actor,
        area=area,
        count=count,
        post_kind=kw.get("post_kind", "checkpoint"),
        first_day=TOMORROW,
        last_day=TOMORROW + dt.timedelta(days=2),
        hours_from=hours[0],
        hours_until=hours[1],
        required_skill=Skill.objects.get(code=skill) if skill else None,
        preferred_skill=Skill.objects.get(code=preferred) if preferred else None,
    )


@pytest.fixture
def crowd(world):
    """Six workers in A, four in B; two medics, one who takes nights, one quarantined."""
    a = [make_worker(world.community_a, f"A{i}", password=f"Wk7-pw-a-{i}-xxxx") for i in range(6)]
    b = [make_worker(world.community_b, f"B{i}", password=f"Wk7-pw-b-{i}-xxxx") for i in range(4)]
    for w in (a[0], b[0]):
        w.skills.add(Skill.objects.get(code="medical"))
    Worker.objects.filter(pk=a[1].pk).update(nights=True)
    Worker.objects.filter(pk=a[2].pk).update(
        status="close_contact", status_until=timezone.now() + dt.timedelta(days=10)
    )
    return a, b


def test_a_run_fills_what_it_can_and_says_why_not_for_the_rest(
    world, crowd, worker_a, worker_b, command_user
):
    a, b = crowd
    medics = file(worker_a, world.community_a, 3, skill="medical")
    night = file(worker_b, world.community_b, 2, hours=(dt.time(22), dt.time(6)))
    english = file(worker_a, world.community_a, 1, skill="english")
    plain = file(worker_b, world.community_b, 3)
    run = services.allocation_run(actor=command_user, area=world.district)
    seats = {s.request_id: [] for s in ProposedSeat.objects.filter(run=run)}
    for s in ProposedSeat.objects.filter(run=run).select_related("worker"):
        seats[s.request_id].append(s)
    # Required skill and availability are hard constraints.
    assert {s.worker_id for s in seats[medics.pk] if s.worker_id} == {a[0].pk, b[0].pk}
    assert {s.worker_id for s in seats[night.pk] if s.worker_id} == {a[1].pk}
    placed = [s.worker_id for s in ProposedSeat.objects.filter(run=run, worker__isnull=False)]
    assert a[2].pk not in placed  # quarantined
    assert len(placed) == len(set(placed))  # one seat a worker
    # Every unfilled seat says why.
    assert [s.unfilled for s in seats[english.pk]] == [Unfilled.NO_SKILL]
    assert {s.unfilled for s in seats[medics.pk] if not s.worker_id} == {Unfilled.ALL_TAKEN}
    assert [s.unfilled for s in seats[night.pk] if not s.worker_id] == [Unfilled.ALL_TAKEN]
    assert all(s.worker_id for s in seats[plain.pk])
    assert run.filled == len(placed) == 6 and run.seats == 9
    # The optimum fills no fewer seats than the greedy baseline, at no greater cost then.
    assert run.filled >= run.greedy_filled
    if run.filled == run.greedy_filled:
        assert run.cost <= run.greedy_cost + 1e-6


def test_the_proposals_cost_is_the_one_cost_function(world, crowd, worker_a, command_user):
    file(worker_a, world.community_a, 2, preferred="drive_c1")
    run = services.allocation_run(actor=command_user, area=world.district)
    for seat in ProposedSeat.objects.filter(run=run, worker__isnull=False).select_related("worker"):
        verdict = costing.judge_seat(seat, seat.worker)
        assert verdict.refusal is None
        assert seat.cost == pytest.approx(verdict.cost)
        # Nobody drives: 3 for the preferred skill, plus the distance (same community: 0).
        assert seat.cost == pytest.approx(3.0 + seat.distance_km)
    assert run.cost == pytest.approx(
        sum(s.cost for s in ProposedSeat.objects.filter(run=run, worker__isnull=False))
    )


def test_a_person_adjusts_within_the_hard_constraints_and_confirms(
    world, crowd, worker_a, command_user, django_capture_on_commit_callbacks
):
    a, b = crowd
    request = file(worker_a, world.community_a, 1, skill="medical")
    run = services.allocation_run(actor=command_user, area=world.district)
    seat = ProposedSeat.objects.get(run=run, request=request)
    assert seat.worker_id == a[0].pk
    with pytest.raises(DomainError):
        services.seat_adjust(actor=command_user, seat=seat, worker=a[3], reason="换人")  # no skill
    services.seat_adjust(actor=command_user, seat=seat, worker=b[0], reason="就近")
    seat.refresh_from_db()
    assert seat.worker_id == b[0].pk and seat.adjusted and seat.distance_km > 1
    MemoryBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.allocation_confirm(actor=command_user, run=run) == 1
    assignment = Assignment.objects.get()
    assert assignment.worker_id == b[0].pk and assignment.area_code == world.community_a.code
    request.refresh_from_db()
    assert request.filled == 1 and request.status == "filled"
    assert [m.phone for m in MemoryBackend.outbox] == [b[0].phone()]
    # Placed: not proposed again for the same days.
    file(worker_a, world.community_a, 1, skill="medical")
    second = services.allocation_run(actor=command_user, area=world.district)
    assert ProposedSeat.objects.get(run=second).worker_id == a[0].pk


def test_a_retried_confirm_answers_as_the_first_and_a_conflicting_decision_is_refused(
    world, crowd, worker_a, command_user, django_capture_on_commit_callbacks
):
    from fangkong.core.models import AuditEvent
    from fangkong.factories import make_user

    file(worker_a, world.community_a, 1, skill="medical")
    run = services.allocation_run(actor=command_user, area=world.district)
    MemoryBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.allocation_confirm(actor=command_user, run=run) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.allocation_confirm(actor=command_user, run=run) == 1  # the retry
    assert Assignment.objects.count() == 1 and len(MemoryBackend.outbox) == 1
    assert StaffingRequest.objects.get().filled == 1
    assert AuditEvent.objects.filter(event="workforce.allocation_confirm").count() == 1
    other = make_user("command2", "command", world.district)
    with pytest.raises(Conflict):
        services.allocation_confirm(actor=other, run=run)
    with pytest.raises(Conflict):
        services.allocation_discard(actor=command_user, run=run, reason="重来")


def test_a_retried_discard_answers_as_the_first_and_confirm_after_it_is_refused(
    world, crowd, worker_a, command_user
):
    file(worker_a, world.community_a, 1, skill="medical")
    run = services.allocation_run(actor=command_user, area=world.district)
    first = services.allocation_discard(actor=command_user, run=run, reason="重来")
    again = services.allocation_discard(actor=command_user, run=run, reason="重来")
    assert first.status == again.status == "discarded" and first.decided_at == again.decided_at
    with pytest.raises(Conflict):
        services.allocation_confirm(actor=command_user, run=run)
    assert not Assignment.objects.exists()


def test_only_the_command_centre_allocates(world, crowd, worker_a):
    file(worker_a, world.community_a, 1)
    with pytest.raises(PermissionDenied):
        services.allocation_run(actor=worker_a, area=world.community_a)


def test_a_quarantined_worker_is_replaced_by_the_same_allocation_and_the_leader_confirms(
    world, crowd, worker_a, clock
):
    a, b = crowd
    leader = a[5]
    team = services.team_create(
        actor=worker_a,
        community=world.community_a,
        name="一组",
        leader=leader,
        members=[a[3], a[4]],
    )
    post = services.post_create(
        actor=worker_a, area=world.compound_a, name="东门", kind="checkpoint", team=team
    )
    start = timezone.make_aware(dt.datetime.combine(TOMORROW, dt.time(8)))
    shift = services.shifts_create(
        actor=worker_a, post=post, slots=[(start, start + dt.timedelta(hours=8), a[3])]
    )[0]
    services.worker_set_status(
        actor=worker_a,
        worker=a[3],
        status="close_contact",
        reason="密接",
        until=start + dt.timedelta(days=7),
    )
    shift.refresh_from_db()
    assert (
        shift.worker is None and shift.status == ShiftStatus.PROPOSED and shift.proposed is not None
    )
    assert shift.proposed_id not in (a[3].pk, a[2].pk)  # not the quarantined
    assert "密接" in shift.opened_reason
    # Another team's leader may not confirm; this team's may.
    with pytest.raises(PermissionDenied):
        services.substitute_confirm(actor=a[4].user, shift=shift)
    services.substitute_confirm(actor=leader.user, shift=shift)
    shift.refresh_from_db()
    assert shift.status == ShiftStatus.PLANNED and shift.worker_id is not None
    assert Shift.objects.filter(worker=a[3]).count() == 0


def test_a_stored_proposal_prices_each_seat_as_one_pair_is_priced_teams_included(
    world, worker_a, worker_b, command_user
):
    """The proposal's seats are priced all at once when stored; each must equal the cost
    of that one worker on that one seat (what a person's adjustment is judged by),
    including the team term for a member placed away from the team's community."""
    a = [make_worker(world.community_a, f"A{i}") for i in range(3)]
    services.team_create(
        actor=worker_a, community=world.community_a, name="一组", leader=a[0], members=a[1:]
    )
    file(worker_b, world.community_b, 2, preferred="medical")
    run = services.allocation_run(actor=command_user, area=world.district)
    seats = list(
        ProposedSeat.objects.filter(run=run, worker__isnull=False).select_related("worker")
    )
    assert len(seats) == 2
    apart = costing.weights_rule(world.district.code).value.team_apart
    for seat in seats:
        verdict = costing.judge_seat(seat, seat.worker)
        assert seat.cost == pytest.approx(verdict.cost)
        assert seat.distance_km == pytest.approx(verdict.distance_km)
        assert seat.cost == pytest.approx(seat.distance_km + 3.0 + apart)
    assert run.cost == pytest.approx(sum(s.cost for s in seats))
