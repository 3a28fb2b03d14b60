"""Trace tasks ("2+6"): raised (or merged) with a deadline from the policy and the local
hour, worked (reached, attempts, controlled), handed over to another district, and
escalated to the street office and the command centre the moment they are overdue."""

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.areas.models import Area, ancestor_codes
from fangkong.core.actors import SYSTEM, user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict, DomainError
from fangkong.core.guards import authorize, required_reason
from fangkong.core.notifications import Recipient, notify
from fangkong.core.roles import Role

from ..deadlines import Deadlines
from ..models import (
    ACTIVE_STATES,
    CATEGORY_RANK,
    AttemptChannel,
    Category,
    ControlKind,
    HandOver,
    Person,
    TaskSource,
    TaskState,
    TraceAttempt,
    TraceTask,
)
from ..permissions import can_hand_over, can_receive_hand_over, can_trace
from ..policies import CONTACTS
from .status import Registration, person_register, status_change

CATEGORY_ZH: dict[str, str] = {
    Category.CLOSE: "密接",
    Category.SECONDARY: "次密接",
    Category.COMPANION: "时空伴随",
    Category.RISK_AREA: "风险地区来返",
    Category.SYMPTOMS: "有症状",
}


def stronger(a: str, b: str) -> str:
    return a if CATEGORY_RANK[a] <= CATEGORY_RANK[b] else b


def _check_category(category: str) -> None:
    if category not in Category.values:
        raise DomainError("类别无效", "not a contact category", field="category")


def task_raise(
    *,
    actor,
    person: Person,
    category: str,
    reason: str,
    source: str,
    evidence: Iterable[dict] = (),
    client_id: str | None = None,
    match_run=None,
    degree: int = 1,
    area_code: str = "",
) -> tuple[TraceTask, bool]:
    """Raise a task for `person`, or merge into their active one (evidence appended, the
    stronger category kept, the deadline as it was). The caller has authorized. Returns
    (task, created). A `client_id` seen before answers the task it made."""
    _check_category(category)
    evidence = list(evidence)
    if client_id:
        made = TraceTask.objects.filter(client_id=client_id).first()
        if made is not None:
            return made, False
    area_code = area_code or person.area_code
    # The person's row is the lock: raises for one person (and a match run's) take turns.
    Person.objects.select_for_update().filter(pk=person.pk).first()
    active = TraceTask.objects.select_for_update().active().filter(person=person).first()
    if active is None:
        now = timezone.now()
        deadline, version = Deadlines(now).for_area(area_code)
        task = TraceTask(
            person=person,
            area_code=area_code,
            category=category,
            degree=degree,
            source=source,
            reason=reason[:300],
            evidence=evidence,
            raised_at=now,
            deadline=deadline,
            deadline_version=version,
            measures_version=CONTACTS.at(now, area_code[:12]).version,
            match_run=match_run,
            client_id=client_id or "",
            raised_by=user_of(actor),
        )
        try:
            with transaction.atomic():
                task.save()
        except IntegrityError:  # another request raised one a moment ago: merge into it
            active = TraceTask.objects.select_for_update().active().get(person=person)
        else:
            audit_record(
                actor=actor,
                event="screening.task_raise",
                target=task,
                target_label=f"{person.name} {person.id_masked}",
                area_code=area_code,
                reason=reason,
                detail={
                    "category": category,
                    "source": source,
                    "deadline": deadline.isoformat(),
                    "deadline_version": version,
                },
            )
            tell_communities({area_code[:12]: 1}, kind="screening.task")
            return task, True
    before = active.category
    active.category = stronger(active.category, category)
    active.degree = min(active.degree, degree)
    active.evidence = [*active.evidence, *evidence]
    active.save(update_fields=["category", "degree", "evidence"])
    audit_record(
        actor=actor,
        event="screening.task_merge",
        target=active,
        target_label=f"{person.name} {person.id_masked}",
        area_code=active.area_code,
        reason=reason,
        detail={"from": before, "to": active.category, "source": source},
    )
    return active, False


@transaction.atomic
def task_create(
    *, actor, person: Person, category: str, reason: str, client_id: str | None = None
) -> tuple[TraceTask, bool]:
    """A task entered by hand (a call from the CDC, a report from a neighbour)."""
    authorize(actor, can_trace, area=person.area_code)
    reason = required_reason(reason)
    return task_raise(
        actor=actor,
        person=person,
        category=category,
        reason=reason,
        source=TaskSource.MANUAL,
        evidence=[{"manual": reason}],
        client_id=client_id,
    )


