"""The periodic watch (`fangkong relief_watch`): overdue needs escalated, missed
check-ins turned into tasks, treatment transports made ahead.

Periodic work claims its rows with a conditional UPDATE (as Healthchecks' sendalerts
does), so two watches running at once never escalate one need twice: an overdue need is
claimed by setting `escalated_at` where it is still empty, in one statement that returns
the rows it changed; a missed check-in by moving its schedule's `next_due_at` on from
the value that was read.
"""

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from fangkong.areas.models import ancestor_codes
from fangkong.core.actors import is_system, user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import PermissionDenied
from fangkong.core.models import Notification

from ..models import (
    ACTIVE,
    CareOutcome,
    CareSchedule,
    Category,
    CheckIn,
    Escalation,
    EventKind,
    Kind,
    ReliefRequest,
    RequestEvent,
    TreatmentPlan,
    Urgency,
)
from ..models.requests import Channel
from ..policies import CARE, SLA
from ._common import LEVEL_ROLE

URGENCY_ZH = {Urgency.CRITICAL: "紧急", Urgency.URGENT: "较急", Urgency.NORMAL: "一般"}


@dataclass
class WatchResult:
    escalated: int = 0
    notified: int = 0
    missed_checkins: int = 0
    transports: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _system_only(actor) -> None:
    if not is_system(actor):
        raise PermissionDenied("只有系统任务可以运行巡查", "only the system runs the watch")


# Overdue needs -------------------------------------------------------------------------


def _claim(now: dt.datetime, limit: int) -> list[tuple]:
    """Mark up to `limit` overdue, not yet escalated needs escalated; return (id,
    area_code, urgency, status, sla_version, deadline, category_id) of those this call
    claimed (rows locked by another watch are skipped, not waited for)."""
    table = ReliefRequest._meta.db_table
    states = ", ".join(["%s"] * len(ACTIVE))
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    sql = (
        f"UPDATE {table} SET escalated_at = %s WHERE id IN ("
        f"SELECT id FROM {table} WHERE status IN ({states}) AND escalated_at IS NULL "
        f"AND deadline < %s ORDER BY deadline LIMIT %s{lock}) AND escalated_at IS NULL "
        "RETURNING id, area_code, urgency, status, sla_version, deadline, category_id"
    )
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [at, *ACTIVE, at, limit])
        rows = cursor.fetchall()
    if connection.vendor == "sqlite":  # SQLite returns text where PostgreSQL returns a time
        rows = [(*r[:5], _aware(r[5]), r[6]) for r in rows]
    return rows


def _aware(value):
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=dt.UTC)


class _Staff:
    """The users of the escalation roles, by the area codes they hold: read once a pass."""

    def __init__(self) -> None:
        self.by_code: dict[str, list[tuple[int, str]]] = defaultdict(list)
        rows = (
            get_user_model()
            .objects.filter(role__in=list(LEVEL_ROLE.values()), is_active=True)
            .values_list("id", "role", "areas__code")
        )
        for pk, role, code in rows:
            if code:
                self.by_code[code].append((pk, role))

    def told(self, area_code: str, levels) -> set[int]:
        roles = {LEVEL_ROLE[level] for level in levels}
        return {
            pk
            for code in ancestor_codes(area_code)
            for pk, role in self.by_code.get(code, ())
            if role in roles
        }


def sla_watch(*, actor, now: dt.datetime | None = None, batch: int = 5000) -> WatchResult:
    """Escalate every need now overdue (once each), in batches of `batch`, each batch in
    its own transaction: the claim, the escalations, the history and the notifications
    commit together. Set-based: a batch is one claiming UPDATE … RETURNING, one INSERT of
    its escalations and one of its history steps (the rows travel as one JSON document),
    and one notification a person told."""
    _system_only(actor)
    now = now or timezone.now()
    result = WatchResult()
    staff = _Staff()
    rules: dict[int, object] = {}
    names = dict(Category.objects.values_list("id", "name_zh"))
    while True:
        with transaction.atomic():
            claimed = _claim(now, batch)
            if not claimed:
                break
            told = _escalate(actor, claimed, now, staff, rules, names)
        result.escalated += len(claimed)
        result.notified += told
        if len(claimed) < batch:
            break
    return result


