"""Reads of the workforce: who is on duty, hours, and the numbers a command centre, a
community and the daily report use. Every read is cut to the user's jurisdiction."""

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Q, Sum
from django.utils import timezone

from fangkong.areas.models import Area, Level

from .models import (
    OPEN_ENROLLMENT,
    Answer,
    Attendance,
    CallOut,
    CallOutResponse,
    Enrollment,
    EnrollmentStatus,
    Organ,
    PartyBranch,
    PostKind,
    RequestStatus,
    Shift,
    ShiftStatus,
    StaffingRequest,
    Team,
    TeamMember,
    Worker,
    WorkerStatus,
)

# Hours -----------------------------------------------------------------------------------


def _clipped_hours(check_in, check_out, since, until) -> float:
    start, end = max(check_in, since), min(check_out or until, until)
    return max(0.0, (end - start).total_seconds() / 3600)


def hours_by_worker(ids: Iterable[int] | None, *, since, until) -> dict[int, float]:
    """Hours on duty between `since` and `until` (an open duty counts up to `until`)."""
    rows = Attendance.objects.filter(check_in_at__lt=until).filter(
        Q(check_out_at__isnull=True) | Q(check_out_at__gt=since)
    )
    if ids is not None:
        ids = list(ids)
        rows = rows.filter(worker_id__in=ids) if len(ids) < 20_000 else rows
    hours: dict[int, float] = defaultdict(float)
    for worker, a, b in rows.values_list("worker_id", "check_in_at", "check_out_at").iterator(
        chunk_size=5000
    ):
        hours[worker] += _clipped_hours(a, b, since, until)
    return dict(hours)


def worker_hours(worker: Worker, *, days: int = 7) -> float:
    now = timezone.now()
    return hours_by_worker([worker.pk], since=now - dt.timedelta(days=days), until=now).get(
        worker.pk, 0.0
    )


# On duty now -------------------------------------------------------------------------------


def on_duty(workers) -> list[Attendance]:
    """Open duties (checked in, not out) of the given workers, with their posts."""
    return list(
        Attendance.objects.on_duty()
        .filter(worker__in=workers)
        .select_related("worker", "post")
        .order_by("post__name", "check_in_at")
    )


def team_members(team: Team) -> list[Worker]:
    return [m.worker for m in TeamMember.objects.filter(team=team).select_related("worker")]


@dataclass
class BranchActivity:
    members: int
    hours: float
    duties: int
    callouts: int

    @property
    def tasks(self) -> int:
        return self.duties + self.callouts


def branch_activity(branch: PartyBranch) -> BranchActivity:
    """Members, hours on duty since the branch was founded, tasks done (duties
    completed and call-outs answered)."""
    now = timezone.now()
    members = list(branch.members.values_list("pk", flat=True))
    hours = hours_by_worker(members, since=branch.founded_at, until=now)
    duties = Attendance.objects.filter(
        worker_id__in=members, check_in_at__gte=branch.founded_at, check_out_at__isnull=False
    ).count()
    callouts = CallOutResponse.objects.filter(
        worker_id__in=members, answer=Answer.ACCEPTED, answered_at__gte=branch.founded_at
    ).count()
    return BranchActivity(len(members), round(sum(hours.values()), 1), duties, callouts)


def my_shifts(worker: Worker, *, days: int = 2) -> list[Shift]:
    now = timezone.now()
    return list(
        Shift.objects.filter(
            worker=worker, ends_at__gt=now, starts_at__lt=now + dt.timedelta(days=days)
        )
        .select_related("post")
        .order_by("starts_at")
    )


def my_callouts(worker: Worker) -> list[tuple[CallOut, CallOutResponse]]:
    responses = (
        CallOutResponse.objects.filter(worker=worker)
        .select_related("callout", "callout__skill")
        .order_by("-notified_at")[:10]
    )
    return [(r.callout, r) for r in responses]


# Numbers -----------------------------------------------------------------------------------


@dataclass
class Numbers:
    """The workforce's numbers for one jurisdiction (or one area of it)."""

    area: Area | None
    workers: int = 0
    reported_today: int = 0
    on_duty_now: int = 0
    open_seats: int = 0
    by_organ: list[dict] = field(default_factory=list)
    by_community: list[dict] = field(default_factory=list)
    hours_by_organ: list[dict] = field(default_factory=list)
    hours_by_team: list[dict] = field(default_factory=list)
    hours_by_branch: list[dict] = field(default_factory=list)
    hours_by_worker: list[dict] = field(default_factory=list)
    person_times_by_kind: list[dict] = field(default_factory=list)
    callouts: dict = field(default_factory=dict)
    since: dt.datetime | None = None


