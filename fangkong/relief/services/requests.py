"""Needs: register (merging a household's repeat of an open need), dispatch, carry out,
confirm or complain, reopen, cancel; teams, categories, escalations acknowledged."""

import contextlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from fangkong.areas.models import Area, Household, Level
from fangkong.core import bulksql, ids
from fangkong.core.actors import is_system, user_of
from fangkong.core.audit import audit_prepare, audit_record
from fangkong.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from fangkong.core.guards import authorize, required_reason
from fangkong.core.notifications import Recipient, notify
from fangkong.core.phones import PhoneError, mask_phone, normalize_phone
from fangkong.core.pii import encrypt
from fangkong.core.roles import Role
from fangkong.people.selectors import (
    resident_contact,
    residents_matching,
    search_term,
    user_contact,
)
from fangkong.workforce.selectors import team_member_users

from .. import categories
from ..models import (
    ACTIVE,
    Category,
    DispatchBatch,
    DispatchTeam,
    Escalation,
    EventKind,
    Kind,
    Proof,
    ReliefRequest,
    Status,
    Submission,
    Urgency,
)
from ..models.requests import Channel
from ..permissions import (
    can_deliver,
    can_manage_categories,
    can_manage_teams,
    can_register_for_resident,
    can_request_help,
    can_triage,
)
from ..policies import SLA
from ..sla import deadline_for
from . import _asks
from ._common import (
    check_deliverer,
    event,
    history_step,
    require_mine,
    staff_of,
    tell_household,
)
from ._common import event as record_event

MAX_CODE_ATTEMPTS = 5
DISPATCHABLE = (Status.OPEN, Status.ASSIGNED, Status.ACCEPTED)


@dataclass
class Registered:
    """What became of an ask: `created`, `merged` into the household's open need of the
    same category, or `repeat` (this client id was sent before: nothing changed)."""

    request: ReliefRequest
    outcome: str

    @property
    def message(self) -> tuple[str, str]:
        n = self.request.pk
        if self.outcome == "merged":
            return (
                f"您家已有同类诉求（#{n}）在处理中，本次已合并，不会重复派送",
                f"your household already has this need open (#{n}); this ask was merged "
                "into it, not sent twice",
            )
        return (f"诉求已登记（#{n}）", f"need registered (#{n})")


def _locked(request: ReliefRequest) -> ReliefRequest:
    return ReliefRequest.objects.select_for_update().get(pk=request.pk)


def _category(code: str, area_code: str, *, resident: bool) -> Category:
    # A community's own category of a code wins over the built-in one.
    category = categories.find(code, area_code, residents=resident)
    if category is None:
        raise DomainError(
            f"没有“{code}”这一诉求类别", f"there is no category of need {code!r}", field="category"
        )
    return category


def _urgency(value: str | None, category: Category) -> str:
    value = value or category.urgency
    if value not in Urgency.values:
        raise DomainError(
            "紧急程度应为 critical、urgent 或 normal",
            "urgency must be critical, urgent or normal",
            field="urgency",
        )
    return value


def _household(actor, household: Household | int | None, resident_id: int | None):
    """The household the need is for (its id and area code), and the asking resident's
    contact if a resident asks, checked for the actor: a resident asks for their own
    household only."""
    own = None
    if actor.role == Role.RESIDENT:
        authorize(actor, can_request_help)
        own = user_contact(actor)  # the API's token look-up brought the record along
        if own is None:  # not linked, or the linked record is gone
            raise PermissionDenied(
                "您的账号尚未关联居民信息，请联系社区",
                "your account is not linked to a resident record; ask your community",
            )
        wanted = getattr(household, "pk", household)
        if wanted not in (None, own.household_id):
            raise PermissionDenied(
                "只能为本户登记诉求", "you may ask only for your own household", field="household"
            )
        household_id, area_code = own.household_id, own.area_code
    else:
        authorize(actor, can_register_for_resident)
        if household is None and resident_id is not None:
            contact = _resident_for(actor, resident_id)
            household = contact.household_id
        if not isinstance(household, Household):
            household = Household.objects.filter(pk=household).first() if household else None
        if household is None:
            raise NotFound("没有这一户", "no such household", field="household")
        authorize(actor, area=household.area_code)
        household_id, area_code = household.pk, household.area_code
    if resident_id is not None and resident_id != getattr(own, "resident_id", None):
        members = (
            residents_matching(actor, search_term(""), household=household_id)
            if not is_system(actor)
            else None
        )
        if members is not None and not members.filter(pk=resident_id).exists():
            raise DomainError(
                "该居民不在这一户",
                "this resident does not live in this household",
                field="resident",
            )
    return household_id, area_code, own


