"""Needs dispatched to the workforce app's teams (小组: a leader and members): one at a
time and in a batch, by service, page and API; the members see them on their task page
and the first to accept carries it; the suggestion names the teams on duty now."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from fangkong.accounts.tests.helpers import api_as
from fangkong.core.actors import SYSTEM
from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.models import Notification
from fangkong.factories import make_user
from fangkong.relief import selectors, services
from fangkong.relief.models import DispatchTeam, ReliefRequest, Status
from fangkong.workforce import services as workforce
from fangkong.workforce.models import Attendance, Post, Skill, Worker
from fangkong.workforce.tests.conftest import make_worker

from .conftest import ask

pytestmark = pytest.mark.django_db


def worker_with_login(community, name: str, username: str):
    worker = make_worker(community, name)
    user = make_user(username, "worker", community)
    Worker.objects.filter(pk=worker.pk).update(user=user)
    worker.user = user
    return worker


def on_duty(worker, community, n: int = 1) -> None:
    post, _ = Post.objects.get_or_create(
        name="配送点", kind="delivery", area=community, area_code=community.code
    )
    Attendance.objects.create(
        worker=worker,
        post=post,
        area_code=post.area_code,
        in_client_id=f"duty-{worker.pk}-{n}",
        check_in_at=timezone.now(),
    )


@pytest.fixture
def crew(tree):
    """A workforce team of community A: leader 赵一 and member 钱二 (both with logins),
    and 孙三, a member without a login."""
    leader = worker_with_login(tree.community_a, "赵一", "zhao")
    member = worker_with_login(tree.community_a, "钱二", "qian")
    no_login = make_worker(tree.community_a, "孙三")
    return workforce.team_create(
        actor=SYSTEM,
        community=tree.community_a,
        name="配送一组",
        leader=leader,
        members=[member, no_login],
    )


def users_of(crew) -> tuple:
    return crew.leader.user, Worker.objects.get(name="钱二").user


def test_a_workforce_team_takes_a_need_and_the_first_member_to_accept_carries_it(
    asker, worker_a, volunteer, crew
):
    leader, member = users_of(crew)
    need = ask(asker).request
    services.request_dispatch(actor=worker_a, request=need, workforce_team=crew)
    need.refresh_from_db()
    assert need.status == Status.ASSIGNED and need.workforce_team == crew
    assert need.assignee is None and need.team is None
    told = set(Notification.objects.filter(kind="relief.task").values_list("recipient", flat=True))
    assert told == {leader.pk, member.pk}  # the member without a login is not told
    assert need.events.get(kind="dispatched").detail["to"] == f"workforce_team:{crew.pk}"
    # Both members see it; a volunteer outside the team does not.
    for user in (leader, member):
        assert need in selectors.tasks_of(user)
        assert ReliefRequest.objects.for_user(user).filter(pk=need.pk).exists()
    assert need not in selectors.tasks_of(volunteer)
    with pytest.raises(PermissionDenied):
        services.request_accept(actor=volunteer, request=need)
    services.request_accept(actor=member, request=need)
    need.refresh_from_db()
    assert need.assignee == member
    assert need not in selectors.tasks_of(leader)  # taken by another
    with pytest.raises(PermissionDenied):
        services.request_pick_up(actor=leader, request=need)
    services.request_pick_up(actor=member, request=need)
    services.request_deliver(actor=member, request=need, code=need.confirm_code)
    assert ReliefRequest.objects.get(pk=need.pk).status == Status.CONFIRMED


def test_a_problem_sends_it_back_to_the_queue_with_no_team(asker, worker_a, crew):
    leader, _ = users_of(crew)
    need = ask(asker).request
    services.request_dispatch(actor=worker_a, request=need, workforce_team=crew)
    need = services.request_report_problem(actor=leader, request=need, reason="联系不上")
    assert need.status == Status.OPEN and need.workforce_team is None
    assert need not in selectors.tasks_of(leader)


def test_batch_dispatch_to_a_workforce_team(worker_a, crew, tree):
    leader, member = users_of(crew)
    households = [tree.household_a1, tree.household_a2]
    needs = [ask(worker_a, "groceries", household=h).request for h in households]
    batch = services.requests_dispatch_batch(actor=worker_a, requests=needs, workforce_team=crew)
    assert batch.workforce_team == crew and batch.size == 2
    assert ReliefRequest.objects.filter(workforce_team=crew, batch=batch).count() == 2
    assert Notification.objects.filter(recipient=member, kind="relief.task").count() == 1
    assert {n.pk for n in selectors.tasks_of(leader)} == {n.pk for n in needs}


def test_refused_one_taker_only_a_team_nobody_can_take_and_one_out_of_reach(
    asker, worker_a, volunteer, crew, tree
):
    need = ask(asker).request
    with pytest.raises(DomainError):
        services.request_dispatch(
            actor=worker_a, request=need, assignee=volunteer, workforce_team=crew
        )
    silent = workforce.team_create(
        actor=SYSTEM,
        community=tree.community_a,
        name="无人组",
        leader=make_worker(tree.community_a, "李四"),
    )
    with pytest.raises(DomainError) as refused:
        services.request_dispatch(actor=worker_a, request=need, workforce_team=silent)
    assert refused.value.field == "workforce_team"
    # A team whose members with logins are all away (sick) cannot take it either; one who
    # is away is not told of a need given to their team.
    leader, member = users_of(crew)
    Worker.objects.filter(user__in=[leader, member]).update(status="sick")
    with pytest.raises(DomainError):
        services.request_dispatch(actor=worker_a, request=need, workforce_team=crew)
    Worker.objects.filter(user=member).update(status="available")
    services.request_dispatch(actor=worker_a, request=need, workforce_team=crew)
    told = Notification.objects.filter(kind="relief.task").values_list("recipient", flat=True)
    assert list(told) == [member.pk]
    services.request_report_problem(actor=member, request=need, reason="重新派")
    other = workforce.team_create(
        actor=SYSTEM,
        community=tree.community_b,
        name="B组",
        leader=worker_with_login(tree.community_b, "周五", "zhou"),
    )
    with pytest.raises(DomainError):
        services.request_dispatch(actor=worker_a, request=need, workforce_team=other)
    assert ReliefRequest.objects.get(pk=need.pk).status == Status.OPEN
    assert not ReliefRequest.objects.filter(workforce_team=other).exists()


def test_a_need_never_has_both_kinds_of_team(asker, worker_a, volunteer, crew, tree):
    team = services.team_create(
        actor=worker_a, community=tree.community_a, name="一组", members=[volunteer]
    )
    need = ask(asker).request
    with pytest.raises(IntegrityError), transaction.atomic():
        ReliefRequest.objects.filter(pk=need.pk).update(team=team, workforce_team=crew)


def test_the_suggestion_names_the_teams_on_duty(asker, worker_a, crew, tree, client_for):
    idle = workforce.team_create(
        actor=SYSTEM,
        community=tree.community_a,
        name="配送二组",
        leader=worker_with_login(tree.community_a, "吴六", "wu"),
    )
    need = ask(asker, "medicine").request
    assert selectors.suggest_teams(need) == []  # nobody on duty yet
    medical = Skill.objects.create(code="medical", kind="medical", name_zh="医护", name_en="Med")
    crew.leader.skills.add(medical)
    on_duty(crew.leader, tree.community_a)
    suggested = selectors.suggest_teams(need)
    assert [s.team for s in suggested] == [crew]  # the idle team is not suggested
    assert (suggested[0].on_duty, suggested[0].reachable, suggested[0].skilled) == (1, 2, 1)
    # Both teams are on the form, the team on duty as a suggestion.
    assert set(selectors.workforce_teams_for(need)) == {crew, idle}
    page = client_for(worker_a).get(reverse("relief:request", args=[need.pk])).content.decode()
    assert f'name="workforce_team" value="{crew.pk}"' in page
    assert f'name="workforce_team" value="{idle.pk}"' not in page
    assert "配送二组" in page  # in the select


def test_the_pages_dispatch_to_a_workforce_team_and_its_members_see_it(
    asker, worker_a, crew, tree, client_for
):
    leader, member = users_of(crew)
    first = ask(asker).request
    second = ask(worker_a, "groceries", household=tree.household_a2).request
    client = client_for(worker_a)
    assert "配送一组" in client.get(reverse("relief:queue")).content.decode()
    client.post(reverse("relief:dispatch", args=[first.pk]), {"workforce_team": crew.pk})
    client.post(reverse("relief:batch"), {"need": [second.pk], "workforce_team": crew.pk})
    assert ReliefRequest.objects.filter(workforce_team=crew).count() == 2
    page = client_for(member).get(reverse("relief:tasks")).content.decode()
    assert f"#{first.pk}" in page and f"#{second.pk}" in page
    client.post(reverse("relief:task_step", args=[first.pk, "accept"]))
    assert ReliefRequest.objects.get(pk=first.pk).assignee == member


def test_the_api_dispatches_to_a_workforce_team_within_reach(asker, worker_a, crew, tree):
    need = ask(asker).request
    other = workforce.team_create(
        actor=SYSTEM,
        community=tree.community_b,
        name="B组",
        leader=worker_with_login(tree.community_b, "周五", "zhou"),
    )
    staff = api_as(worker_a)
    hidden = staff.post(f"/relief/requests/{need.pk}/dispatch", {"workforce_team": other.pk})
    assert hidden.status_code == 404
    done = staff.post(f"/relief/requests/{need.pk}/dispatch", {"workforce_team": crew.pk})
    assert done.status_code == 200, done.content
    assert done.json()["workforce_team"] == "配送一组" and done.json()["team"] is None
    more = ask(worker_a, "groceries", household=tree.household_a2).request
    batch = staff.post(
        "/relief/requests/dispatch-batch", {"requests": [more.pk], "workforce_team": crew.pk}
    )
    assert batch.status_code == 200 and batch.json()["size"] == 1
    on_duty(crew.leader, tree.community_a)
    suggested = staff.get(f"/relief/requests/{more.pk}/team-suggestions").json()
    assert [s["workforce_team"] for s in suggested] == [crew.pk]
    assert suggested[0]["on_duty"] == 1 and suggested[0]["open_tasks"] == 2


def test_relief_teams_still_work_beside_them(asker, worker_a, volunteer, tree):
    team = services.team_create(
        actor=worker_a, community=tree.community_a, name="一组", members=[volunteer]
    )
    need = ask(asker).request
    services.request_dispatch(actor=worker_a, request=need, team=team)
    assert need in selectors.tasks_of(volunteer)
    assert DispatchTeam.objects.filter(pk=team.pk).exists()
