"""Teams (a leader and members, one team at a time) and temporary party branches
(party members who reported in; their hours and tasks)."""

import pytest
from django.utils import timezone

from fangkong.core.errors import Conflict, DomainError, PermissionDenied
from fangkong.workforce import selectors, services
from fangkong.workforce.models import Answer, CallOutResponse
from fangkong.workforce.services import DutyEvent

from .conftest import cid, make_worker


@pytest.fixture
def three(world):
    return [
        make_worker(world.community_a, n, party=True, password=f"Wk7-pw-{i}-abcdef")
        for i, n in enumerate("甲乙丙")
    ]


def test_a_team_of_one_leader_and_two(world, three, worker_a):
    team = services.team_create(
        actor=worker_a,
        community=world.community_a,
        name="第1组",
        leader=three[0],
        members=three[1:],
    )
    assert team.leader == three[0]
    assert sorted(w.pk for w in selectors.team_members(team)) == sorted(w.pk for w in three)
    with pytest.raises(Conflict):
        services.team_create(
            actor=worker_a, community=world.community_a, name="第2组", leader=three[1]
        )


def test_teams_are_formed_by_the_community_they_belong_to(world, three, worker_b):
    with pytest.raises(PermissionDenied):
        services.team_create(actor=worker_b, community=world.community_a, name="x", leader=three[0])


def test_members_must_serve_or_live_there(world, three, worker_a, cadre_b):
    with pytest.raises(DomainError):
        services.team_create(
            actor=worker_a,
            community=world.community_a,
            name="x",
            leader=three[0],
            members=[cadre_b],
        )


def test_a_branch_takes_party_members_who_reported_in_and_counts_their_work(
    world, three, worker_a, clock
):
    not_party = make_worker(world.community_a, "丁")
    with pytest.raises(DomainError):
        services.branch_create(
            actor=worker_a, area=world.compound_a, name="支部", secretary=not_party
        )
    branch = services.branch_create(
        actor=worker_a,
        area=world.compound_a,
        name="幸福小区临时党支部",
        secretary=three[0],
        members=three[1:],
    )
    post = services.post_create(
        actor=worker_a, area=world.compound_a, name="东门", kind="checkpoint"
    )
    code = services.post_code(actor=worker_a, post=post)
    start = timezone.now()
    services.attendance_upload(
        actor=three[0].user, events=[DutyEvent(cid(), "in", start, code=code)]
    )
    clock.shift(3 * 3600)  # 21:00: still inside the day-only workers' hours (call-out below)
    services.attendance_upload(
        actor=three[0].user, events=[DutyEvent(cid(), "out", timezone.now(), code=code)]
    )
    services.attendance_upload(
        actor=three[1].user, events=[DutyEvent(cid(), "in", timezone.now(), code=code)]
    )
    activity = selectors.branch_activity(branch)
    assert activity.members == 3
    assert activity.hours == pytest.approx(3.0, abs=0.05)
    assert activity.duties == 1
    on_duty = selectors.on_duty(branch.members.all())
    assert [a.worker_id for a in on_duty] == [three[1].pk]
    # A call-out answered is a task done too.
    callout = services.callout_post(
        actor=worker_a, area=world.community_a, place="p", lat=26.21, lon=111.6, needed=1
    )
    assert CallOutResponse.objects.filter(callout=callout, worker=three[2]).exists()
    services.callout_answer(actor=three[2].user, callout=callout)
    assert CallOutResponse.objects.filter(answer=Answer.ACCEPTED).count() == 1
    assert selectors.branch_activity(branch).tasks == 2
