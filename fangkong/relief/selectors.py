"""Reads of the relief app: the triage queue (keyset paging), the dispatch suggestion,
a worker's tasks, a household's needs, escalations, check-ins due, stock, the hotline's
counts, and the numbers (for the pages, the export and the daily report)."""

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Case, Count, F, IntegerField, Q, Value, When
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.models import User
from fangkong.areas.models import CODE_LENGTH, Area, Level, ancestor_codes
from fangkong.core.roles import Role
from fangkong.core.scoping import prefix_q
from fangkong.workforce.selectors import dispatch_facts

from .models import (
    ACTIVE,
    CareSchedule,
    Category,
    DispatchTeam,
    Escalation,
    HotlineTicket,
    Kind,
    ReliefRequest,
    Risk,
    Skill,
    Status,
    Stock,
    SupplyPoint,
    TicketStatus,
)
from .models.requests import MEDICINE_KINDS, SKILL_OF_KIND, TRANSPORT_KINDS
from .services._common import DELIVERERS

QUEUE_PAGE = 50
# The workforce's skill kind that answers a need's skill.
WORKFORCE_SKILL = {
    Skill.DRIVER: "driving",
    Skill.MEDICAL: "medical",
    Skill.COUNSELLOR: "counselling",
}


# The queue -----------------------------------------------------------------------------


@dataclass
class QueuePage:
    items: list
    next_cursor: str  # empty: the last page


def _cursor(need: ReliefRequest) -> str:
    return f"{need.deadline.timestamp():.6f}_{need.pk}"


def _parse_cursor(text: str) -> tuple[dt.datetime, int] | None:
    try:
        stamp, pk = text.split("_")
        return dt.datetime.fromtimestamp(float(stamp), tz=dt.UTC), int(pk)
    except (ValueError, OverflowError, OSError):
        return None


def queue(
    user,
    *,
    area: str = "",
    category: str = "",
    status: str = "",
    urgency: str = "",
    after: str = "",
    size: int = QUEUE_PAGE,
) -> QueuePage:
    """Open needs of the user's jurisdiction by deadline, the overdue first (they have the
    earliest deadlines); next pages by keyset (`after` = the last row's cursor), so the
    hundredth page costs what the first does."""
    needs = ReliefRequest.objects.in_jurisdiction(user).filter(status__in=ACTIVE)
    if area.isdigit():
        needs = needs.filter(area_code__startswith=area)
    if category:
        needs = needs.filter(category__code=category)
    if status in ACTIVE:
        needs = needs.filter(status=status)
    if urgency:
        needs = needs.filter(urgency=urgency)
    if after and (mark := _parse_cursor(after)):
        deadline, pk = mark
        needs = needs.filter(Q(deadline__gt=deadline) | Q(deadline=deadline, pk__gt=pk))
    rows = list(
        needs.select_related(
            "category", "household__building__parent", "assignee", "team"
        ).order_by("deadline", "id")[: size + 1]
    )
    more = len(rows) > size
    rows = rows[:size]
    return QueuePage(rows, _cursor(rows[-1]) if more else "")


def queue_counts(user, area: str = "") -> dict[str, int]:
    needs = ReliefRequest.objects.in_jurisdiction(user).filter(status__in=ACTIVE)
    if area.isdigit():
        needs = needs.filter(area_code__startswith=area)
    now = timezone.now()
    return needs.aggregate(
        open=Count("id"),
        overdue=Count("id", filter=Q(deadline__lt=now)),
        critical=Count("id", filter=Q(urgency="critical")),
        undispatched=Count("id", filter=Q(status=Status.OPEN)),
    )


# The dispatch suggestion ---------------------------------------------------------------


@dataclass
class Suggestion:
    user: User
    open_tasks: int
    nearness: int  # 5 the building, 4 its compound, 3 its community, 2 the street
    skill: bool | None = None  # has the skill the need calls for; None: not known
    on_shift: bool | None = None  # None: not known
    why: list[str] = field(default_factory=list)


