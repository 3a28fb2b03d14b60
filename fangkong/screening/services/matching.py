"""Match runs: a positive case's window through the exposure matcher (the analytics
store, DuckDB or Spark), and the contacts it finds made into trace tasks in bulk, with
their deadlines, their communities and the evidence of why they were matched."""

import datetime as dt
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from fangkong.core.actors import SYSTEM, user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import DomainError, NotFound
from fangkong.core.guards import authorize
from fangkong.labs import selectors as labs
from fangkong.people import selectors as people

from ..deadlines import Deadlines
from ..models import (
    Category,
    MatchContact,
    MatchRun,
    Person,
    RunStatus,
    TaskSource,
    TraceTask,
)
from ..permissions import can_run_match
from ..policies import CONTACTS, MATCHING
from .status import person_for_resident
from .tracing import stronger, tell_communities

log = logging.getLogger(__name__)
CHUNK = 2000
# Evidence kept on one task from one run (the closest pairs first).
MAX_EVIDENCE = 10


@dataclass(frozen=True)
class FoundContact:
    """A contact as the matcher found it: who (person key), where (venue), the case's
    and the contact's scan times and how far apart; degree 2 came through `via_key`."""

    person_key: str
    venue_code: str
    case_at: dt.datetime
    contact_at: dt.datetime
    minutes_apart: Decimal
    degree: int = 1
    via_key: str | None = None


def _window(facts, rule, start, end) -> tuple[dt.datetime, dt.datetime]:
    start = start or facts.sampled_at - dt.timedelta(days=rule.days_before)
    end = end or max(facts.recorded_at, facts.sampled_at)
    if end < start:
        raise DomainError(
            "窗口结束时间早于开始时间", "the window ends before it starts", field="window_end"
        )
    return start, end


@transaction.atomic
def match_run_start(
    *,
    actor,
    case_id: int,
    window_start: dt.datetime | None = None,
    window_end: dt.datetime | None = None,
    run_now: bool = False,
    enqueue: bool = True,
) -> MatchRun:
    """Queue exposure matching for a confirmed case. The window defaults to the policy's
    days before sampling up to when the case was confirmed; the margin and whether
    secondary contacts are traced come from the policies in force now (kept on the run).
    The worker runs it (`run_now`: this process, after commit; `enqueue=False`: the
    caller runs `match_run_execute` itself)."""
    authorize(actor, can_run_match)
    facts = labs.case_facts([case_id]).get(case_id)
    if facts is None:
        raise NotFound("没有该病例", "no such case", field="case")
    authorize(actor, area=facts.area_code)
    if not facts.confirmed:
        raise DomainError("该病例已复核排除", "this case was ruled out", field="case")
    now = timezone.now()
    matching = MATCHING.at(now, facts.area_code)
    contacts = CONTACTS.at(now, facts.area_code)
    start, end = _window(facts, matching.value, window_start, window_end)
    case_person = person_for_resident(people.residents_by_keys([facts.person_key]).get())
    run = MatchRun.objects.create(
        case_id=facts.id,
        case_person=case_person,
        area_code=facts.area_code,
        window_start=start,
        window_end=end,
        margin_minutes=matching.value.margin_minutes,
        second_degree=contacts.value.trace_secondary,
        matching_version=matching.version,
        contacts_version=contacts.version,
        created_by=user_of(actor),
    )
    audit_record(
        actor=actor,
        event="screening.match_run",
        target=run,
        target_label=f"case {facts.id}",
        area_code=facts.area_code,
        detail={
            "window": [start.isoformat(), end.isoformat()],
            "margin_minutes": run.margin_minutes,
            "second_degree": run.second_degree,
        },
    )
    if run_now:
        transaction.on_commit(lambda: match_run_execute(run_id=run.pk))
    elif enqueue:
        transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from ..tasks import match_run

    match_run.enqueue(run_id)


