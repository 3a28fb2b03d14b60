"""Teams (小组: a leader and members) and temporary party branches (临时党支部)."""

from collections.abc import Sequence

from django.db import transaction

from fangkong.areas.models import Area, Level
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict, DomainError
from fangkong.core.guards import authorize

from ..models import PartyBranch, Team, TeamMember, Worker
from ..permissions import can_manage_teams


def _community_of(area: Area) -> str:
    return area.code[:12]


def _check_members(actor, workers: Sequence[Worker], code: str) -> None:
    """Members serve, live or are assigned in the actor's reach and near `code`."""
    for w in workers:
        if not (w.area_code.startswith(code) or w.home_code.startswith(code)):
            raise DomainError(
                f"{w.name}未在{code}报到或居住",
                f"{w.name} has not reported in or lives at {code}",
                field="members",
            )


@transaction.atomic
def team_create(
    *, actor, community: Area, name: str, leader: Worker, members: Sequence[Worker] = ()
) -> Team:
    """A team at a community: its leader and members (each in one team at a time)."""
    authorize(actor, can_manage_teams, area=community.code)
    if community.level != Level.COMMUNITY:
        raise DomainError("小组建在社区", "a team belongs to a community", field="community")
    name = name.strip()
    if not name:
        raise DomainError("小组名称为空", "the team's name is empty", field="name")
    everyone = [leader, *[m for m in members if m.pk != leader.pk]]
    _check_members(actor, everyone, community.code)
    busy = TeamMember.objects.filter(worker__in=everyone).select_related("worker", "team").first()
    if busy is not None:
        raise Conflict(
            f"{busy.worker.name}已在小组{busy.team.name}中",
            f"{busy.worker.name} is in team {busy.team.name} already",
            field="members",
        )
    team = Team.objects.create(
        name=name, community=community, area_code=community.code, leader=leader
    )
    TeamMember.objects.bulk_create([TeamMember(team=team, worker=w) for w in everyone])
    audit_record(
        actor=actor,
        event="workforce.team_create",
        target=team,
        area_code=team.area_code,
        detail={"leader": leader.pk, "members": [w.pk for w in everyone]},
    )
    return team


@transaction.atomic
def team_members_set(
    *, actor, team: Team, leader: Worker, members: Sequence[Worker], reason: str = ""
) -> Team:
    authorize(actor, can_manage_teams, area=team.area_code)
    everyone = [leader, *[m for m in members if m.pk != leader.pk]]
    _check_members(actor, everyone, team.area_code)
    busy = (
        TeamMember.objects.filter(worker__in=everyone)
        .exclude(team=team)
        .select_related("worker", "team")
        .first()
    )
    if busy is not None:
        raise Conflict(
            f"{busy.worker.name}已在小组{busy.team.name}中",
            f"{busy.worker.name} is in team {busy.team.name} already",
            field="members",
        )
    TeamMember.objects.filter(team=team).delete()
    TeamMember.objects.bulk_create([TeamMember(team=team, worker=w) for w in everyone])
    team.leader = leader
    team.save(update_fields=["leader"])
    audit_record(
        actor=actor,
        event="workforce.team_members_set",
        target=team,
        area_code=team.area_code,
        reason=reason,
        detail={"leader": leader.pk, "members": [w.pk for w in everyone]},
    )
    return team


def _check_party(workers: Sequence[Worker], area: Area) -> None:
    community = _community_of(area)
    for w in workers:
        if not w.party_member:
            raise DomainError(
                f"{w.name}不是党员", f"{w.name} is not a party member", field="members"
            )
        if not w.area_code.startswith(community):
            raise DomainError(
                f"{w.name}未在本社区报到",
                f"{w.name} has not reported in at this community",
                field="members",
            )


@transaction.atomic
def branch_create(
    *,
    actor,
    area: Area,
    name: str,
    secretary: Worker,
    members: Sequence[Worker] = (),
) -> PartyBranch:
    """A temporary party branch by compound, community or site (an area at or below a
    community); its members are party members who reported in there."""
    authorize(actor, can_manage_teams, area=area.code)
    if area.level not in (Level.COMMUNITY, Level.COMPOUND, Level.BUILDING):
        raise DomainError(
            "临时党支部建在社区、小区或点位",
            "a branch is by community, compound or site",
            field="area",
        )
    name = name.strip()
    if not name:
        raise DomainError("支部名称为空", "the branch's name is empty", field="name")
    everyone = [secretary, *[m for m in members if m.pk != secretary.pk]]
    _check_party(everyone, area)
    branch = PartyBranch.objects.create(
        name=name, area=area, area_code=area.code, secretary=secretary
    )
    branch.members.set(everyone)
    audit_record(
        actor=actor,
        event="workforce.branch_create",
        target=branch,
        area_code=area.code,
        detail={"secretary": secretary.pk, "members": [w.pk for w in everyone]},
    )
    return branch


@transaction.atomic
def branch_members_add(*, actor, branch: PartyBranch, members: Sequence[Worker]) -> PartyBranch:
    authorize(actor, can_manage_teams, area=branch.area_code)
    _check_party(members, branch.area)
    branch.members.add(*members)
    audit_record(
        actor=actor,
        event="workforce.branch_members_add",
        target=branch,
        area_code=branch.area_code,
        detail={"members": [w.pk for w in members]},
    )
    return branch