def _resident_for(actor, resident_id: int):
    visible = residents_matching(actor, search_term("")) if not is_system(actor) else None
    if visible is not None and not visible.filter(pk=resident_id).exists():
        raise NotFound("没有这位居民或不在您的辖区内", "no such resident here", field="resident")
    contact = resident_contact(resident_id)
    if contact is None:
        raise NotFound("没有这位居民", "no such resident", field="resident")
    return contact


def _contact(own, resident_id: int | None, phone: str) -> tuple[str, str]:
    """Who to call about the need: a phone typed by the worker, else the asking resident,
    else the resident it is for."""
    if phone:
        try:
            return "", normalize_phone(phone)
        except PhoneError as exc:
            raise DomainError(exc.zh, exc.en, field="contact_phone") from None
    if own is not None and own.phone:
        return own.name, own.phone
    if resident_id:
        contact = resident_contact(resident_id)
        if contact and contact.phone:
            return contact.name, contact.phone
    return "", ""


def request_register(
    *,
    actor,
    category: str,
    household: Household | int | None = None,
    resident: int | None = None,
    urgency: str | None = None,
    detail: str = "",
    contact_phone: str = "",
    client_id: str = "",
    channel: str | None = None,
) -> Registered:
    """Register a need. A resident asks for their own household (for themself or a
    family member); a worker for any household of their jurisdiction. The deadline comes
    from the SLA policy in force (its version kept). A need of the same category already
    open for the household takes this ask in (merged, and the asker is told); the same
    `client_id` sent again answers what the first sending did.

    The busy path (a morning after a sealing announcement) is lean: a retry is one
    query; a new ask reads the submission and nothing else (the resident came with the
    API's token, categories and the SLA policy come from memory), then writes the need,
    the submission, its history step and the audit record: on PostgreSQL in one
    statement that also brings the address back (services/_asks.py), elsewhere in one
    transaction."""
    client_id = (client_id or "").strip()[:64] or ids.client_id()
    previous = _previous(actor, client_id)
    if previous is not None:
        return previous
    household_id, area_code, own = _household(actor, household, resident)
    is_resident = actor.role == Role.RESIDENT
    found = _category(category, area_code, resident=is_resident)
    urgency = _urgency(urgency, found)
    detail = (detail or "").strip()
    if len(detail) > 1000:
        raise DomainError(
            "说明不能超过1000字", "the detail is over 1,000 characters", field="detail"
        )
    if channel is None:
        if is_resident:
            channel = Channel.SELF if resident in (None, actor.resident_id) else Channel.FAMILY
        else:
            channel = Channel.ON_BEHALF
    contact_name, phone = _contact(own, resident, contact_phone)
    now = timezone.now()
    rule = SLA.at(now, area_code)
    critical = urgency == Urgency.CRITICAL
    try:
        with _writing(critical):
            need = ReliefRequest(
                household_id=household_id,
                area_code=area_code,
                resident_id=resident,
                category=found,
                kind=found.kind,
                urgency=urgency,
                detail=detail,
                channel=channel,
                registered_at=now,
                registered_by=user_of(actor),
                registered_by_name=actor.username,
                deadline=deadline_for(now, urgency, rule.value),
                sla_version=rule.version,
                sla_minutes=rule.value.minutes(urgency),
                contact_name=contact_name,
                contact_phone_cipher=encrypt(phone),
                contact_phone_masked=mask_phone(phone),
            )
            submission = Submission(actor_key=actor.username, client_id=client_id, at=now)
            step = history_step(
                need, EventKind.REGISTERED, actor, detail, urgency=urgency, channel=channel
            )
            audit = audit_prepare(
                actor=actor,
                event="relief.request_register",
                target=need,
                area_code=need.area_code,
                detail={"category": found.code, "urgency": urgency, "channel": channel},
            )
            if bulksql.is_postgres():
                _asks.insert(need, submission, step, audit)
            else:
                need.save(force_insert=True)
                for row in (submission, step):
                    row.request = need
                    row.save(force_insert=True)
                audit.target_id, audit.target_label = str(need.pk), str(need)[:200]
                audit.save(force_insert=True)
            if critical:
                _tell_staff(need, ["community"], f"紧急诉求#{need.pk}（{found.name_zh}）待派单")
    except IntegrityError:
        with transaction.atomic():
            previous = _previous(actor, client_id)
            if previous is not None:  # the same ask, sent twice at once
                return previous
            return _merge(actor, household_id, found, detail, client_id)
    return Registered(need, "created")


