"""Posts, shifts and attendance: codes to scan, check-in and out from phones (offline,
replayed without duplicates), no-shows, shifts opened when a worker drops out."""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.areas.models import Area
from fangkong.core import signing
from fangkong.core.actors import is_system
from fangkong.core.audit import audit_record
from fangkong.core.errors import DomainError, NotFound, PermissionDenied
from fangkong.core.guards import authorize
from fangkong.core.notifications import Recipient, notify
from fangkong.core.roles import Role

from ..jurisdiction import worker_of
from ..models import (
    PATTERN_SLOTS,
    Attendance,
    Post,
    PostKind,
    Shift,
    ShiftPattern,
    ShiftStatus,
    StaffingRequest,
    Team,
    TeamMember,
    Worker,
)
from ..permissions import can_check_in, can_manage_posts
from ..policies import DUTY, NO_SHOW

POST_KIND = "post"
# A claimed time is believed within this window round the time the server receives it.
PAST_WINDOW = dt.timedelta(days=7)
FUTURE_WINDOW = dt.timedelta(minutes=10)
SKEW = dt.timedelta(minutes=3)


# Posts -------------------------------------------------------------------------------------


@transaction.atomic
def post_create(
    *,
    actor,
    area: Area,
    name: str,
    kind: str,
    place: str = "",
    lat: float | None = None,
    lon: float | None = None,
    pattern: str = ShiftPattern.DAY,
    heads: int = 1,
    request: StaffingRequest | None = None,
    team: Team | None = None,
) -> Post:
    authorize(actor, can_manage_posts, area=area.code)
    name = name.strip()
    if not name:
        raise DomainError("岗位名称为空", "the post's name is empty", field="name")
    if kind not in PostKind.values:
        raise DomainError("岗位类型无效", "unknown post kind", field="kind")
    if pattern not in ShiftPattern.values:
        raise DomainError("班制无效", "unknown shift pattern", field="pattern")
    if not 1 <= heads <= 50:
        raise DomainError("每班人数应为1至50", "1 to 50 people a shift", field="heads")
    if request is not None and not request.area_code.startswith(area.code[:12]):
        raise DomainError("需求不属于该社区", "the request is another community's", field="request")
    post = Post.objects.create(
        name=name,
        kind=kind,
        area=area,
        area_code=area.code,
        place=place.strip()[:200],
        lat=lat,
        lon=lon,
        pattern=pattern,
        heads=heads,
        request=request,
        team=team,
    )
    audit_record(actor=actor, event="workforce.post_create", target=post, area_code=post.area_code)
    return post


def post_code(*, actor, post: Post) -> str:
    """The post's code to print and scan (signed; no database id inside)."""
    authorize(actor, can_manage_posts, area=post.area_code)
    days = DUTY.at(area_code=post.area_code).value.code_days
    return signing.sign(
        POST_KIND, signing.opaque_id(POST_KIND, post.pk), valid_days=days, claims={"n": post.name}
    )


def post_of_code(text: str) -> Post:
    code = signing.verify(text, kind=POST_KIND)
    post = Post.objects.filter(pk=signing.id_of(POST_KIND, code.subject), active=True).first()
    if post is None:
        raise NotFound("岗位不存在或已停用", "the post does not exist or is closed", field="code")
    return post


# Shifts -----------------------------------------------------------------------------------


def _local(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time())) + dt.timedelta(hours=hour)