def match_run_execute(*, run_id: int) -> MatchRun | None:
    """Run a queued match (the worker's task): claimed by a conditional UPDATE, so two
    workers never run one twice; a failure is kept on the run, never half-made tasks."""
    claimed = MatchRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING
    )
    if not claimed:
        return None
    run = MatchRun.objects.select_related("case_person").get(pk=run_id)
    started = time.perf_counter()
    try:
        from ..analytics.matching import CaseWindow, match_stored

        result = match_stored(
            cases=[
                CaseWindow(
                    str(run.pk), run.case_person.person_key, run.window_start, run.window_end
                )
            ],
            margin_minutes=run.margin_minutes,
            second_degree=run.second_degree,
        )
        found = [
            FoundContact(
                c.person_id,
                c.venue_code,
                c.case_scanned_at,
                c.contact_scanned_at,
                c.minutes_apart,
                c.degree,
                c.via_person_id,
            )
            for c in result.contacts
        ]
        return contacts_to_tasks(run=run, contacts=found, engine=result.engine, started=started)
    except Exception as exc:
        log.exception("match run %s failed", run_id)
        MatchRun.objects.filter(pk=run_id).update(
            status=RunStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
            seconds=time.perf_counter() - started,
        )
        return MatchRun.objects.get(pk=run_id)


def _chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _evidence(run: MatchRun, c: FoundContact) -> dict:
    item = {
        "run": run.pk,
        "case": run.case_id,
        "venue": c.venue_code,
        "case_at": c.case_at.isoformat(),
        "contact_at": c.contact_at.isoformat(),
        "minutes_apart": str(c.minutes_apart),
        "degree": c.degree,
    }
    if c.via_key:
        item["via"] = c.via_key[:8]
    return item


def _persons(keys: list[str]) -> dict[str, Person]:
    """The tracked person of each key that is a resident or a person known here; made in
    bulk for residents tracked for the first time; a resident's community kept current.
    Locked, so no task is raised for them beside this run's."""
    persons: dict[str, Person] = {}
    residents = {}
    for chunk in _chunks(keys):
        residents.update({r.id_hash: r for r in people.residents_by_keys(chunk)})
        persons.update(
            {
                p.person_key: p
                for p in Person.objects.select_for_update().filter(person_key__in=chunk)
            }
        )
    fresh = [
        Person(
            resident_id=r.pk,
            person_key=key,
            name=r.name,
            id_type=r.id_type,
            id_masked=r.id_masked,
            phone_masked=r.phone_masked,
            area_code=r.area_code,
        )
        for key, r in residents.items()
        if key not in persons
    ]
    Person.objects.bulk_create(fresh, batch_size=CHUNK, ignore_conflicts=True)
    made = [p.person_key for p in fresh]
    for chunk in _chunks(made):
        persons.update(
            {
                p.person_key: p
                for p in Person.objects.select_for_update().filter(person_key__in=chunk)
            }
        )
    moved = []
    for key, r in residents.items():
        p = persons.get(key)
        if p is not None and (p.area_code != r.area_code or p.resident_id != r.pk):
            p.area_code, p.resident_id, p.found = r.area_code, r.pk, False
            moved.append(p)
    Person.objects.bulk_update(moved, ["area_code", "resident_id", "found"], batch_size=CHUNK)
    return persons