def _writing(critical: bool):
    """Where a new need is written: in a transaction of its own, or (on PostgreSQL, in
    autocommit, a need that tells no one) as the one statement that writes it, atomic
    by itself, without the round trips of BEGIN and COMMIT. Inside a caller's
    transaction, a savepoint: a broken rule must leave the caller's work standing."""
    if bulksql.is_postgres() and not critical and not transaction.get_connection().in_atomic_block:
        return contextlib.nullcontext()
    return transaction.atomic()


def _previous(actor, client_id: str) -> Registered | None:
    """The answer to an ask this actor sent before with this client id (its need with
    what a reply shows: the category and the address, in the same query)."""
    if bulksql.is_postgres():
        need = _asks.previous(actor.username, client_id, _asks.category_getter(categories.active()))
        return None if need is None else Registered(need, "repeat")
    sent = (
        Submission.objects.filter(actor_key=actor.username, client_id=client_id)
        .select_related("request__category", "request__household__building__parent")
        .first()
    )
    return None if sent is None else Registered(sent.request, "repeat")


def _merge(actor, household_id: int, category, detail: str, client_id: str) -> Registered:
    need = (
        ReliefRequest.objects.select_for_update(of=("self",))
        .select_related("category", "household__building__parent")
        .filter(household_id=household_id, category=category, status__in=ACTIVE, plan__isnull=True)
        .first()
    )
    if need is None:  # closed meanwhile: extremely unlikely; ask again
        raise Conflict("请稍后重试", "please try again in a moment")
    # The same ask sent twice at once: the twin merged it while this one waited for the
    # lock, and its submission is committed now; answer what it did.
    twin = _previous(actor, client_id)
    if twin is not None:
        return twin
    need.repeats += 1  # the row is locked: no one else counts meanwhile
    need.save(update_fields=["repeats"])
    Submission.objects.create(
        actor_key=actor.username, client_id=client_id, request=need, merged=True
    )
    event(need, EventKind.MERGED, actor, detail)
    audit_record(
        actor=actor,
        event="relief.request_merge",
        target=need,
        area_code=need.area_code,
        detail={"category": category.code},
    )
    return Registered(need, "merged")


def _tell_staff(need: ReliefRequest, levels, text_zh: str, *, sms: bool = False) -> None:
    users = staff_of(levels, need.area_code)
    if users:
        notify(
            recipients=[Recipient(u) for u in users],
            kind="relief.need",
            text_zh=text_zh,
            text_en=f"need #{need.pk}: {text_zh}",
            url=reverse("relief:request", args=[need.pk]),
            sms=sms,
        )


# Dispatch ------------------------------------------------------------------------------


def _target(actor, assignee, team, workforce_team=None) -> tuple:
    """The one taker chosen: a person, a relief team or a workforce team."""
    if sum(x is not None for x in (assignee, team, workforce_team)) != 1:
        raise DomainError(
            "请选择一名人员或一个小组", "choose one person or one team", field="assignee"
        )
    if assignee is not None:
        check_deliverer(actor, assignee)
        return assignee, None, None
    if workforce_team is not None:
        if not (is_system(actor) or actor.may_see_area(workforce_team.area_code)):
            raise DomainError("该小组不可用", "this team cannot take needs", field="workforce_team")
        if not team_member_users(workforce_team.pk):
            raise DomainError(
                f"小组“{workforce_team.name}”没有能接单的成员（无登录账号或均不在岗）",
                f"team {workforce_team.name!r} has no member who could take it "
                "(none with a login, or all away)",
                field="workforce_team",
            )
        return None, None, workforce_team
    if not team.active or not (is_system(actor) or actor.may_see_area(team.area_code)):
        raise DomainError("该小组不可用", "this team cannot take needs", field="team")
    return None, team, None


def _taker_label(assignee, team, workforce_team) -> str:
    if assignee is not None:
        return assignee.username
    if team is not None:
        return f"team:{team.pk}"
    return f"workforce_team:{workforce_team.pk}"


