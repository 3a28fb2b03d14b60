"""Urgent call-outs (紧急召集): "need N people with skill S at place P now".

Available workers near the place are told at once (their open pages, their inbox and a
text message). The first N to accept get it: each acceptance raises the call-out's
counter by a conditional UPDATE (`accepted < needed`), which PostgreSQL applies one at a
time on the row and re-checks after waiting, so exactly N succeed however many press at
once; the one that fills it tells the rest once it has committed.
"""

import datetime as dt
import math
import time

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.areas.models import Area
from fangkong.core import pii
from fangkong.core.actors import is_system, user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from fangkong.core.guards import authorize, required_reason
from fangkong.core.notifications import Recipient, notify
from fangkong.core.roles import Role

from ..geo import haversine_km
from ..jurisdiction import worker_of
from ..models import (
    Answer,
    Attendance,
    CallOut,
    CallOutResponse,
    CallOutStatus,
    Shift,
    Skill,
    Team,
    Worker,
    WorkerStatus,
)
from ..permissions import can_call_out, can_check_in
from ..policies import CALL_OUT
from ..rules import duty_day, is_night

KM_PER_DEGREE = 111.2


def available_near(
    *,
    lat: float,
    lon: float,
    radius_km: float,
    skill: Skill | None,
    now: dt.datetime,
    shift_soon: dt.timedelta | None = None,
) -> list[tuple[int, int | None, bytes]]:
    """(worker id, user id, phone cipher) of workers free now within `radius_km`: not
    unavailable or quarantined, not on a shift or checked in at a post, offering this
    hour as they said (their days, their hours, nights or not: `rules.free_at`, in the
    deployment's zone), and, with `shift_soon`, none whose shift starts within it."""
    dlat = radius_km / KM_PER_DEGREE
    dlon = radius_km / (KM_PER_DEGREE * max(0.01, math.cos(math.radians(lat))))
    busy_until = now + (shift_soon or dt.timedelta(0))
    on_shift = Shift.objects.filter(
        worker_id=OuterRef("pk"), starts_at__lte=busy_until, ends_at__gt=now
    )
    on_duty = Attendance.objects.filter(worker_id=OuterRef("pk"), check_out_at__isnull=True)
    workers = Worker.objects.filter(
        status=WorkerStatus.AVAILABLE,
        lat__range=(lat - dlat, lat + dlat),
        lon__range=(lon - dlon, lon + dlon),
    )
    workers = _offering(workers, timezone.localtime(now))
    if skill is not None:
        workers = workers.filter(skills=skill)
    workers = workers.exclude(Exists(on_shift)).exclude(Exists(on_duty))
    rows = workers.values_list("pk", "user_id", "phone_cipher", "lat", "lon")
    return [
        (pk, user_id, cipher)
        for pk, user_id, cipher, wlat, wlon in rows.iterator(chunk_size=5000)
        if haversine_km(lat, lon, wlat, wlon) <= radius_km
    ]


def _offering(workers, local: dt.datetime):
    """`rules.free_at` as a filter: the worker's days include the moment's duty day, and
    the moment is in their hours or, at night, they take nights."""
    moment = local.time().replace(microsecond=0)
    hours = Q(nights=True) if is_night(moment) else Q(day_from__lte=moment, day_until__gt=moment)
    day_bit = 1 << duty_day(local).weekday()
    return workers.alias(offers_day=F("days").bitand(day_bit)).filter(hours, offers_day__gt=0)


def _may_call_out(actor, area: Area) -> None:
    authorize(actor, can_call_out)
    if is_system(actor) or actor.role != Role.WORKER:
        authorize(actor, area=area.code)
        return
    me = worker_of(actor)
    if me is None or not Team.objects.filter(leader=me, area_code=area.code[:12]).exists():
        raise PermissionDenied(
            "只有本社区小组的组长可发起召集", "only a team leader of this community may call out"
        )