def _scoped(qs, user, area: Area | None):
    qs = qs.for_user(user)
    return qs.within(area) if area is not None else qs


def numbers(user, area: Area | None = None, *, days: int = 7) -> Numbers:
    """Workers enrolled by organ and by community against what each asked for, reported
    in today, on duty now, hours by organ, team, branch and worker, person-times by post
    kind, open seats, call-outs and response times (the last `days` days)."""
    now = timezone.now()
    since = now - dt.timedelta(days=days)
    today = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time()))
    out = Numbers(area=area, since=since)
    enrollments = _scoped(Enrollment.objects, user, area)
    open_enrollments = enrollments.filter(status__in=OPEN_ENROLLMENT)
    out.workers = _scoped(Worker.objects, user, area).count()
    out.reported_today = enrollments.filter(reported_at__gte=today).count()

    organs = dict(Organ.objects.values_list("pk", "name"))
    for row in (
        open_enrollments.values("organ_id")
        .annotate(
            pending=Count("id", filter=Q(status=EnrollmentStatus.PENDING)),
            confirmed=Count("id", filter=Q(status=EnrollmentStatus.CONFIRMED)),
        )
        .order_by()
    ):
        out.by_organ.append(
            {
                "organ": organs.get(row["organ_id"], "志愿者 Volunteers"),
                "pending": row["pending"],
                "confirmed": row["confirmed"],
            }
        )
    out.by_organ.sort(key=lambda r: -(r["pending"] + r["confirmed"]))

    requests = _scoped(StaffingRequest.objects, user, area).filter(
        status__in=[RequestStatus.OPEN, RequestStatus.PARTLY, RequestStatus.FILLED],
        last_day__gte=timezone.localdate(),
    )
    asked: Counter[str] = Counter()
    placed: Counter[str] = Counter()
    for code, count, filled in requests.values_list("area_code", "count", "filled"):
        asked[code[:12]] += count
        placed[code[:12]] += filled
    out.open_seats = sum(asked.values()) - sum(placed.values())
    reported: Counter[str] = Counter()
    confirmed: Counter[str] = Counter()
    for code, status, n in (
        open_enrollments.values_list("area_code", "status").annotate(n=Count("id")).order_by()
    ):
        reported[code] += n
        if status == EnrollmentStatus.CONFIRMED:
            confirmed[code] += n
    codes = set(asked) | set(reported)
    names = dict(Area.objects.filter(code__in=codes).values_list("code", "name"))
    out.by_community = sorted(
        (
            {
                "code": c,
                "name": names.get(c, c),
                "asked": asked[c],
                "allocated": placed[c],
                "reported": reported[c],
                "confirmed": confirmed[c],
            }
            for c in codes
        ),
        key=lambda r: r["code"],
    )

    attendance = _scoped(Attendance.objects, user, area)
    out.on_duty_now = attendance.on_duty().count()
    recent = attendance.filter(check_in_at__lt=now).filter(
        Q(check_out_at__isnull=True) | Q(check_out_at__gt=since)
    )
    by_worker: dict[int, float] = defaultdict(float)
    for worker, a, b in recent.values_list("worker_id", "check_in_at", "check_out_at").iterator(
        chunk_size=5000
    ):
        by_worker[worker] += _clipped_hours(a, b, since, now)
    people = {
        pk: (name, organ)
        for pk, name, organ in Worker.objects.filter(pk__in=list(by_worker)).values_list(
            "pk", "name", "organ_id"
        )
    }
    hours_organ: dict[str, float] = defaultdict(float)
    for pk, h in by_worker.items():
        hours_organ[organs.get(people.get(pk, ("", None))[1], "志愿者 Volunteers")] += h
    out.hours_by_organ = [
        {"organ": k, "hours": round(v, 1)}
        for k, v in sorted(hours_organ.items(), key=lambda x: -x[1])
    ]
    top = sorted(by_worker.items(), key=lambda x: -x[1])[:50]
    out.hours_by_worker = [
        {"worker": people.get(pk, ("?", None))[0], "hours": round(h, 1)} for pk, h in top
    ]
    teams = _scoped(Team.objects, user, area)
    team_of = dict(TeamMember.objects.filter(team__in=teams).values_list("worker_id", "team_id"))
    hours_team: dict[int, float] = defaultdict(float)
    for pk, team in team_of.items():
        hours_team[team] += by_worker.get(pk, 0.0)
    team_names = dict(teams.values_list("pk", "name"))
    out.hours_by_team = [
        {"team": team_names[t], "hours": round(h, 1)}
        for t, h in sorted(hours_team.items(), key=lambda x: -x[1])
    ]
    for branch in _scoped(PartyBranch.objects, user, area):
        members = branch.members.values_list("pk", flat=True)
        out.hours_by_branch.append(
            {"branch": branch.name, "hours": round(sum(by_worker.get(m, 0.0) for m in members), 1)}
        )
    kinds = dict(PostKind.choices)
    out.person_times_by_kind = [
        {"kind": row["post__kind"], "label": str(kinds[row["post__kind"]]), "n": row["n"]}
        for row in recent.values("post__kind").annotate(n=Count("id")).order_by("-n")
    ]

    callouts = _scoped(CallOut.objects, user, area).filter(created_at__gte=since)
    totals = callouts.aggregate(
        n=Count("id"), needed=Sum("needed"), accepted=Sum("accepted"), notified=Sum("notified")
    )
    seconds = [
        (b - a).total_seconds()
        for a, b in CallOutResponse.objects.filter(
            callout__in=callouts, answer=Answer.ACCEPTED
        ).values_list("notified_at", "answered_at")
        if b is not None  # an accepted answer always has its time
    ]
    out.callouts = {
        "count": totals["n"] or 0,
        "filled": callouts.filter(status="filled").count(),
        "needed": totals["needed"] or 0,
        "accepted": totals["accepted"] or 0,
        "notified": totals["notified"] or 0,
        "median_seconds": round(statistics.median(seconds), 1) if seconds else None,
        "max_seconds": round(max(seconds), 1) if seconds else None,
    }
    return out


