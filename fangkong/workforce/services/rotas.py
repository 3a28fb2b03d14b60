"""Rotas: a week of shifts at posts, filled by the rota builder (fangkong/workforce/
rota.py) from each post's workers, within the legal rest and the weekly cap (policy
`workforce.rota`), and stored as shifts."""

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from fangkong.core.audit import audit_record
from fangkong.core.errors import DomainError
from fangkong.core.guards import authorize

from ..models import (
    Assignment,
    Attendance,
    EnrollmentStatus,
    Post,
    Shift,
    ShiftStatus,
    TeamMember,
    Worker,
    WorkerStatus,
)
from ..permissions import can_manage_posts
from ..policies import ROTA
from ..selectors import hours_by_worker


def _rota():
    """The rota builder (imported when used: it brings OR-Tools)."""
    from .. import rota

    return rota


def post_workers(post: Post) -> list[int]:
    """Who may stand at a post: those assigned to its request, else its team, else the
    workers confirmed at its community."""
    if post.request_id:
        ids = Assignment.objects.active().filter(request_id=post.request_id)
        return list(ids.values_list("worker_id", flat=True))
    if post.team_id:
        return list(
            TeamMember.objects.filter(team_id=post.team_id).values_list("worker_id", flat=True)
        )
    return list(
        Worker.objects.filter(
            enrollments__area_code=post.area_code[:12],
            enrollments__status=EnrollmentStatus.CONFIRMED,
        ).values_list("pk", flat=True)
    )


def _hours(when: dt.datetime, start: dt.datetime) -> float:
    return (when - start).total_seconds() / 3600


@transaction.atomic
def rota_build(*, actor, posts: Sequence[Post], first_day: dt.date, days: int = 7) -> dict:
    """Build the rota of `posts` from `first_day` for `days` days and store its shifts;
    planned shifts of those posts in that span that nobody has checked in to are
    replaced. Shifts short of people are stored open with the reason. Returns counts."""
    for post in posts:
        authorize(actor, can_manage_posts, area=post.area_code)
    if not 1 <= days <= 14:
        raise DomainError("排班天数应为1至14天", "a rota spans 1 to 14 days", field="days")
    rota = _rota()
    start = timezone.make_aware(dt.datetime.combine(first_day, dt.time()))
    end = start + dt.timedelta(days=days)
    rule = ROTA.at(start, posts[0].area_code if posts else "").value
    pools = {post.pk: post_workers(post) for post in posts}
    everyone = sorted({w for ids in pools.values() for w in ids})

    replaced = Shift.objects.filter(
        post__in=posts, starts_at__gte=start, starts_at__lt=end
    ).exclude(pk__in=Attendance.objects.filter(shift__isnull=False).values("shift_id"))
    replaced_count = replaced.count()
    replaced.delete()

    before = hours_by_worker(everyone, since=start - dt.timedelta(days=7), until=start)
    last_end: dict[int, float] = {}
    busy: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for worker, a, b in Shift.objects.filter(
        worker_id__in=everyone, ends_at__gt=start - dt.timedelta(days=1), starts_at__lt=end
    ).values_list("worker_id", "starts_at", "ends_at"):
        if b <= start:
            last_end[worker] = max(last_end.get(worker, -1e9), _hours(b, start))
        else:
            busy[worker].append((_hours(a, start), _hours(b, start)))
    for worker, until in (
        Worker.objects.filter(pk__in=everyone)
        .exclude(status=WorkerStatus.AVAILABLE)
        .values_list("pk", "status_until")
    ):
        busy[worker].append((-1e9, _hours(until, start) if until else 1e9))

    result = rota.build_rota(
        [
            rota.Post(
                post_id=str(post.pk),
                pattern=rota.PATTERNS[post.pattern],
                workers=tuple(str(w) for w in pools[post.pk]),
                heads=post.heads,
            )
            for post in posts
        ],
        [
            rota.RotaWorker(
                worker_id=str(w),
                hours_before=before.get(w, 0.0),
                last_end=last_end.get(w, -1e9),
                unavailable=tuple(busy.get(w, ())),
            )
            for w in everyone
        ],
        rota.RotaRules(
            days=days, min_rest_hours=rule.min_rest_hours, weekly_cap_hours=rule.max_weekly_hours
        ),
    )
    by_post = {str(p.pk): p for p in posts}

    def row(s, worker, reason=""):
        begins = start + dt.timedelta(hours=s.start)
        return Shift(
            post=by_post[s.post_id],
            area_code=by_post[s.post_id].area_code,
            starts_at=begins,
            ends_at=begins + dt.timedelta(hours=s.hours),
            worker_id=int(worker) if worker else None,
            status=ShiftStatus.PLANNED if worker else ShiftStatus.OPEN,
            opened_reason=reason,
        )

    rows = [row(s, w) for s, w in result.assignments]
    for gap in result.short:
        rows += [row(gap.shift, None, f"rota: {gap.reason}") for _ in range(gap.missing)]
    Shift.objects.bulk_create(rows, batch_size=2000)
    counts = {
        "posts": len(posts),
        "shifts": len(rows),
        "filled": len(result.assignments),
        "open": len(rows) - len(result.assignments),
        "replaced": replaced_count,
        "seconds": round(result.stats.get("seconds", 0.0), 3),
    }
    for post in posts:
        audit_record(
            actor=actor,
            event="workforce.rota_build",
            target=post,
            area_code=post.area_code,
            detail={**counts, "first_day": first_day.isoformat(), "days": days},
        )
    return counts