def _check_dispatchable(need: ReliefRequest) -> None:
    if need.status not in DISPATCHABLE:
        raise DomainError(
            f"诉求#{need.pk}当前状态为“{Status(need.status).label}”，不能派单",
            f"need #{need.pk} is {Status(need.status).name.lower()} and cannot be dispatched",
            field="request",
        )


def _assign(need: ReliefRequest, assignee, team, workforce_team, batch=None, now=None) -> None:
    need.status = Status.ASSIGNED
    need.assignee, need.team, need.workforce_team = assignee, team, workforce_team
    need.batch = batch
    need.assigned_at, need.accepted_at = now or timezone.now(), None
    need.save(
        update_fields=[
            "status",
            "assignee",
            "team",
            "workforce_team",
            "batch",
            "assigned_at",
            "accepted_at",
        ]
    )


def _tell_takers(assignee, team, workforce_team, text_zh: str, text_en: str, url: str) -> None:
    if assignee is not None:
        users = [assignee]
    elif team is not None:
        users = list(team.members.filter(is_active=True))
    else:
        users = team_member_users(workforce_team.pk)
    notify(
        recipients=[Recipient(u) for u in users],
        kind="relief.task",
        text_zh=text_zh,
        text_en=text_en,
        url=url,
    )


@transaction.atomic
def request_dispatch(
    *,
    actor,
    request: ReliefRequest,
    assignee=None,
    team: DispatchTeam | None = None,
    workforce_team=None,
) -> ReliefRequest:
    """Give a need to one person or a team, relief's own or the workforce's (again, if it
    was given before and not yet picked up)."""
    authorize(actor, can_triage, area=request.area_code)
    need = _locked(request)
    _check_dispatchable(need)
    assignee, team, workforce_team = _target(actor, assignee, team, workforce_team)
    _assign(need, assignee, team, workforce_team)
    taker = _taker_label(assignee, team, workforce_team)
    event(need, EventKind.DISPATCHED, actor, str(assignee or team or workforce_team), to=taker)
    audit_record(
        actor=actor,
        event="relief.request_dispatch",
        target=need,
        area_code=need.area_code,
        detail={"to": taker},
    )
    _tell_takers(
        assignee,
        team,
        workforce_team,
        f"新任务#{need.pk}：{need.category.name_zh}，截止{timezone.localtime(need.deadline):%H:%M}",
        f"new task #{need.pk}: {need.category.name_en}",
        reverse("relief:task", args=[need.pk]),
    )
    tell_household(need, f"您的诉求#{need.pk}已派单", f"your need #{need.pk} is dispatched")
    return need


@transaction.atomic
def requests_dispatch_batch(
    *,
    actor,
    requests: Sequence[ReliefRequest | int],
    assignee=None,
    team: DispatchTeam | None = None,
    workforce_team=None,
    note: str = "",
) -> DispatchBatch:
    """Give many needs to one person or team (relief's own or the workforce's) at once (all or none: a need that cannot be
    dispatched is named and nothing is written)."""
    authorize(actor, can_triage)
    pks = sorted({r.pk if isinstance(r, ReliefRequest) else r for r in requests})
    if not pks:
        raise DomainError("请选择要派的诉求", "choose the needs to dispatch", field="requests")
    if len(pks) > 500:
        raise DomainError("一次最多派500项", "at most 500 needs at once", field="requests")
    needs = list(ReliefRequest.objects.select_for_update().filter(pk__in=pks).order_by("id"))
    missing = set(pks) - {n.pk for n in needs}
    if missing:
        raise NotFound(f"没有诉求#{min(missing)}", f"no need #{min(missing)}", field="requests")
    for need in needs:
        authorize(actor, area=need.area_code)
        _check_dispatchable(need)
    assignee, team, workforce_team = _target(actor, assignee, team, workforce_team)
    codes = sorted({n.area_code for n in needs})
    common = codes[0] if len(codes) == 1 else _common_prefix(codes)
    now = timezone.now()
    batch = DispatchBatch.objects.create(
        created_at=now,
        created_by=user_of(actor),
        assignee=assignee,
        team=team,
        workforce_team=workforce_team,
        area_code=common,
        size=len(needs),
        note=note[:200],
    )
    taker = _taker_label(assignee, team, workforce_team)
    name = str(assignee or team or workforce_team)
    for need in needs:
        _assign(need, assignee, team, workforce_team, batch, now)
        event(need, EventKind.DISPATCHED, actor, name, to=taker, batch=batch.pk)
    audit_record(
        actor=actor,
        event="relief.batch_dispatch",
        target=batch,
        area_code=common,
        detail={"to": taker, "requests": pks},
    )
    _tell_takers(
        assignee,
        team,
        workforce_team,
        f"新的批量任务：{len(needs)}项",
        f"a new batch of {len(needs)} tasks",
        reverse("relief:tasks"),
    )
    return batch