def _locked(task: TraceTask, actor, permission=can_trace) -> TraceTask:
    authorize(actor, permission, area=task.area_code)
    task = TraceTask.objects.select_for_update().select_related("person").get(pk=task.pk)
    if task.state not in ACTIVE_STATES:
        raise Conflict(
            f"该任务已{TaskState(task.state).label}",
            f"this task is {task.state} already",
            field="state",
        )
    return task


def _audit(actor, task: TraceTask, *, event: str, reason: str = "", **detail) -> None:
    audit_record(
        actor=actor,
        event=event,
        target=task,
        target_label=f"{task.person.name} {task.person.id_masked}",
        area_code=task.area_code,
        reason=reason,
        detail=detail,
    )


@transaction.atomic
def task_reach(*, actor, task: TraceTask, note: str = "") -> TraceTask:
    """The person was reached (by phone or at the door); not yet under control."""
    task = _locked(task, actor)
    if task.state == TaskState.REACHED:
        return task
    before = task.state
    task.state, task.reached_at = TaskState.REACHED, timezone.now()
    task.save(update_fields=["state", "reached_at"])
    _audit(actor, task, event="screening.task_reach", reason=note, **{"from": before})
    return task


@transaction.atomic
def task_attempt(*, actor, task: TraceTask, channel: str, note: str = "") -> TraceTask:
    """An attempt that did not reach the person: logged; the task turns unreachable."""
    task = _locked(task, actor)
    if channel not in AttemptChannel.values:
        raise DomainError("联系方式无效", "not a way of reaching someone", field="channel")
    TraceAttempt.objects.create(
        task=task, channel=channel, note=note.strip()[:300], by=user_of(actor), by_name=str(actor)
    )
    task.attempts += 1
    fields = ["attempts"]
    if task.state == TaskState.OPEN:
        task.state = TaskState.UNREACHABLE
        fields.append("state")
    task.save(update_fields=fields)
    _audit(
        actor,
        task,
        event="screening.task_attempt",
        reason=note,
        channel=channel,
        attempts=task.attempts,
    )
    return task


CONTROL_KINDS = frozenset(ControlKind.values) - {ControlKind.NONE, ControlKind.RELEASED}


@transaction.atomic
def task_control(*, actor, task: TraceTask, kind: str, reason: str) -> TraceTask:
    """The person is under control: their control status is set (planned end from the
    contact rules in force now, for the task's category) and the task is done."""
    task = _locked(task, actor)
    if kind not in CONTROL_KINDS:
        raise DomainError("请选择管控措施", "choose a control measure", field="kind")
    reason = required_reason(reason)
    status = status_change(
        actor=actor, person=task.person, kind=kind, reason=reason, category=task.category, task=task
    )
    now = timezone.now()
    task.state, task.closed_at, task.closed_by = TaskState.CONTROLLED, now, user_of(actor)
    task.reached_at = task.reached_at or now
    task.save(update_fields=["state", "closed_at", "closed_by", "reached_at"])
    _audit(
        actor,
        task,
        event="screening.task_control",
        reason=reason,
        kind=kind,
        status=status.pk,
        late=now > task.deadline,
    )
    return task


_DISTRICT = re.compile(r"^\d{6}$")


def _document_of(person: Person) -> tuple[str, bytes, str, bytes, str]:
    """(type, number cipher, masked, phone cipher, masked phone) of a person: a
    resident's from the roster, a person found's from their own record."""
    r = person.resident if person.resident_id else None
    if r is not None:
        return r.id_type, bytes(r.id_cipher), r.id_masked, bytes(r.phone_cipher), r.phone_masked
    return (
        person.id_type,
        bytes(person.id_cipher),
        person.id_masked,
        bytes(person.phone_cipher),
        person.phone_masked,
    )


def _last_exposure(task: TraceTask) -> dt.date | None:
    days = []
    for item in task.evidence:
        at = item.get("contact_at") or item.get("at")
        if at:
            try:
                days.append(timezone.localdate(dt.datetime.fromisoformat(at)))
            except (TypeError, ValueError):
                continue
    return max(days) if days else timezone.localdate(task.raised_at)


