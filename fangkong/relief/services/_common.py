"""What the relief services share: a need's history, who to tell, the assignee rules."""

from django.contrib.auth import get_user_model
from django.utils import timezone

from fangkong.areas.models import ancestor_codes
from fangkong.core.actors import is_system, user_of
from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.notifications import Recipient, notify
from fangkong.core.roles import Role
from fangkong.workforce.selectors import team_has_member

from ..models import DispatchTeam, ReliefRequest, RequestEvent

# Who may be given a delivery.
DELIVERERS = frozenset({Role.WORKER, Role.GRID, Role.BUILDING, Role.COMMUNITY})
LEVEL_ROLE = {"community": Role.COMMUNITY, "street": Role.STREET, "command": Role.COMMAND}


def event(request: ReliefRequest, kind: str, actor, note: str = "", **detail) -> RequestEvent:
    step = history_step(request, kind, actor, note, **detail)
    step.save(force_insert=True)
    return step


def history_step(
    request: ReliefRequest, kind: str, actor, note: str = "", **detail
) -> RequestEvent:
    """A step of the need's history, not yet saved (`event` saves it)."""
    return RequestEvent(
        request=request,
        at=timezone.now(),
        kind=kind,
        status=request.status,
        actor=user_of(actor),
        actor_name=actor.username,
        note=note[:1000],
        detail=detail,
    )


def staff_of(levels, area_code: str):
    """Active users holding the named levels' roles over `area_code` (an area above it
    or itself in their jurisdiction)."""
    roles = [LEVEL_ROLE[level] for level in levels if level in LEVEL_ROLE]
    if not roles:
        return []
    User = get_user_model()
    return list(
        User.objects.filter(
            role__in=roles, is_active=True, areas__code__in=ancestor_codes(area_code)
        ).distinct()
    )


def household_users(household_id: int):
    """The resident accounts of a household (they see its needs and are told)."""
    User = get_user_model()
    return list(
        User.objects.filter(role=Role.RESIDENT, is_active=True, resident__household_id=household_id)
    )


def tell_household(request: ReliefRequest, text_zh: str, text_en: str, *, sms=False) -> None:
    from django.urls import reverse

    users = household_users(request.household_id)
    if users:
        notify(
            recipients=[Recipient(u) for u in users],
            kind="relief.status",
            text_zh=text_zh,
            text_en=text_en,
            url=reverse("relief:mine"),
            sms=sms,
        )


def is_mine(actor, request: ReliefRequest) -> bool:
    """The need is given to the actor, or to a team of theirs with no one on it yet."""
    if is_system(actor):
        return True
    if request.assignee_id is not None:
        return request.assignee_id == actor.pk
    if request.team_id is not None:
        return DispatchTeam.objects.filter(pk=request.team_id, members=actor).exists()
    if request.workforce_team_id is not None:
        return team_has_member(request.workforce_team_id, actor.pk)
    return False


def require_mine(actor, request: ReliefRequest) -> None:
    if not is_mine(actor, request):
        raise PermissionDenied("这项任务没有派给您", "this task is not given to you")


def check_deliverer(actor, user) -> None:
    """`user` may take deliveries and works inside the actor's jurisdiction."""
    if user is None or not user.is_active or user.role not in DELIVERERS:
        raise DomainError(
            "只能派给志愿者、网格员、楼栋长或社区工作者",
            "a need goes to a volunteer, grid worker, building leader or community worker",
            field="assignee",
        )
    if not is_system(actor) and not any(actor.may_see_area(p) for p in user.scope_prefixes()):
        raise DomainError(
            "该人员不在您的辖区内",
            "this person does not work in your jurisdiction",
            field="assignee",
        )