def _common_prefix(codes: list[str]) -> str:
    first, last = codes[0], codes[-1]
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[: n - n % 3]


# On the worker's phone ------------------------------------------------------------------


def _taker_check(actor, need: ReliefRequest, allowed: Iterable[str], what_zh: str, what_en: str):
    authorize(actor, can_deliver)
    require_mine(actor, need)
    if need.status not in allowed:
        raise DomainError(
            f"诉求#{need.pk}当前为“{Status(need.status).label}”，不能{what_zh}",
            f"need #{need.pk} is {Status(need.status).name.lower()}: it cannot be {what_en}",
            field="status",
        )


@transaction.atomic
def request_accept(*, actor, request: ReliefRequest) -> ReliefRequest:
    need = _locked(request)
    _taker_check(actor, need, (Status.ASSIGNED,), "接单", "accepted")
    need.status, need.assignee, need.accepted_at = Status.ACCEPTED, actor, timezone.now()
    need.save(update_fields=["status", "assignee", "accepted_at"])
    event(need, EventKind.ACCEPTED, actor)
    audit_record(actor=actor, event="relief.request_accept", target=need, area_code=need.area_code)
    return need


@transaction.atomic
def request_pick_up(
    *, actor, request: ReliefRequest, draws: Sequence[tuple] = (), client_id: str = ""
) -> ReliefRequest:
    """The goods are picked up (from a supply point: `draws` = [(stock, quantity)], drawn
    in the same transaction: all or none)."""
    from .supplies import stock_draw

    need = _locked(request)
    _taker_check(actor, need, (Status.ASSIGNED, Status.ACCEPTED), "取货", "picked up")
    now = timezone.now()
    for i, (stock, quantity) in enumerate(draws):
        stock_draw(
            actor=actor,
            stock=stock,
            quantity=quantity,
            request=need,
            client_id=f"{client_id}:{i}" if client_id else "",
        )
    need.status, need.assignee, need.picked_up_at = Status.PICKED_UP, actor, now
    need.accepted_at = need.accepted_at or now
    need.save(update_fields=["status", "assignee", "picked_up_at", "accepted_at"])
    event(need, EventKind.PICKED_UP, actor, draws=[[s.item, q] for s, q in draws])
    audit_record(actor=actor, event="relief.request_pick_up", target=need, area_code=need.area_code)
    tell_household(need, f"您的诉求#{need.pk}已在配送途中", f"your need #{need.pk} is on the way")
    return need


def request_deliver(*, actor, request: ReliefRequest, code: str = "", photo=None, note=""):
    """Delivered, with the resident's confirmation code (closes the need: the code is
    their confirmation) or a photo (the resident confirms or complains on their page).
    A wrong code is counted (and audited) even though the delivery is refused; after
    five, only a photo will do."""
    code = (code or "").strip()
    if code and not _code_ok(request, code):
        _code_failed(actor=actor, request=request)
        raise DomainError(
            "确认码不对，请核对或拍照留证",
            "the confirmation code is wrong: check it, or take a photo instead",
            field="code",
        )
    return _deliver(actor=actor, request=request, code=code, photo=photo, note=note)


def _code_ok(need: ReliefRequest, code: str) -> bool:
    fresh = ReliefRequest.objects.only("confirm_code", "code_attempts").get(pk=need.pk)
    if fresh.code_attempts >= MAX_CODE_ATTEMPTS:
        return False
    return hmac.compare_digest(fresh.confirm_code, code)


@transaction.atomic
def _code_failed(*, actor, request: ReliefRequest) -> None:
    need = _locked(request)
    _taker_check(actor, need, ACTIVE, "送达", "delivered")
    ReliefRequest.objects.filter(pk=need.pk).update(code_attempts=F("code_attempts") + 1)
    audit_record(actor=actor, event="relief.code_refuse", target=need, area_code=need.area_code)