def suggest_assignees(need: ReliefRequest, *, limit: int = 5) -> list[Suggestion]:
    """Who to send for `need`: free now, near the building, with the right skill (a driver
    for a transport, a medical worker for medicine).

    The users who may take deliveries and work over the building (by their jurisdiction
    or the grid they keep), how many open needs each carries now, how near their area is
    to the building, and, for those who are workers of the workforce app, whether they
    have the skill the need calls for and are on duty now (checked in at a post). A
    worker who is sick, in quarantine or otherwise away is not suggested. Users the
    workforce does not know keep `skill` and `on_shift` None (not known).
    """
    User = get_user_model()
    building = need.area_code
    above = ancestor_codes(building)[1:]  # the street down to the building
    candidates = list(
        User.objects.filter(role__in=DELIVERERS, is_active=True)
        .filter(Q(areas__code__in=above) | Q(kept_grids__buildings__code=building))
        .distinct()
        .prefetch_related("areas")
    )
    if not candidates:
        return []
    ids = [u.pk for u in candidates]
    load = dict(
        ReliefRequest.objects.filter(assignee_id__in=ids, status__in=ACTIVE)
        .values_list("assignee_id")
        .annotate(n=Count("id"))
    )
    wanted = SKILL_OF_KIND.get(need.kind, Skill.NONE)
    facts = dispatch_facts(ids, skill_kind=WORKFORCE_SKILL.get(wanted, ""))
    found = []
    for user in candidates:
        known = facts.get(user.pk)
        if known is not None and not known.available:
            continue
        codes = [a.code for a in user.areas.all() if building.startswith(a.code)]
        nearness = max((len(c) // 3 for c in codes), default=6) - 1
        has_skill = known.has_skill if known else None
        on_shift = known.on_duty if known else None
        why = []
        if wanted and has_skill:
            why.append(str(Skill(wanted).label))
        if on_shift:
            why.append(str(_("on duty now")))
        suggestion = Suggestion(
            user, load.get(user.pk, 0), min(nearness, 5), has_skill, on_shift, why
        )
        found.append(suggestion)

    def first_known(fact: bool | None) -> int:  # yes, not known, no
        return 0 if fact else 1 if fact is None else 2

    def rank(s: Suggestion):
        return (
            first_known(s.skill) if wanted else 0,
            first_known(s.on_shift),
            s.open_tasks,
            -s.nearness,
            s.user.role != Role.WORKER,
            s.user.pk,
        )

    return sorted(found, key=rank)[:limit]


def teams_for(need_or_area) -> list[DispatchTeam]:
    code = getattr(need_or_area, "area_code", need_or_area)
    return list(DispatchTeam.objects.filter(active=True, area_code=code[:12]))


# Households, workers, escalations ------------------------------------------------------


def household_needs(user, limit: int = 50):
    """A resident's household's needs, newest first."""
    return (
        ReliefRequest.objects.for_user(user)
        .select_related("category", "household__building__parent", "assignee")
        .order_by("-registered_at", "-id")[:limit]
    )


def tasks_of(user):
    """The worker's tasks: given to them or to their team (and not taken by another),
    open first by deadline, then the delivered of the last two days."""
    teams = DispatchTeam.objects.filter(members=user).values("id")
    mine = Q(assignee=user) | Q(assignee__isnull=True, team_id__in=teams)
    since = timezone.now() - dt.timedelta(days=2)
    return (
        ReliefRequest.objects.filter(mine)
        .filter(Q(status__in=ACTIVE) | Q(delivered_at__gte=since))
        .select_related("category", "household__building__parent", "batch")
        .order_by("delivered_at", "deadline", "id")
    )


def escalations(user, *, unresolved: bool = True):
    rows = Escalation.objects.for_user(user).select_related(
        "request__category",
        "request__household__building__parent",
        "acknowledged_by",
        "request__assignee",
    )
    if unresolved:
        rows = rows.unresolved()
    return rows.order_by("-at", "-id")


def categories_for(area_code: str, *, residents: bool = False):
    rows = Category.objects.for_area(area_code)
    if residents:
        rows = rows.filter(for_residents=True)
    # A community's own category shadows a built-in one of the same code.
    chosen: dict[str, Category] = {}
    for c in rows.order_by("order", "id"):
        if c.code not in chosen or len(c.area_code) > len(chosen[c.code].area_code):
            chosen[c.code] = c
    return sorted(chosen.values(), key=lambda c: (c.order, c.pk))


def care_due(user, *, within_hours: int = 24):
    """Check-ins the user should do: theirs (or, for staff, their jurisdiction's) due
    within the next `within_hours`, the most overdue first."""
    until = timezone.now() + dt.timedelta(hours=within_hours)
    return (
        CareSchedule.objects.for_user(user)
        .filter(active=True, next_due_at__lte=until)
        .select_related("resident", "household__building__parent", "assignee")
        .order_by("next_due_at", "id")
    )


def points_for(user):
    return SupplyPoint.objects.for_user(user).filter(active=True).select_related("keeper", "area")


def stock_of(point: SupplyPoint):
    return Stock.objects.filter(point=point).order_by("item")


def stock_for_need(need: ReliefRequest):
    """What may be drawn for a need: stock at the points of its street."""
    return (
        Stock.objects.filter(
            point__active=True, area_code__startswith=need.area_code[:9], quantity__gt=0
        )
        .select_related("point")
        .order_by("point__name", "item")
    )


# Hotline -------------------------------------------------------------------------------


def hotline_counts(area_code: str, since: dt.datetime | None = None) -> dict[str, int]:
    """How many calls, open and at risk under `area_code`: the figures every reader may
    see (never a ticket's content)."""
    rows = HotlineTicket.objects.filter(area_code__startswith=area_code)
    if since is not None:
        rows = rows.filter(opened_at__gte=since)
    return rows.aggregate(
        calls=Count("id"),
        open=Count("id", filter=~Q(status=TicketStatus.CLOSED)),
        high_risk=Count("id", filter=Q(risk=Risk.HIGH) & ~Q(status=TicketStatus.CLOSED)),
        follow_up=Count("id", filter=Q(status=TicketStatus.FOLLOW_UP)),
    )


def tickets_for(user, role: str):
    """Tickets a hotline person works: a counsellor their own, the lead all of their
    hotline's area."""
    from .models import HotlineStaff

    codes = list(
        HotlineStaff.objects.filter(user=user, active=True).values_list("area_code", flat=True)
    )
    rows = HotlineTicket.objects.filter(prefix_q("area_code", codes))
    if role != "lead":
        rows = rows.filter(assignee=user)
    risk_first = Case(
        When(risk=Risk.HIGH, then=Value(0)),
        When(risk=Risk.ELEVATED, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    closed_last = Case(
        When(status=TicketStatus.CLOSED, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    return rows.select_related("assignee").order_by(closed_last, risk_first, "-opened_at")


# Numbers -------------------------------------------------------------------------------


@dataclass
class Numbers:
    area_code: str
    since: dt.datetime | None
    until: dt.datetime | None
    registered: int = 0
    resolved: int = 0
    deliveries: int = 0
    gas_cylinders: int = 0
    medicine: int = 0
    transports: int = 0
    hotline_calls: int = 0
    met: int = 0
    late: int = 0
    median_minutes: float | None = None
    p90_minutes: float | None = None
    open_now: int = 0
    overdue_now: int = 0
    by_category: list[dict] = field(default_factory=list)
    by_area: list[dict] = field(default_factory=list)

    @property
    def met_share(self) -> float | None:
        done = self.met + self.late
        return None if not done else self.met / done

    @property
    def met_percent(self) -> int | None:
        share = self.met_share
        return None if share is None else round(share * 100)


def _window(rows, column: str, since, until):
    if since is not None:
        rows = rows.filter(**{f"{column}__gte": since})
    if until is not None:
        rows = rows.filter(**{f"{column}__lt": until})
    return rows


def _delivery_minutes(area_code: str, since, until) -> tuple[float | None, float | None]:
    """Median and 90th percentile of registration-to-delivery, in minutes."""
    delivered = _window(
        ReliefRequest.objects.filter(area_code__startswith=area_code, delivered_at__isnull=False),
        "delivered_at",
        since,
        until,
    )
    if connection.vendor == "postgresql":
        sql, params = delivered.values("id").query.sql_with_params()
        table = ReliefRequest._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY m), "
                "percentile_cont(0.9) WITHIN GROUP (ORDER BY m) FROM ("
                f"SELECT EXTRACT(EPOCH FROM (delivered_at - registered_at)) / 60 AS m "
                f"FROM {table} WHERE id IN ({sql})) d",
                params,
            )
            median, p90 = cursor.fetchone()
        return (None if median is None else float(median), None if p90 is None else float(p90))
    minutes = sorted(
        (d - r).total_seconds() / 60
        for r, d in delivered.values_list("registered_at", "delivered_at").iterator()
    )
    if not minutes:
        return None, None
    if len(minutes) == 1:
        return minutes[0], minutes[0]
    cuts = statistics.quantiles(minutes, n=10, method="inclusive")
    return statistics.median(minutes), cuts[8]


def relief_numbers(
    area_code: str, *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> Numbers:
    """The numbers of everything under `area_code` (the caller checks the reader may see
    it): needs registered and resolved by category and by child area, deliveries, gas
    cylinders, medicine, transports, hotline calls, deadlines met, time to deliver, and
    what is open and overdue now."""
    now = timezone.now()
    out = Numbers(area_code, since, until)
    under = ReliefRequest.objects.filter(area_code__startswith=area_code)
    registered = _window(under, "registered_at", since, until)
    delivered = _window(under.filter(delivered_at__isnull=False), "delivered_at", since, until)
    d = delivered.aggregate(
        n=Count("id"),
        gas=Count("id", filter=Q(kind=Kind.GAS_CYLINDER)),
        medicine=Count("id", filter=Q(kind__in=MEDICINE_KINDS)),
        transports=Count("id", filter=Q(kind__in=TRANSPORT_KINDS)),
        met=Count("id", filter=Q(delivered_at__lte=F("deadline"))),
    )
    out.deliveries, out.gas_cylinders = d["n"], d["gas"]
    out.medicine, out.transports, out.met = d["medicine"], d["transports"], d["met"]
    out.late = out.deliveries - out.met
    out.resolved = out.deliveries
    out.median_minutes, out.p90_minutes = _delivery_minutes(area_code, since, until)
    now_counts = under.filter(status__in=ACTIVE).aggregate(
        open=Count("id"), overdue=Count("id", filter=Q(deadline__lt=now))
    )
    out.open_now, out.overdue_now = now_counts["open"], now_counts["overdue"]
    names = {c.pk: c.name for c in Category.objects.all()}
    by_category: dict[str, dict] = defaultdict(lambda: {"registered": 0, "resolved": 0})
    for category, n in registered.values_list("category_id").annotate(n=Count("id")):
        by_category[names.get(category, "?")]["registered"] += n
    for category, n in delivered.values_list("category_id").annotate(n=Count("id")):
        by_category[names.get(category, "?")]["resolved"] += n
    out.registered = sum(v["registered"] for v in by_category.values())
    out.by_category = sorted(
        ({"category": k, **v} for k, v in by_category.items()), key=lambda r: -r["registered"]
    )
    out.by_area = _by_child_area(area_code, registered, delivered, under, now)
    out.hotline_calls = _window(
        HotlineTicket.objects.filter(area_code__startswith=area_code), "opened_at", since, until
    ).count()
    return out


def _by_child_area(area_code, registered, delivered, under, now) -> list[dict]:
    lengths = sorted(CODE_LENGTH.values())
    deeper = [n for n in lengths if n > len(area_code)]
    if not deeper:
        return []
    width = deeper[0]
    rows: dict[str, dict] = defaultdict(
        lambda: {"registered": 0, "resolved": 0, "open": 0, "overdue": 0}
    )
    for code, n in (
        registered.annotate(c=Substr("area_code", 1, width))
        .values_list("c")
        .annotate(n=Count("id"))
    ):
        rows[code]["registered"] = n
    for code, n in (
        delivered.annotate(c=Substr("area_code", 1, width)).values_list("c").annotate(n=Count("id"))
    ):
        rows[code]["resolved"] = n
    active = under.filter(status__in=ACTIVE).annotate(c=Substr("area_code", 1, width))
    for code, n, late in active.values_list("c").annotate(
        n=Count("id"), late=Count("id", filter=Q(deadline__lt=now))
    ):
        rows[code]["open"], rows[code]["overdue"] = n, late
    names = dict(Area.objects.filter(code__in=list(rows)).values_list("code", "name"))
    return [{"code": c, "name": names.get(c, c), **v} for c, v in sorted(rows.items())]


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time()))
    return start, start + dt.timedelta(days=1)


def daily_numbers(area_code: str, day: dt.date) -> Numbers:
    """The daily report's relief section: one local day under `area_code`."""
    since, until = day_bounds(day)
    return relief_numbers(area_code, since=since, until=until)


def area_choices(user) -> list[Area]:
    """The streets and communities a user may open the numbers of."""
    return list(
        Area.objects.for_user(user)
        .filter(level__in=[Level.DISTRICT, Level.STREET, Level.COMMUNITY])
        .order_by("code")[:200]
    )