def _insert_json(model, columns: dict[str, str], constants: dict, rows: list[dict]) -> None:
    """INSERT INTO `model`'s table one row for each dict of `rows` (keys: `columns`, a
    column name -> its PostgreSQL type) plus the same `constants` for all: one statement,
    the rows sent as one JSON parameter (jsonb_to_recordset on PostgreSQL, json_each on
    SQLite), so no model instance is made and the driver binds two or three values.
    A "jsonb" column's values come as the text Django writes (json.dumps), which SQLite
    keeps as it is (Django compares JSON by that text there)."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = [*columns, *constants]
    quoted = ", ".join(connection.ops.quote_name(n) for n in names)
    fixed = ["%s"] * len(constants)
    if connection.vendor == "postgresql":
        shape = ", ".join(
            f"{name} {'text' if kind == 'jsonb' else kind}" for name, kind in columns.items()
        )
        picked = ", ".join([*(f"x.{name}::{kind}" for name, kind in columns.items()), *fixed])
        source = f"jsonb_to_recordset(%s::jsonb) AS x({shape})"
    else:
        picked = ", ".join([*(f"json_extract(value, '$.{name}')" for name in columns), *fixed])
        source = "json_each(%s)"
    # The constants' placeholders come first (the SELECT list), then the document's.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({quoted}) SELECT {picked} FROM {source}",
            [*constants.values(), json.dumps(rows, ensure_ascii=False)],
        )


def _escalate(actor, claimed, now, staff: _Staff, rules, names) -> int:
    escalations, events = [], []
    per_user: dict[int, list[tuple]] = defaultdict(list)
    told_by_area: dict[tuple, set[int]] = {}
    for pk, area_code, urgency, status, version, deadline, category_id in claimed:
        if version not in rules:
            rules[version] = SLA.version(version).value
        levels = rules[version].escalate_to.get(urgency, [])
        key = (area_code, tuple(levels))
        users = told_by_area.get(key)
        if users is None:
            users = told_by_area[key] = staff.told(area_code, levels)
        for user_id in users:
            per_user[user_id].append((pk, urgency, deadline, category_id))
        escalations.append(
            {
                "request_id": pk,
                "area_code": area_code,
                "urgency": urgency,
                "levels": json.dumps(levels),
                "notified": len(users),
            }
        )
        events.append(
            {
                "request_id": pk,
                "status": status,
                "note": "、".join(levels),
                "detail": json.dumps({"levels": levels, "told": len(users)}),
            }
        )
    at = connection.ops.adapt_datetimefield_value(now)
    _insert_json(
        Escalation,
        {
            "request_id": "bigint",
            "area_code": "text",
            "urgency": "text",
            "levels": "jsonb",
            "notified": "integer",
        },
        {"at": at, "note": ""},
        escalations,
    )
    _insert_json(
        RequestEvent,
        {"request_id": "bigint", "status": "text", "note": "text", "detail": "jsonb"},
        {
            "at": at,
            "kind": EventKind.ESCALATED,
            "actor_id": getattr(user_of(actor), "pk", None),
            "actor_name": actor.username,
        },
        events,
    )
    url = reverse("relief:escalations")
    notes = []
    for user_id, needs in per_user.items():
        if len(needs) == 1:
            pk, urgency, deadline, category_id = needs[0]
            zh = (
                f"超时未办：{URGENCY_ZH.get(urgency, '')}诉求#{pk}（{names.get(category_id, '')}）"
                f"，截止{timezone.localtime(deadline):%m-%d %H:%M}"
            )
            en = f"overdue: {urgency} need #{pk}"
        else:
            critical = sum(1 for n in needs if n[1] == Urgency.CRITICAL)
            zh = f"{len(needs)}项诉求超时未办（其中紧急{critical}项）"
            en = f"{len(needs)} needs overdue ({critical} critical)"
        notes.append(
            Notification(
                recipient_id=user_id,
                kind="relief.escalation",
                text_zh=zh,
                text_en=en,
                url=url,
                created_at=now,
            )
        )
    Notification.objects.bulk_create(notes, batch_size=1000)
    ids = [row[0] for row in claimed]
    audit_record(
        actor=actor,
        event="relief.needs_escalate",
        target_label=f"{len(ids)} needs",
        detail={"requests": ids[:1000], "told": len(per_user)},
    )
    return len(per_user)


# Missed check-ins ----------------------------------------------------------------------


def due_after(moment: dt.datetime, days: int, due_hour: int) -> dt.datetime:
    """`days` local days after `moment`, at `due_hour` local."""
    day = timezone.localtime(moment).date() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(due_hour)))


def care_watch(*, actor, now: dt.datetime | None = None, limit: int = 5000) -> int:
    """Record every check-in missed beyond the policy's grace, once, and raise a
    follow-up task (a need of category "care follow-up" in the community's queue)."""
    _system_only(actor)
    now = now or timezone.now()
    rules = {}
    missed = 0
    late = (
        CareSchedule.objects.filter(active=True, next_due_at__lt=now)
        .order_by("next_due_at")
        .values_list("id", "next_due_at", "area_code")[:limit]
    )
    for pk, due, area_code in late:
        community = area_code[:12]
        if community not in rules:
            rules[community] = CARE.at(now, community).value
        rule = rules[community]
        if due + dt.timedelta(hours=rule.grace_hours) > now:
            continue
        if _miss(actor, pk, due, now, rule):
            missed += 1
    return missed


@transaction.atomic
def _miss(actor, pk: int, due: dt.datetime, now: dt.datetime, rule) -> bool:
    schedule = CareSchedule.objects.get(pk=pk)
    following = due
    while following <= now:
        following = due_after(following, schedule.every_days, rule.due_hour)
    claimed = CareSchedule.objects.filter(pk=pk, next_due_at=due).update(
        next_due_at=following, missed=F("missed") + 1
    )
    if not claimed:
        return False
    from .requests import request_register

    kind_zh = "电话" if schedule.kind == "call" else "上门"
    registered = request_register(
        actor=actor,
        household=schedule.household_id,
        resident=schedule.resident_id,
        category=Kind.CARE_FOLLOWUP,
        detail=f"未按时完成{kind_zh}关怀（应于{timezone.localtime(due):%m-%d %H:%M}前）",
        client_id=f"care:{pk}:{due.isoformat()}",
        channel=Channel.CARE,
    )
    try:
        with transaction.atomic():
            CheckIn.objects.create(
                schedule=schedule,
                area_code=schedule.area_code,
                due_at=due,
                at=now,
                outcome=CareOutcome.MISSED,
                by_name=actor.username,
                request=registered.request,
            )
    except IntegrityError:
        return False
    audit_record(
        actor=actor,
        event="relief.checkin_miss",
        target=schedule,
        area_code=schedule.area_code,
        detail={"due": due.isoformat(), "request": registered.request.pk},
    )
    return True


# Treatment transports ------------------------------------------------------------------


def transports_schedule(*, actor, now: dt.datetime | None = None, days: int = 7) -> int:
    """Make the transports of every active treatment plan for the next `days` days (a
    need a trip, deadline the pick-up time); what exists already is left alone."""
    _system_only(actor)
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    made = 0
    for plan in TreatmentPlan.objects.filter(active=True).select_related("category"):
        for offset in range(days):
            day = today + dt.timedelta(days=offset)
            if day.weekday() not in plan.weekdays:
                continue
            pickup = timezone.make_aware(dt.datetime.combine(day, plan.pickup_time))
            if pickup <= now:
                continue
            made += _trip(actor, plan, pickup, now)
    return made


@transaction.atomic
def _trip(actor, plan: TreatmentPlan, pickup: dt.datetime, now: dt.datetime) -> int:
    if ReliefRequest.objects.filter(plan=plan, scheduled_for=pickup).exists():
        return 0
    rule = SLA.at(now, plan.area_code)
    try:
        with transaction.atomic():
            need = ReliefRequest.objects.create(
                household_id=plan.household_id,
                area_code=plan.area_code,
                resident_id=plan.resident_id,
                category=plan.category,
                kind=plan.category.kind,
                urgency=plan.category.urgency,
                detail=f"{plan.destination} {timezone.localtime(pickup):%m-%d %H:%M}"
                + (f"；{plan.note}" if plan.note else ""),
                channel=Channel.SCHEDULED,
                registered_at=now,
                registered_by_name=actor.username,
                deadline=pickup,
                sla_version=rule.version,
                sla_minutes=int((pickup - now).total_seconds() // 60),
                plan=plan,
                scheduled_for=pickup,
            )
    except IntegrityError:
        return 0
    RequestEvent.objects.create(
        request=need,
        at=now,
        kind=EventKind.REGISTERED,
        status=need.status,
        actor_name=actor.username,
        note=need.detail,
    )
    audit_record(
        actor=actor, event="relief.transport_schedule", target=need, area_code=need.area_code
    )
    return 1