@transaction.atomic
def _deliver(*, actor, request: ReliefRequest, code: str, photo, note: str) -> ReliefRequest:
    need = _locked(request)
    _taker_check(
        actor, need, (Status.ASSIGNED, Status.ACCEPTED, Status.PICKED_UP), "送达", "delivered"
    )
    if not code and photo is None:
        raise DomainError(
            "请输入居民的确认码，或拍照留证",
            "enter the resident's confirmation code, or take a photo",
            field="code",
        )
    if code and not _code_ok(need, code):  # checked again under the lock
        raise DomainError("确认码不对", "the confirmation code is wrong", field="code")
    now = timezone.now()
    need.assignee = need.assignee or user_of(actor)
    need.accepted_at = need.accepted_at or now
    need.picked_up_at = need.picked_up_at or now
    need.delivered_at = now
    if code:
        need.status, need.proof, need.closed_at = Status.CONFIRMED, Proof.CODE, now
    else:
        need.status, need.proof = Status.DELIVERED, Proof.PHOTO
        need.photo.save(f"{need.pk}-{now:%H%M%S}.jpg", photo, save=False)
    need.save()
    Escalation.objects.filter(request=need, resolved_at__isnull=True).update(resolved_at=now)
    event(need, EventKind.DELIVERED, actor, note, proof=need.proof, met=need.met_deadline)
    audit_record(
        actor=actor,
        event="relief.request_deliver",
        target=need,
        area_code=need.area_code,
        detail={"proof": need.proof},
    )
    if need.proof == Proof.PHOTO:
        tell_household(
            need,
            f"您的诉求#{need.pk}已送达，请确认或投诉",
            f"your need #{need.pk} is delivered: confirm it or complain",
        )
    else:
        tell_household(need, f"您的诉求#{need.pk}已送达", f"your need #{need.pk} is delivered")
    return need


@transaction.atomic
def request_report_problem(*, actor, request: ReliefRequest, reason: str) -> ReliefRequest:
    """The worker cannot carry it out (no stock, nobody home, ...): it goes back to the
    queue with the reason, which the queue shows."""
    reason = required_reason(reason)
    need = _locked(request)
    _taker_check(
        actor, need, (Status.ASSIGNED, Status.ACCEPTED, Status.PICKED_UP), "报告问题", "reported"
    )
    need.status, need.problem = Status.OPEN, reason[:300]
    need.assignee = need.team = need.workforce_team = None
    need.save(update_fields=["status", "problem", "assignee", "team", "workforce_team"])
    event(need, EventKind.PROBLEM, actor, reason)
    audit_record(
        actor=actor,
        event="relief.request_report_problem",
        target=need,
        area_code=need.area_code,
        reason=reason,
    )
    _tell_staff(need, ["community"], f"诉求#{need.pk}遇到问题：{reason[:60]}")
    return need


# The resident's side -------------------------------------------------------------------


def _own(actor, need: ReliefRequest) -> None:
    authorize(actor, can_request_help)
    if not ReliefRequest.objects.for_user(actor).filter(pk=need.pk).exists():
        raise NotFound("没有这项诉求", "no such need")


@transaction.atomic
def request_confirm(*, actor, request: ReliefRequest) -> ReliefRequest:
    _own(actor, request)
    need = _locked(request)
    if need.status != Status.DELIVERED:
        raise DomainError(
            "只有已送达的诉求可以确认", "only a delivered need can be confirmed", field="status"
        )
    need.status, need.closed_at = Status.CONFIRMED, timezone.now()
    need.save(update_fields=["status", "closed_at"])
    event(need, EventKind.CONFIRMED, actor)
    audit_record(actor=actor, event="relief.request_confirm", target=need, area_code=need.area_code)
    return need


@transaction.atomic
def request_complain(*, actor, request: ReliefRequest, reason: str) -> ReliefRequest:
    """Not received, or not right: the need opens again (with a fresh deadline) and the
    complaint stays in its history."""
    _own(actor, request)
    reason = required_reason(reason)
    need = _locked(request)
    if need.status not in (Status.DELIVERED, Status.CONFIRMED):
        raise DomainError(
            "只能对已送达的诉求投诉", "you can complain only about a delivered need", field="status"
        )
    event(need, EventKind.COMPLAINED, actor, reason)
    return _reopen(actor, need, reason, event="relief.request_complain")


@transaction.atomic
def request_reopen(*, actor, request: ReliefRequest, reason: str) -> ReliefRequest:
    """Staff open a closed need again (it was not met after all)."""
    authorize(actor, can_triage, area=request.area_code)
    reason = required_reason(reason)
    need = _locked(request)
    if need.status in ACTIVE:
        raise DomainError("诉求仍在处理中", "the need is still open", field="status")
    return _reopen(actor, need, reason, event="relief.request_reopen")