def pattern_slots(
    post: Post, first_day: dt.date, days: int
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The shifts a post's pattern makes over `days` days (each `heads` times)."""
    slots = []
    for d in range(days):
        day = first_day + dt.timedelta(days=d)
        for start, length in PATTERN_SLOTS[ShiftPattern(post.pattern)]:
            begins = _local(day, start)
            slots += [(begins, begins + dt.timedelta(hours=length))] * post.heads
    return slots


@transaction.atomic
def shifts_create(
    *,
    actor,
    post: Post,
    slots: Sequence[tuple[dt.datetime, dt.datetime, Worker | None]],
) -> list[Shift]:
    """Put shifts on a post: (start, end, worker or None for an open one)."""
    authorize(actor, can_manage_posts, area=post.area_code)
    rows = []
    for starts, ends, worker in slots:
        if ends <= starts:
            raise DomainError(
                "班次结束须晚于开始", "a shift must end after it starts", field="ends_at"
            )
        rows.append(
            Shift(
                post=post,
                area_code=post.area_code,
                starts_at=starts,
                ends_at=ends,
                worker=worker,
                status=ShiftStatus.PLANNED if worker else ShiftStatus.OPEN,
            )
        )
    made = Shift.objects.bulk_create(rows, batch_size=1000)
    audit_record(
        actor=actor,
        event="workforce.shift_create",
        target=post,
        area_code=post.area_code,
        detail={"shifts": len(made), "filled": sum(1 for r in rows if r.worker_id)},
    )
    return made


@transaction.atomic
def shift_assign(*, actor, shift: Shift, worker: Worker | None, reason: str = "") -> Shift:
    """Put a worker on a shift (or take them off): an office, or the post team's leader
    confirming a replacement."""
    _authorize_shift(actor, shift)
    before = shift.worker_id
    shift.worker = worker
    shift.status = ShiftStatus.PLANNED if worker else ShiftStatus.OPEN
    shift.proposed = None
    shift.no_show_at = None
    shift.save(update_fields=["worker", "status", "proposed", "no_show_at"])
    audit_record(
        actor=actor,
        event="workforce.shift_assign",
        target=shift,
        area_code=shift.area_code,
        reason=reason,
        detail={"from": before, "to": worker.pk if worker else None},
    )
    if worker is not None and worker.user_id:
        notify(
            recipients=[Recipient(worker.user, worker.phone())],
            kind="workforce.shift",
            text_zh=f"您已排班：{shift.post.name} {timezone.localtime(shift.starts_at):%m-%d %H:%M}",
            text_en=f"You are on {shift.post.name} at "
            f"{timezone.localtime(shift.starts_at):%m-%d %H:%M}",
            url="/workforce/me/",
            sms=True,
        )
    return shift


def _authorize_shift(actor, shift: Shift) -> None:
    """Offices over the post's area; or the leader of the team of the post, or of the
    worker who held the shift (substitution is the team leader's to confirm)."""
    from ..permissions import can_substitute

    authorize(actor, can_substitute)
    if is_system(actor) or actor.role != Role.WORKER:
        authorize(actor, area=shift.area_code)
        return
    me = worker_of(actor)
    led = Team.objects.filter(leader=me).values_list("pk", flat=True) if me else []
    if shift.post.team_id in led:
        return
    raise PermissionDenied("只有小组长或社区可确认替班", "only the team leader or the community")


def shifts_open_for(*, actor, worker: Worker, until: dt.datetime, reason: str) -> list[Shift]:
    """A worker dropped out: their shifts from now until `until` open, and the team
    leaders and communities are told; replacements are proposed by the allocation."""
    now = timezone.now()
    shifts = list(
        Shift.objects.filter(worker=worker, ends_at__gt=now, starts_at__lt=until)
        .select_related("post")
        .order_by("starts_at")
    )
    if not shifts:
        return []
    Shift.objects.filter(pk__in=[s.pk for s in shifts]).update(
        worker=None, status=ShiftStatus.OPEN, opened_reason=f"{worker.name}：{reason}"[:200]
    )
    for s in shifts:
        s.worker, s.status = None, ShiftStatus.OPEN
    audit_record(
        actor=actor,
        event="workforce.shift_open",
        target=worker,
        area_code=worker.area_code,
        reason=reason,
        detail={"shifts": [s.pk for s in shifts]},
    )
    _tell_leaders_and_communities(
        worker,
        shifts,
        kind="workforce.substitution",
        zh=f"{worker.name}不能到岗（{reason}），{len(shifts)}个班次待替补，请确认替班人选",
        en=f"{worker.name} is unavailable ({reason}); {len(shifts)} shift(s) need a substitute",
        url="/workforce/substitutions/",
    )
    from .staffing import substitutes_propose

    substitutes_propose(actor=actor, shifts=shifts)
    return shifts


def _leader_users(worker: Worker) -> list[User]:
    led = TeamMember.objects.filter(worker=worker).values("team__leader__user")
    users = User.objects.filter(pk__in=led)
    if worker.user_id is not None:
        users = users.exclude(pk=worker.user_id)
    return list(users)


def community_users(codes: Iterable[str]) -> list[User]:
    """Community and street staff whose areas hold any of `codes` (who to tell)."""
    codes = set(codes)
    prefixes = {c[:n] for c in codes for n in (9, 12) if len(c) >= n}
    return list(
        User.objects.filter(
            role__in=[Role.COMMUNITY, Role.STREET], is_active=True, areas__code__in=prefixes
        ).distinct()
    )


def _tell_leaders_and_communities(worker, shifts, *, kind, zh, en, url) -> int:
    users = {u.pk: u for u in _leader_users(worker)}
    users.update({u.pk: u for u in community_users(s.area_code for s in shifts)})
    return notify(
        recipients=[Recipient(u) for u in users.values()],
        kind=kind,
        text_zh=zh,
        text_en=en,
        url=url,
    )


# Attendance ----------------------------------------------------------------------------------


@dataclass
class DutyEvent:
    client_id: str
    type: str  # "in" or "out"
    at: dt.datetime
    code: str = ""  # the post's code (in: required; out: optional)
    ref: str = ""  # out: the client id of its check-in


@dataclass
class DutyResult:
    client_id: str
    status: str  # accepted or rejected
    code: str = ""
    message: str = ""
    message_zh: str = ""
    attendance: int | None = None
    post: str = ""
    shift: int | None = None
    flags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _rejected(event: DutyEvent, code: str, zh: str, en: str) -> DutyResult:
    return DutyResult(event.client_id, "rejected", code=code, message=en, message_zh=zh)


def _accepted(event: DutyEvent, att: Attendance, *flags: str) -> DutyResult:
    return DutyResult(
        event.client_id,
        "accepted",
        attendance=att.pk,
        post=att.post.name,
        shift=att.shift_id,
        flags=list(flags),
    )


def attendance_upload(
    *,
    actor,
    events: Sequence[DutyEvent],
    device_time: dt.datetime | None = None,
    worker: Worker | None = None,
) -> list[DutyResult]:
    """Check-ins and check-outs from a worker's phone, in the order they happened. Each
    answers accepted or rejected on its own; a replayed client id answers what it
    answered before and writes nothing. Only the system records for a `worker` (the
    demo; a device of a site that keeps its own sign-in book)."""
    authorize(actor, can_check_in)
    if worker is not None and not is_system(actor):
        raise PermissionDenied("只能为本人签到", "you check in for yourself only")
    worker = worker or worker_of(actor)
    if worker is None:
        raise NotFound(
            "您的账号未关联下沉干部/志愿者登记", "your login is not linked to a worker record"
        )
    now = timezone.now()
    skewed = device_time is not None and abs(device_time - now) > SKEW
    results = []
    for event in events:
        try:
            with transaction.atomic():
                if event.type == "in":
                    result = _check_in(actor, worker, event, now, skewed)
                elif event.type == "out":
                    result = _check_out(actor, worker, event, now)
                else:
                    result = _rejected(event, "bad_type", "未知的记录类型", "unknown event type")
        except DomainError as exc:
            result = _rejected(event, exc.code, exc.zh, exc.en)
        results.append(result)
    return results


def _check_time(event: DutyEvent, now: dt.datetime) -> None:
    if event.at < now - PAST_WINDOW or event.at > now + FUTURE_WINDOW:
        raise DomainError(
            "记录时间不合理（早于7天前或晚于现在）",
            "the event's time is implausible (over 7 days ago, or in the future)",
            field="at",
        )


def _check_in(actor, worker: Worker, event: DutyEvent, now, skewed: bool) -> DutyResult:
    stored = Attendance.objects.filter(in_client_id=event.client_id).select_related("post").first()
    if stored is not None:
        if stored.worker_id != worker.pk:
            return _rejected(event, "client_id_taken", "客户端编号已被占用", "client_id is taken")
        return _accepted(event, stored, "replay")
    _check_time(event, now)
    post = post_of_code(event.code)
    open_ = (
        Attendance.objects.select_for_update(of=("self",))
        .filter(worker=worker, check_out_at__isnull=True)
        .select_related("post")
        .first()
    )
    flags = ["clock_skew"] if skewed else []
    if open_ is not None:
        if open_.post_id == post.pk:
            # Checked in here already (from another try): the same duty, not a second one.
            return _accepted(event, open_, "already_in")
        # Never checked out at the last post: closed when the next check-in happened.
        open_.check_out_at = max(event.at, open_.check_in_at)
        open_.out_received_at = now
        open_.save(update_fields=["check_out_at", "out_received_at"])
        flags.append("closed_previous")
    early = dt.timedelta(minutes=DUTY.at(now, post.area_code).value.early_minutes)
    shift = (
        Shift.objects.filter(
            worker=worker, post=post, starts_at__lte=event.at + early, ends_at__gt=event.at
        )
        .order_by("starts_at")
        .first()
    )
    if shift is None:
        flags.append("no_shift")
    try:
        with transaction.atomic():
            att = Attendance.objects.create(
                worker=worker,
                post=post,
                shift=shift,
                area_code=post.area_code,
                in_client_id=event.client_id,
                check_in_at=event.at,
                in_received_at=now,
                clock_skew=skewed,
            )
    except IntegrityError:
        # The same event arrived twice at once; the other request stored it.
        stored = Attendance.objects.filter(in_client_id=event.client_id, worker=worker).first()
        if stored is None:
            raise
        return _accepted(event, stored, "replay")
    audit_record(
        actor=actor,
        event="workforce.attendance_in",
        target=att,
        area_code=att.area_code,
        detail={"flags": flags, "shift": shift.pk if shift else None},
    )
    return _accepted(event, att, *flags)


def _check_out(actor, worker: Worker, event: DutyEvent, now) -> DutyResult:
    stored = Attendance.objects.filter(out_client_id=event.client_id).select_related("post").first()
    if stored is not None:
        if stored.worker_id != worker.pk:
            return _rejected(event, "client_id_taken", "客户端编号已被占用", "client_id is taken")
        return _accepted(event, stored, "replay")
    _check_time(event, now)
    mine = (
        Attendance.objects.select_for_update(of=("self",))
        .select_related("post")
        .filter(worker=worker)
    )
    att = mine.filter(in_client_id=event.ref).first() if event.ref else None
    if att is None:
        candidates = mine.filter(check_out_at__isnull=True)
        if event.code:
            candidates = candidates.filter(post=post_of_code(event.code))
        att = candidates.order_by("-check_in_at").first()
    if att is None:
        return _rejected(event, "no_check_in", "没有对应的签到记录", "no check-in to close")
    if att.out_client_id:
        return _accepted(event, att, "already_out")
    att.check_out_at = max(event.at, att.check_in_at)
    att.out_client_id = event.client_id
    att.out_received_at = now
    att.save(update_fields=["check_out_at", "out_client_id", "out_received_at"])
    audit_record(
        actor=actor,
        event="workforce.attendance_out",
        target=att,
        area_code=att.area_code,
        detail={"hours": round(att.hours, 2)},
    )
    return _accepted(event, att)


# No-shows -----------------------------------------------------------------------------------


def no_shows_flag(*, actor, now: dt.datetime | None = None, horizon_hours: int = 24) -> int:
    """Flag each shift whose worker has not checked in `minutes` (policy) after it began,
    once: a shift is claimed by a conditional UPDATE, so two watchers never tell twice.
    The worker's team leader and the post's community are told at once."""
    now = now or timezone.now()
    checked_in = Attendance.objects.filter(
        worker_id=OuterRef("worker_id"),
        post_id=OuterRef("post_id"),
        check_in_at__lt=OuterRef("ends_at"),
    ).filter(Q(check_out_at__isnull=True) | Q(check_out_at__gt=OuterRef("starts_at")))
    due = (
        Shift.objects.filter(
            worker__isnull=False,
            status=ShiftStatus.PLANNED,
            no_show_at__isnull=True,
            starts_at__lte=now,
            starts_at__gt=now - dt.timedelta(hours=horizon_hours),
            ends_at__gt=now,
        )
        .exclude(Exists(checked_in))
        .select_related("post", "worker")
    )
    told = 0
    for shift in due.iterator(chunk_size=500):
        minutes = NO_SHOW.at(now, shift.area_code).value.minutes
        if shift.starts_at + dt.timedelta(minutes=minutes) > now:
            continue
        with transaction.atomic():
            claimed = Shift.objects.filter(pk=shift.pk, no_show_at__isnull=True).update(
                no_show_at=now
            )
            if not claimed:
                continue
            worker = shift.worker
            audit_record(
                actor=actor,
                event="workforce.shift_no_show",
                target=shift,
                area_code=shift.area_code,
                detail={"worker": worker.pk, "minutes": minutes},
            )
            start = timezone.localtime(shift.starts_at)
            _tell_leaders_and_communities(
                worker,
                [shift],
                kind="workforce.no_show",
                zh=f"未到岗：{worker.name}，{shift.post.name} {start:%H:%M}班，已过{minutes}分钟未签到",
                en=f"No-show: {worker.name} has not checked in at {shift.post.name} "
                f"({start:%H:%M}) {minutes} minutes after the start",
                url=f"/workforce/posts/{shift.post_id}/",
            )
            told += 1
    return told