def communities_for(user) -> list[Area]:
    return list(Area.objects.for_user(user).filter(level=Level.COMMUNITY).order_by("code"))


# For relief's dispatch suggestion ----------------------------------------------------------


@dataclass(frozen=True)
class DispatchFacts:
    has_skill: bool | None  # None: no skill was asked about
    on_duty: bool  # checked in at a post now
    available: bool  # not sick, not in quarantine, not otherwise away


def dispatch_facts(user_ids: Iterable[int], *, skill_kind: str = "") -> dict[int, DispatchFacts]:
    """What the workforce knows of the login users `user_ids` who are workers (others are
    left out): a skill of `skill_kind` (a SkillKind: driving, medical, counselling …),
    on duty now, available. Three queries, whatever the number of users."""
    workers = list(
        Worker.objects.filter(user_id__in=list(user_ids)).values_list(
            "pk", "user_id", "status", "status_until"
        )
    )
    if not workers:
        return {}
    ids = [w[0] for w in workers]
    now = timezone.now()
    skilled = set()
    if skill_kind:
        skilled = set(
            Worker.skills.through.objects.filter(
                worker_id__in=ids, skill__kind=skill_kind
            ).values_list("worker_id", flat=True)
        )
    on_duty = set(
        Attendance.objects.on_duty().filter(worker_id__in=ids).values_list("worker_id", flat=True)
    )
    return {
        user_id: DispatchFacts(
            (pk in skilled) if skill_kind else None,
            pk in on_duty,
            status == WorkerStatus.AVAILABLE or (until is not None and until <= now),
        )
        for pk, user_id, status, until in workers
    }


def substitutions_open(user):
    """Shifts open or with a substitute proposed, not yet over, that `user` may fill: a
    team leader (a worker) those of their teams' posts, an office those of its areas."""
    from .jurisdiction import worker_of

    me = worker_of(user) if user.role == "worker" else None
    opened = Shift.objects.filter(
        status__in=[ShiftStatus.OPEN, ShiftStatus.PROPOSED], ends_at__gt=timezone.now()
    ).select_related("post", "proposed")
    if me is not None:
        return opened.filter(post__team__leader=me)
    return opened.for_user(user)