def _reopen(actor, need: ReliefRequest, reason: str, *, event: str) -> ReliefRequest:
    now = timezone.now()
    rule = SLA.at(now, need.area_code)
    need.status, need.reopened = Status.OPEN, need.reopened + 1
    need.deadline = deadline_for(now, need.urgency, rule.value)
    need.sla_version, need.sla_minutes = rule.version, rule.value.minutes(need.urgency)
    need.assignee = need.team = need.workforce_team = need.batch = None
    need.assigned_at = need.accepted_at = need.picked_up_at = None
    need.delivered_at = need.closed_at = None
    need.proof, need.problem, need.escalated_at, need.code_attempts = "", "", None, 0
    try:
        with transaction.atomic():
            need.save()
    except IntegrityError:
        other = ReliefRequest.objects.filter(
            household_id=need.household_id,
            category_id=need.category_id,
            status__in=ACTIVE,
            plan__isnull=True,
        ).first()
        raise Conflict(
            f"您家同类诉求#{other.pk if other else ''}正在处理中，请在该诉求中说明",
            f"this household has the same need open (#{other.pk if other else ''}): add to it",
        ) from None
    record_event(need, EventKind.REOPENED, actor, reason, deadline=need.deadline.isoformat())
    audit_record(actor=actor, event=event, target=need, area_code=need.area_code, reason=reason)
    _tell_staff(need, ["community"], f"诉求#{need.pk}被重新打开：{reason[:60]}")
    return need


@transaction.atomic
def request_cancel(*, actor, request: ReliefRequest, reason: str) -> ReliefRequest:
    """Withdrawn by the household (while nobody carries it yet) or closed by staff."""
    reason = required_reason(reason)
    if actor.role == Role.RESIDENT:
        _own(actor, request)
        allowed: tuple[Status, ...] = (Status.OPEN,)
    else:
        authorize(actor, can_triage, area=request.area_code)
        allowed = ACTIVE
    need = _locked(request)
    if need.status not in allowed:
        raise DomainError(
            "该诉求已在处理或已结束，不能取消",
            "this need is under way or closed and cannot be cancelled",
            field="status",
        )
    now = timezone.now()
    need.status, need.closed_at = Status.CANCELLED, now
    need.save(update_fields=["status", "closed_at"])
    Escalation.objects.filter(request=need, resolved_at__isnull=True).update(resolved_at=now)
    event(need, EventKind.CANCELLED, actor, reason)
    audit_record(
        actor=actor,
        event="relief.request_cancel",
        target=need,
        area_code=need.area_code,
        reason=reason,
    )
    return need


# Triage --------------------------------------------------------------------------------


@transaction.atomic
def request_set_urgency(
    *, actor, request: ReliefRequest, urgency: str, reason: str
) -> ReliefRequest:
    """Change a need's urgency; its deadline is computed again from its registration
    under the SLA version it was registered with."""
    authorize(actor, can_triage, area=request.area_code)
    reason = required_reason(reason)
    need = _locked(request)
    if need.status not in ACTIVE:
        raise DomainError("诉求已结束", "the need is closed", field="status")
    urgency = _urgency(urgency, need.category)
    before = need.urgency
    rule = SLA.version(need.sla_version).value
    need.urgency = urgency
    need.deadline = deadline_for(need.registered_at, urgency, rule)
    need.sla_minutes = rule.minutes(urgency)
    if need.deadline > timezone.now():
        need.escalated_at = None
    need.save(update_fields=["urgency", "deadline", "sla_minutes", "escalated_at"])
    event(need, EventKind.URGENCY, actor, reason, before=before, after=urgency)
    audit_record(
        actor=actor,
        event="relief.request_set_urgency",
        target=need,
        area_code=need.area_code,
        reason=reason,
        detail={"before": before, "after": urgency},
    )
    return need