@transaction.atomic
def callout_post(
    *,
    actor,
    area: Area,
    place: str,
    lat: float,
    lon: float,
    needed: int,
    skill: Skill | None = None,
    radius_km: float | None = None,
    note: str = "",
    client_id: str = "",
    urgent: bool = False,
) -> CallOut:
    """Post a call-out and tell every available worker within reach at once: those who
    offer this hour and whose next shift does not start within the policy's
    `shift_soon_minutes`; `urgent` (urgent to all) calls those about to start too."""
    _may_call_out(actor, area)
    if client_id:
        stored = CallOut.objects.filter(client_id=client_id).first()
        if stored is not None:
            if stored.posted_by_id != getattr(actor, "pk", None):
                raise Conflict("客户端编号已被占用", "client_id is taken", field="client_id")
            return stored
    place = place.strip()
    if not place:
        raise DomainError("请填写地点", "give the place", field="place")
    if not 1 <= needed <= 1000:
        raise DomainError("人数应为1至1000", "1 to 1000 people", field="needed")
    started = time.perf_counter()
    now = timezone.now()
    in_force = CALL_OUT.at(now, area.code)
    rule = in_force.value
    radius_km = radius_km or rule.radius_km
    callout = CallOut.objects.create(
        area=area,
        area_code=area.code,
        place=place[:200],
        lat=lat,
        lon=lon,
        skill=skill,
        needed=needed,
        radius_km=radius_km,
        note=note.strip()[:200],
        urgent=urgent,
        client_id=client_id or None,
        posted_by=user_of(actor),
        created_at=now,
        closes_at=now + dt.timedelta(minutes=rule.open_minutes),
    )
    reached = available_near(
        lat=lat,
        lon=lon,
        radius_km=radius_km,
        skill=skill,
        now=now,
        shift_soon=None if urgent else dt.timedelta(minutes=rule.shift_soon_minutes),
    )
    _responses_insert(callout, [pk for pk, _, _ in reached], now)
    what = f"{skill.name_zh}" if skill else ""
    notify(
        recipients=[
            Recipient(User(pk=user_id) if user_id else None, pii.decrypt(cipher))
            for _, user_id, cipher in reached
        ],
        kind="workforce.callout",
        text_zh=f"紧急召集：{place}现需{needed}人{what}，能来请点接受",
        text_en=f"Call-out: {needed} people{' with ' + skill.name_en if skill else ''} "
        f"needed now at {place}; accept if you can come",
        url=f"/workforce/callouts/{callout.pk}/",
        sms=True,
    )
    callout.notified = len(reached)
    callout.fanout_seconds = time.perf_counter() - started
    callout.save(update_fields=["notified", "fanout_seconds"])
    audit_record(
        actor=actor,
        event="workforce.callout_post",
        target=callout,
        area_code=callout.area_code,
        detail={
            "needed": needed,
            "notified": len(reached),
            "radius_km": radius_km,
            "urgent": urgent,
            "policy_version": in_force.version,
        },
    )
    return callout


def _responses_insert(callout: CallOut, workers: list[int], now: dt.datetime) -> None:
    """One "notified" response a worker told: on PostgreSQL one INSERT of an array (no
    model objects: thousands at a time), elsewhere bulk_create."""
    if connection.vendor != "postgresql":
        CallOutResponse.objects.bulk_create(
            [CallOutResponse(callout=callout, worker_id=pk, notified_at=now) for pk in workers],
            batch_size=2000,
        )
        return
    table = CallOutResponse._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (callout_id, worker_id, answer, notified_at) "  # noqa: S608
            "SELECT %s, w, %s, %s FROM unnest(%s::bigint[]) AS w",
            [callout.pk, Answer.NOTIFIED, now, workers],
        )