@transaction.atomic
def task_hand_over(
    *, actor, task: TraceTask, to_district: str, where_now: str, reason: str
) -> HandOver:
    """The person is out of jurisdiction: hand the task to the district where they are.
    The receiver gets a record with only what it needs (who, how to reach them, why, by
    when); the task here closes. Audited on both sides."""
    task = _locked(task, actor, can_hand_over)
    reason = required_reason(reason)
    to_district = (to_district or "").strip()
    if not _DISTRICT.match(to_district):
        raise DomainError(
            "请填写接收区县的6位代码",
            "give the receiving district's 6-digit code",
            field="to_district",
        )
    if to_district == task.area_code[:6]:
        raise DomainError(
            "接收方是本区县，无须移交", "that is this district: no hand-over", field="to_district"
        )
    where_now = (where_now or "").strip()
    if not where_now:
        raise DomainError("请填写此人现在所在地", "say where the person is now", field="where_now")
    id_type, id_cipher, id_masked, phone_cipher, phone_masked = _document_of(task.person)
    hand_over = HandOver.objects.create(
        task=task,
        from_area_code=task.area_code,
        to_district=to_district,
        name=task.person.name,
        id_type=id_type,
        id_cipher=id_cipher,
        id_masked=id_masked,
        phone_cipher=phone_cipher,
        phone_masked=phone_masked,
        category=task.category,
        exposed_on=_last_exposure(task),
        where_now=where_now[:200],
        reason=reason,
        sent_by=user_of(actor),
        sent_by_name=str(actor),
    )
    now = timezone.now()
    task.state, task.closed_at, task.closed_by = TaskState.HANDED_OVER, now, user_of(actor)
    task.save(update_fields=["state", "closed_at", "closed_by"])
    _audit(
        actor,
        task,
        event="screening.task_hand_over",
        reason=reason,
        to_district=to_district,
        hand_over=hand_over.pk,
    )
    audit_record(
        actor=actor,
        event="screening.hand_over_receive",
        target=hand_over,
        target_label=f"{hand_over.name} {hand_over.id_masked}",
        area_code=to_district,
        reason=reason,
        detail={"from": task.area_code[:12], "category": task.category},
    )
    receivers = User.objects.filter(
        role__in=[Role.COMMAND, Role.STREET], is_active=True, areas__code=to_district
    ).distinct()
    notify(
        recipients=[Recipient(u) for u in receivers],
        kind="screening.hand_over",
        text_zh=f"收到外区移交的{CATEGORY_ZH[task.category]}：{hand_over.name}，现在{where_now}",
        text_en=f"A {task.category} contact was handed over to you: now at {where_now}",
        url=reverse("screening:hand_overs"),
    )
    return hand_over


@transaction.atomic
def hand_over_accept(*, actor, hand_over: HandOver, area: Area) -> TraceTask:
    """The receiving district takes a hand-over on: a task in the community where the
    person is now (its deadline counts from now)."""
    authorize(actor, can_receive_hand_over, area=area.code)
    hand_over = HandOver.objects.select_for_update().get(pk=hand_over.pk)
    if not area.code.startswith(hand_over.to_district):
        raise DomainError(
            "所选地区不在接收区县内", "that area is not in the receiving district", field="area"
        )
    if hand_over.accepted_at is not None:
        raise Conflict("该移交已接收", "this hand-over was taken on already")
    person = Person.objects.select_for_update().get(pk=hand_over.task.person_id)
    where = area.code
    if person.resident_id is None and not person.area_code.startswith(hand_over.to_district):
        person.area_code = where
        person.save(update_fields=["area_code"])
    elif person.resident_id is not None:
        where = person.area_code if person.area_code.startswith(hand_over.to_district) else where
    task, _made = task_raise(
        actor=actor,
        person=person,
        category=hand_over.category,
        reason=f"外区移交 / handed over: {hand_over.reason}"[:300],
        source=TaskSource.HAND_OVER,
        evidence=[{"hand_over": hand_over.pk, "from": hand_over.from_area_code[:6]}],
        area_code=where,
    )
    hand_over.accepted_at, hand_over.accepted_by = timezone.now(), user_of(actor)
    hand_over.accepted_task = task
    hand_over.save(update_fields=["accepted_at", "accepted_by", "accepted_task"])
    audit_record(
        actor=actor,
        event="screening.hand_over_accept",
        target=hand_over,
        target_label=f"{hand_over.name} {hand_over.id_masked}",
        area_code=where,
        detail={"task": task.pk},
    )
    return task