@transaction.atomic
def request_contact_reveal(*, actor, request: ReliefRequest, reason: str = "") -> str:
    """The contact's full phone number, to call: for the worker carrying the need (while
    it is theirs and not closed) or triage staff of the area. Every reveal is audited with
    its reason (given, or the purpose the need itself gives: a delivery or triage call)
    and kept in the need's history."""
    need = _locked(request)
    staff = can_triage(actor) and (is_system(actor) or actor.may_see_area(need.area_code))
    purpose = f"分诊联系 / triage call about need {need.pk}"
    if not staff:
        purpose = f"送达联系 / delivery call about need {need.pk}"
        authorize(actor, can_deliver)
        require_mine(actor, need)
        if need.status not in (Status.ASSIGNED, Status.ACCEPTED, Status.PICKED_UP):
            raise PermissionDenied(
                "任务结束后不能再查看电话", "the number is shown only while the task is open"
            )
    phone = need.contact_phone()
    if not phone:
        raise NotFound("该诉求没有联系电话", "this need has no contact phone", field="phone")
    event(need, EventKind.CALLED, actor)
    audit_record(
        actor=actor,
        event="relief.contact_reveal",
        target=need,
        area_code=need.area_code,
        reason=(reason or "").strip()[:500] or purpose,
    )
    return phone


@transaction.atomic
def escalation_acknowledge(*, actor, escalation: Escalation, note: str = "") -> Escalation:
    """Someone at the told level takes the overdue need in hand (the page shows who)."""
    authorize(actor, can_triage, area=escalation.area_code)
    row = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if row.acknowledged_at is None:
        row.acknowledged_at, row.acknowledged_by = timezone.now(), user_of(actor)
        row.note = (note or "").strip()[:300]
        row.save(update_fields=["acknowledged_at", "acknowledged_by", "note"])
        audit_record(
            actor=actor,
            event="relief.escalation_acknowledge",
            target=row,
            area_code=row.area_code,
            reason=row.note,
        )
    return row


# Teams and categories ------------------------------------------------------------------


def _community(actor, area: Area) -> Area:
    if area.level != Level.COMMUNITY:
        raise DomainError("请选择一个社区", "choose a community", field="community")
    authorize(actor, area=area.code)
    return area


@transaction.atomic
def team_create(
    *, actor, community: Area, name: str, members: Sequence, leader=None
) -> DispatchTeam:
    authorize(actor, can_manage_teams)
    _community(actor, community)
    name = (name or "").strip()[:60]
    if not name:
        raise DomainError("请填写小组名称", "the team needs a name", field="name")
    members = list(members)
    if not members:
        raise DomainError(
            "小组至少要有一名成员", "a team needs at least one member", field="members"
        )
    for user in members:
        check_deliverer(actor, user)
    if leader is not None and leader not in members:
        members.append(leader)
    if DispatchTeam.objects.filter(community=community, name=name).exists():
        raise DomainError(f"小组“{name}”已存在", f"team {name!r} exists", field="name")
    team = DispatchTeam.objects.create(name=name, community=community, leader=leader)
    team.members.set(members)
    audit_record(
        actor=actor,
        event="relief.team_create",
        target=team,
        area_code=community.code,
        detail={"members": [u.username for u in members]},
    )
    return team


@transaction.atomic
def category_add(
    *,
    actor,
    community: Area,
    code: str,
    name_zh: str,
    name_en: str = "",
    kind: str = Kind.OTHER,
    urgency: str = Urgency.NORMAL,
) -> Category:
    """Add a category of need to a community's list (on top of the built-in ones)."""
    authorize(actor, can_manage_categories)
    _community(actor, community)
    code = (code or "").strip().lower()
    if not code or not code.replace("_", "").isalnum() or not code.isascii() or len(code) > 40:
        raise DomainError(
            "类别代码只能用英文字母、数字和下划线",
            "a category code is letters, digits and underscores",
            field="code",
        )
    name_zh = (name_zh or "").strip()[:40]
    if not name_zh:
        raise DomainError("请填写类别名称", "the category needs a name", field="name_zh")
    if kind not in Kind.values or kind == Kind.CARE_FOLLOWUP:
        raise DomainError("类别归类不对", "unknown kind", field="kind")
    if urgency not in Urgency.values:
        raise DomainError("紧急程度不对", "unknown urgency", field="urgency")
    if Category.objects.for_area(community.code).filter(code=code).exists():
        raise DomainError(f"类别“{code}”已存在", f"category {code!r} exists", field="code")
    category = Category.objects.create(
        code=code,
        name_zh=name_zh,
        name_en=(name_en or "").strip()[:60] or code,
        kind=kind,
        urgency=urgency,
        area_code=community.code,
        order=500,
    )
    audit_record(
        actor=actor, event="relief.category_add", target=category, area_code=community.code
    )
    return category
