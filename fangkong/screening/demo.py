"""Screening in the demo district, after the labs app's demo results
(`fangkong demo_screening`, run by `make demo` after `demo_results`):

- a case from the demo lab results: a member of a positive pool of community A, resampled
  at home (the recall's door-to-door task, closed with a single tube) whose tube comes
  back positive from the demo lab, as the labs app's own services make a case;
- its window; venue scans, stored through the analytics store, that match a handful of
  residents (community A and B, and one of another street) at two venues of community A,
  and some that do not (too far apart in time);
- a match run for it, whose contacts are trace tasks due in "2+6" hours, in their
  communities; one task raised earlier (backdated by the demo: a demo needs a past) is
  overdue and escalated to the street office and the command centre;
- a screening campaign over a compound of community A, half done: most households
  screened, some "nobody home" or "refused", two answers flagging a traveller.

All through the services, as the demo users; a second run with `--if-empty` does nothing.
"""

import datetime as dt
import random
from dataclasses import dataclass, field

from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.areas.models import Area, Household, Level
from fangkong.core.errors import DomainError
from fangkong.labs import selectors as labs
from fangkong.labs import services as lab_services
from fangkong.people import selectors as people
from fangkong.testing import services as testing_services

from . import services
from .analytics.store import ScanIn
from .models import Campaign, MatchRun, TraceTask, Venue, VenueKind, VisitOutcome
from .services import AnswerIn

DEMO_TUBE = "DEMO-RS-0001"
USERS = ("command", "street", "community_a", "grid", "lab")


@dataclass
class DemoScreening:
    created: bool
    case: int | None = None
    run: MatchRun | None = None
    campaign: Campaign | None = None
    counts: dict[str, int] = field(default_factory=dict)


def demo_screening(*, if_empty: bool = False) -> DemoScreening:
    if if_empty and (MatchRun.objects.exists() or Campaign.objects.exists()):
        return DemoScreening(created=False)
    users = {u.username: u for u in User.objects.filter(username__in=USERS)}
    if len(users) < len(USERS):
        raise DomainError(
            "缺少演示用户；请先运行 fangkong seed", "demo users missing; run `fangkong seed` first"
        )
    rng = random.Random(20221123)
    case_id = _case(users)
    facts = labs.case_facts([case_id])[case_id]
    community = facts.area_code[:12]
    venues = _venues(users["community_a"], community)
    scans = _scans(users["command"], facts, venues, rng)
    started = services.match_run_start(actor=users["command"], case_id=case_id, enqueue=False)
    run = services.match_run_execute(run_id=started.pk)
    if run is None:  # (never: the run was made just now and is nobody else's)
        raise DomainError("接触者匹配未运行", "the contact match did not run")
    overdue = _overdue(users["community_a"], community, rng)
    escalated = services.tasks_escalate()
    campaign, screened = _campaign(users, community, rng)
    return DemoScreening(
        True,
        case_id,
        run,
        campaign,
        {
            "scans": scans,
            "contacts": run.contacts,
            "tasks": TraceTask.objects.count(),
            "overdue": overdue,
            "escalated": escalated,
            "screened": screened,
        },
    )


def _case(users) -> int:
    """A confirmed case of the demo results, or one made from a recall of a positive pool:
    resampled at home with a single tube, which the demo lab reports positive."""
    confirmed = labs.cases_for(users["command"]).filter(status="confirmed").order_by("id").first()
    if confirmed is not None:
        return confirmed.pk
    recall = (
        labs.recalls_for(users["community_a"], status="open")
        .filter(resident__isnull=False, reason="positive")
        .first()
    )
    if recall is None:
        raise DomainError(
            "演示结果中没有阳性混管；请先运行 fangkong demo_results",
            "no positive pool in the demo results; run `fangkong demo_results` first",
        )
    worker = users["community_a"]
    lab_services.recalls_arrange(actor=worker, recalls=[recall], via="home")
    recall.refresh_from_db()
    sampled = timezone.now() - dt.timedelta(hours=3)
    testing_services.home_task_close(
        actor=worker, task=recall.home_task, tube=DEMO_TUBE, residents=[recall.resident], at=sampled
    )
    tested = timezone.localtime(timezone.now() - dt.timedelta(hours=1))
    lab_services.results_upload_submit(
        actor=users["lab"],
        file_name="单管复采.csv",
        data=f"tube,result,tested_at\n{DEMO_TUBE},positive,{tested:%Y-%m-%d %H:%M}\n".encode(),
    )
    case = labs.cases_for(users["command"]).filter(status="confirmed").order_by("id").first()
    if case is None:
        raise DomainError("演示病例未能生成", "the demo case could not be made")
    return case.pk