@transaction.atomic
def contacts_to_tasks(
    *,
    run: MatchRun,
    contacts: Sequence[FoundContact],
    engine: str = "",
    started: float | None = None,
    actor=SYSTEM,
) -> MatchRun:
    """Make a run's contacts into trace tasks, in bulk: one task a person (the closest
    pair of scans first in its evidence; first degree are close contacts, second degree
    secondary), merged into a task the person has open already; the case's household
    members are close contacts too. Deadlines by the policy in force now in each
    community; one message a community. Contacts on no roster are kept by key only."""
    started = started if started is not None else time.perf_counter()
    now = timezone.now()
    case_key = run.case_person.person_key
    best: dict[str, FoundContact] = {}
    evidence: dict[str, list[dict]] = defaultdict(list)
    for c in sorted(contacts, key=lambda c: (c.degree, c.minutes_apart)):
        if c.person_key == case_key:
            continue
        if c.person_key not in best:
            best[c.person_key] = c
        if len(evidence[c.person_key]) < MAX_EVIDENCE:
            evidence[c.person_key].append(_evidence(run, c))
    facts = labs.case_facts([run.case_id]).get(run.case_id)
    household = []
    if facts is not None:
        household = [
            r.id_hash for r in people.household_members(facts.household_id) if r.id_hash != case_key
        ]
    for key in household:
        evidence[key].insert(0, {"run": run.pk, "case": run.case_id, "household": True})
    keys = list(dict.fromkeys([*household, *best]))
    persons = _persons(keys)
    category = {
        key: Category.CLOSE if key in household or best[key].degree == 1 else Category.SECONDARY
        for key in keys
    }
    active: dict[int, TraceTask] = {}
    ids = [p.pk for p in persons.values()]
    for chunk in _chunks(ids):
        active.update(
            {t.person_id: t for t in TraceTask.objects.active().filter(person_id__in=chunk)}
        )
    deadlines = Deadlines(now)
    measures: dict[str, int] = {}
    new, merged, per_community = [], [], Counter()
    for key in keys:
        person = persons.get(key)
        if person is None:
            continue
        task = active.get(person.pk)
        degree = 1 if category[key] == Category.CLOSE else 2
        if task is not None:
            task.category = stronger(task.category, category[key])
            task.degree = min(task.degree, degree)
            task.evidence = [*task.evidence, *evidence[key]]
            merged.append(task)
            continue
        community = person.area_code[:12]
        if community not in measures:
            measures[community] = CONTACTS.at(now, community).version
        deadline, version = deadlines.for_area(person.area_code)
        first = evidence[key][0]
        new.append(
            TraceTask(
                person=person,
                area_code=person.area_code,
                category=category[key],
                degree=degree,
                source=TaskSource.MATCH,
                reason=_reason(run, first),
                evidence=evidence[key],
                raised_at=now,
                deadline=deadline,
                deadline_version=version,
                measures_version=measures[community],
                match_run=run,
                raised_by=None,
            )
        )
        per_community[community] += 1
    TraceTask.objects.bulk_create(new, batch_size=CHUNK)
    TraceTask.objects.bulk_update(merged, ["category", "degree", "evidence"], batch_size=CHUNK)
    task_of = {t.person_id: t for t in [*new, *merged]}
    rows = []
    for key in keys:
        person = persons.get(key)
        c = best.get(key)
        rows.append(
            MatchContact(
                run=run,
                person_key=key,
                person=person,
                area_code=person.area_code if person else run.area_code[:6],
                category=category[key],
                degree=c.degree if c else 1,
                venue_code=c.venue_code if c else "",
                case_scanned_at=c.case_at if c else run.window_start,
                contact_scanned_at=c.contact_at if c else run.window_start,
                minutes_apart=c.minutes_apart if c else Decimal(0),
                task=task_of.get(person.pk) if person else None,
            )
        )
    MatchContact.objects.bulk_create(rows, batch_size=CHUNK)
    tell_communities(dict(per_community), kind="screening.task", case=f"病例{run.case_id}的接触者")
    run.status = RunStatus.DONE
    run.engine = engine or run.engine
    run.contacts = len(keys)
    run.tasks_created, run.tasks_merged = len(new), len(merged)
    run.unknown = sum(1 for k in keys if k not in persons)
    run.finished_at = timezone.now()
    run.seconds = time.perf_counter() - started
    run.save(
        update_fields=[
            "status",
            "engine",
            "contacts",
            "tasks_created",
            "tasks_merged",
            "unknown",
            "finished_at",
            "seconds",
        ]
    )
    audit_record(
        actor=actor,
        event="screening.match_done",
        target=run,
        target_label=f"case {run.case_id}",
        area_code=run.area_code,
        detail={
            "contacts": run.contacts,
            "created": run.tasks_created,
            "merged": run.tasks_merged,
            "unknown": run.unknown,
            "communities": len(per_community),
        },
    )
    return run


def _reason(run: MatchRun, first: dict) -> str:
    if first.get("household"):
        return f"病例{run.case_id}的同户人员 / household of case {run.case_id}"
    return (
        f"与病例{run.case_id}同场所（相隔{first['minutes_apart']}分钟） / "
        f"at a venue with case {run.case_id}, {first['minutes_apart']} min apart"
    )