@transaction.atomic
def person_found(
    *,
    actor,
    id_type: str,
    id_number: str,
    name: str,
    area: Area,
    phone: str = "",
    note: str = "",
    category: str = "",
    reason: str = "",
    client_id: str | None = None,
) -> tuple[Registration, TraceTask | None]:
    """Register a person found at `area` (see `person_register`) and, with a `category`,
    raise their trace task: in the community that keeps them, which may be another
    (the finder then learns only that)."""
    registration = person_register(
        actor=actor,
        id_type=id_type,
        id_number=id_number,
        name=name,
        phone=phone,
        area=area,
        note=note,
    )
    if not category:
        return registration, None
    _check_category(category)
    task, _made = task_raise(
        actor=actor,
        person=registration.person,
        category=category,
        reason=(reason or "").strip() or f"发现于{area.name} / found at {area.code}",
        source=TaskSource.MANUAL,
        evidence=[{"found_at": area.code, "note": note.strip()[:200]}],
        client_id=client_id,
    )
    return registration, task


# Telling people -------------------------------------------------------------------------


def tell_communities(counts: dict[str, int], *, kind: str, case: str = "") -> None:
    """Tell each community's workers how many new tasks they have (one message a
    community, however many tasks a match run made there)."""
    if not counts:
        return
    workers = defaultdict(list)
    for user in User.objects.filter(
        role=Role.COMMUNITY, is_active=True, areas__code__in=list(counts)
    ).prefetch_related("areas"):
        for area in user.areas.all():
            if area.code in counts:
                workers[area.code].append(user)
    url = reverse("screening:tasks")
    for code, n in counts.items():
        if workers.get(code):
            notify(
                recipients=[Recipient(u) for u in workers[code]],
                kind=kind,
                text_zh=f"新增{n}条追踪任务{f'（{case}）' if case else ''}，请按时限管控",
                text_en=f"{n} new trace task(s){f' ({case})' if case else ''}: "
                "reach them before the deadline",
                url=url,
            )


# Escalation -------------------------------------------------------------------------


def tasks_escalate(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Escalate every overdue task not escalated yet to the street office and the command
    centre over it. Each task is claimed by a conditional UPDATE in the transaction that
    writes its notifications and audit record, so two watchers running together never
    escalate one twice, and a crash never claims one without telling anybody."""
    now = now or timezone.now()
    tasks = list(
        TraceTask.objects.overdue(now)
        .filter(escalated_at__isnull=True)
        .select_related("person")
        .order_by("deadline")[:limit]
    )
    if not tasks:
        return 0
    codes = {c for t in tasks for c in ancestor_codes(t.area_code)}
    names = dict(Area.objects.filter(code__in=codes).values_list("code", "name"))
    bosses = defaultdict(set)
    for user in User.objects.filter(
        Q(role=Role.STREET) | Q(role=Role.COMMAND), is_active=True, areas__code__in=codes
    ).prefetch_related("areas"):
        for area in user.areas.all():
            bosses[area.code].add(user)
    escalated = 0
    for task in tasks:
        with transaction.atomic():
            claimed = TraceTask.objects.filter(
                pk=task.pk, escalated_at__isnull=True, state__in=ACTIVE_STATES
            ).update(escalated_at=now)
            if not claimed:
                continue
            escalated += 1
            above = {u for c in ancestor_codes(task.area_code) for u in bosses.get(c, ())}
            community = names.get(task.area_code[:12], task.area_code[:12])
            late = int((now - task.deadline).total_seconds() // 60)
            due = timezone.localtime(task.deadline)
            notify(
                recipients=[Recipient(u) for u in sorted(above, key=lambda u: u.pk)],
                kind="screening.overdue",
                text_zh=f"追踪任务超时{late}分钟未管控：{community} {task.person.name}"
                f"（{CATEGORY_ZH[task.category]}，时限{due:%H:%M}）",
                text_en=f"Trace task {late} min overdue in {task.area_code[:12]} "
                f"({task.category}, due {due:%H:%M})",
                url=reverse("screening:task", args=[task.pk]),
            )
            audit_record(
                actor=SYSTEM,
                event="screening.task_escalate",
                target=task,
                target_label=f"{task.person.name} {task.person.id_masked}",
                area_code=task.area_code,
                detail={"deadline": task.deadline.isoformat(), "told": len(above)},
            )
    return escalated