def _venues(worker, community: str) -> list[Venue]:
    area = Area.objects.get(code=community)
    made = []
    for name, kind in (("东风农贸市场", VenueKind.MARKET), ("12路公交车", VenueKind.BUS)):
        venue = Venue.objects.filter(area=area, name=name).first()
        made.append(venue or services.venue_create(actor=worker, area=area, name=name, kind=kind))
    return made


def _scans(actor, facts, venues: list[Venue], rng: random.Random) -> int:
    """The case at both venues the day before it was sampled; a handful of residents
    within the margin of it (contacts), and some hours apart (not contacts)."""
    start = facts.sampled_at - dt.timedelta(days=1)
    near = _residents(facts.area_code[:12], 5, rng) + _residents(facts.area_code[:9], 3, rng)
    far = _residents(facts.area_code[:6], 4, rng)
    scans = []
    for i, venue in enumerate(venues):
        at = start + dt.timedelta(hours=3 * i)
        scans.append(ScanIn(venue_code=venue.code, scanned_at=at, person_key=facts.person_key))
        for j, key in enumerate(near[i::2]):
            minutes = rng.randint(1, 25) * (1 if j % 2 else -1)
            scans.append(
                ScanIn(
                    venue_code=venue.code,
                    scanned_at=at + dt.timedelta(minutes=minutes),
                    person_key=key,
                )
            )
        for key in far[i::2]:
            later = at + dt.timedelta(hours=rng.randint(3, 6))
            scans.append(ScanIn(venue_code=venue.code, scanned_at=later, person_key=key))
    outcome = services.scans_receive(actor=actor, client_id="demo-scans-1", scans=scans)
    return outcome.rows


def _residents(prefix: str, n: int, rng: random.Random) -> list[str]:
    keys = list(people.residents_by_keys_under(prefix, limit=200).values_list("id_hash", flat=True))
    return rng.sample(keys, min(n, len(keys)))


def _overdue(worker, community: str, rng: random.Random) -> int:
    """A task raised three hours ago by day (the demo moves its times back: a demo needs
    a past), so it is overdue now; the watcher escalates it."""
    keys = _residents(community, 40, rng)
    taken = set(TraceTask.objects.values_list("person__person_key", flat=True))
    key = next((k for k in keys if k not in taken), None)
    if key is None:
        return 0
    resident = people.residents_by_keys([key]).get()
    task, _made = services.task_create(
        actor=worker,
        person=services.person_for_resident(resident),
        category="risk_area",
        reason="疾控推送：14天内自上海市浦东新区返回 / back from a risk area",
    )
    earlier = timezone.now() - dt.timedelta(hours=3)
    TraceTask.objects.filter(pk=task.pk).update(
        raised_at=earlier, deadline=earlier + dt.timedelta(hours=2)
    )
    return 1


def _campaign(users, community: str, rng: random.Random) -> tuple[Campaign, int]:
    compound = (
        Area.objects.filter(code__startswith=community, level=Level.COMPOUND)
        .order_by("code")
        .first()
    )
    if compound is None:
        raise DomainError("演示社区没有小区", "the demo community has no compound")
    campaign = services.campaign_launch(
        actor=users["street"],
        name="第一轮入户摸排",
        areas=[compound],
        deadline=timezone.now() + dt.timedelta(days=1),
        risk_places="上海市浦东新区\n广州市白云区",
    )
    households = list(
        Household.objects.filter(area_code__startswith=compound.code).order_by(
            "area_code", "unit", "room"
        )
    )
    screener = users["community_a"]
    screened = 0
    flagged = 0
    answers: list[AnswerIn]
    for household in households[: len(households) // 2]:
        roll = rng.random()
        if roll < 0.1:
            outcome, answers = VisitOutcome.NOBODY_HOME, []
        elif roll < 0.13:
            outcome, answers = VisitOutcome.REFUSED, []
        else:
            outcome = VisitOutcome.DONE
            members = list(people.household_members(household.pk))
            answers = [
                AnswerIn(resident_id=m.pk, vaccination=rng.choice(["full", "booster"]))
                for m in members
            ]
            if answers and flagged < 2 and rng.random() < 0.2:
                answers[0].travelled, answers[0].from_risk_area = True, True
                answers[0].travel_from = "上海市浦东新区"
                flagged += 1
        services.household_screen(
            actor=screener,
            campaign=campaign,
            household=household,
            outcome=outcome,
            method="door" if rng.random() < 0.8 else "phone",
            client_id=f"demo-visit-{campaign.pk}-{household.pk}",
            answers=answers,
        )
        screened += outcome == VisitOutcome.DONE
    return campaign, screened