@transaction.atomic
def callout_answer(*, actor, callout: CallOut, accept: bool = True) -> str:
    """A notified worker answers. Returns the answer stored: accepted, too_late or
    declined. Answering again returns the first answer (a double tap changes nothing)."""
    authorize(actor, can_check_in)
    worker = worker_of(actor)
    if worker is None:
        raise NotFound("您的账号未关联人员登记", "your login is not linked to a worker record")
    now = timezone.now()
    response = (
        CallOutResponse.objects.select_for_update()
        .filter(callout_id=callout.pk, worker=worker)
        .first()
    )
    if response is None:
        raise NotFound("您未收到此召集", "this call-out was not sent to you")
    if response.answer != Answer.NOTIFIED:
        return response.answer
    if not accept:
        response.answer, response.answered_at = Answer.DECLINED, now
        response.save(update_fields=["answer", "answered_at"])
        return response.answer
    won = CallOut.objects.filter(
        pk=callout.pk, status=CallOutStatus.OPEN, accepted__lt=F("needed"), closes_at__gt=now
    ).update(accepted=F("accepted") + 1)
    response.answer = Answer.ACCEPTED if won else Answer.TOO_LATE
    response.answered_at = now
    response.save(update_fields=["answer", "answered_at"])
    if won:
        audit_record(
            actor=actor,
            event="workforce.callout_accept",
            target=callout,
            area_code=callout.area_code,
            detail={"worker": worker.pk, "seconds": round(response.seconds or 0, 3)},
        )
        # This transaction holds the row: if it made the last place, it alone fills it.
        filled = CallOut.objects.filter(
            pk=callout.pk, status=CallOutStatus.OPEN, accepted__gte=F("needed")
        ).update(status=CallOutStatus.FILLED, filled_at=now)
        if filled:
            # Told after this commits, in a transaction of its own: writing thousands of
            # notifications must not hold the call-out's row while others wait to answer.
            transaction.on_commit(lambda: _tell_filled(callout))
    return response.answer


@transaction.atomic
def _tell_filled(callout: CallOut) -> int:
    return _tell_the_rest(
        callout, "已满员，无需前往，谢谢", "it is filled; no need to come, thank you"
    )


def _tell_the_rest(callout: CallOut, zh: str, en: str) -> int:
    rest = (
        CallOutResponse.objects.filter(callout_id=callout.pk, answer=Answer.NOTIFIED)
        .values_list("worker__user_id", "worker__phone_cipher")
        .iterator(chunk_size=5000)
    )
    return notify(
        recipients=[
            Recipient(User(pk=user_id) if user_id else None, pii.decrypt(cipher))
            for user_id, cipher in rest
        ],
        kind="workforce.callout_closed",
        text_zh=f"召集（{callout.place}）{zh}",
        text_en=f"Call-out at {callout.place}: {en}",
        url=f"/workforce/callouts/{callout.pk}/",
        sms=True,
    )


@transaction.atomic
def callout_cancel(*, actor, callout: CallOut, reason: str) -> CallOut:
    _may_call_out(actor, callout.area)
    reason = required_reason(reason)
    closed = CallOut.objects.filter(pk=callout.pk, status=CallOutStatus.OPEN).update(
        status=CallOutStatus.CANCELLED
    )
    if not closed:
        raise Conflict("召集已结束", "the call-out is closed already", field="status")
    audit_record(
        actor=actor,
        event="workforce.callout_cancel",
        target=callout,
        area_code=callout.area_code,
        reason=reason,
    )
    _tell_the_rest(callout, f"已取消：{reason}", f"cancelled: {reason}")
    callout.refresh_from_db()
    return callout


def callouts_expire(*, actor, now: dt.datetime | None = None) -> int:
    """Open call-outs past their time close (claimed one by one); those still waiting
    are told."""
    now = now or timezone.now()
    done = 0
    for callout in CallOut.objects.filter(status=CallOutStatus.OPEN, closes_at__lte=now):
        with transaction.atomic():
            if not CallOut.objects.filter(pk=callout.pk, status=CallOutStatus.OPEN).update(
                status=CallOutStatus.EXPIRED
            ):
                continue
            audit_record(
                actor=actor,
                event="workforce.callout_expire",
                target=callout,
                area_code=callout.area_code,
                detail={"accepted": callout.accepted, "needed": callout.needed},
            )
            _tell_the_rest(callout, "已结束", "closed")
            done += 1
    return done
