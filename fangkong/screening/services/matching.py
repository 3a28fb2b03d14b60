"""Match runs: a positive case's window through the exposure matcher (the analytics
store, DuckDB or Spark), and the contacts it finds made into trace tasks in bulk, with
their deadlines, their communities and the evidence of why they were matched."""

import datetime as dt
import io
import json
import logging
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from django.db import transaction
from django.utils import timezone

from fangkong.core import bulksql
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
    ScanIdentity,
    TaskSource,
    TaskState,
    TraceTask,
    Venue,
)
from ..permissions import can_run_match
from ..policies import COMPANION, CONTACTS, MATCHING
from .status import person_for_resident
from .tracing import stronger, tell_communities
from .venues import scans_flush

log = logging.getLogger(__name__)
CHUNK = 2000
# An uploaded ping file's largest size (a file on this machine has none).
MAX_PINGS_BYTES = 512 * 1024 * 1024


class Readable(Protocol):
    """An open binary file or an upload: what a ping file may come as."""

    def read(self, size: int = -1, /) -> bytes: ...


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
    # A time-space companion (from location pings): `case_at`/`contact_at` are the first
    # and last moments together, `minutes_apart` the minutes spent in one cell.
    companion: bool = False


def _window(facts, rule, start, end, onset=None) -> tuple[dt.datetime, dt.datetime]:
    """The infectious window: from the policy's days before sampling, or before the
    onset of symptoms when that came first, up to confirmation (unless given)."""
    if onset is not None and onset > max(facts.recorded_at, facts.sampled_at):
        raise DomainError(
            "发病时间晚于病例确认时间",
            "the onset is later than the case's confirmation",
            field="onset",
        )
    first = min(facts.sampled_at, onset) if onset is not None else facts.sampled_at
    start = start or first - dt.timedelta(days=rule.days_before)
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
    onset: dt.datetime | None = None,
    run_now: bool = False,
    enqueue: bool = True,
    pings: bytes | Readable | Path | None = None,
) -> MatchRun:
    """Queue exposure matching for a confirmed case. The window defaults to the policy's
    days before sampling (or before `onset`, the onset of symptoms, when earlier) up to
    when the case was confirmed; the margin and whether
    secondary contacts are traced come from the policies in force now (kept on the run).
    The worker runs it (`run_now`: this process, after commit; `enqueue=False`: the
    caller runs `match_run_execute` itself). With `pings` (a file of location pings,
    CSV or Parquet, `person_id,lat,lon,at`, person ids being person keys: its bytes, an
    open upload, or the path of a file on this machine; copied beside the scans in
    blocks, never read whole into memory), the case's time-space companions are found
    too, by the companion rule in force now; its bad rows are kept on the run."""
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
    companion = COMPANION.at(now, facts.area_code)
    start, end = _window(facts, matching.value, window_start, window_end, onset)
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
        companion_version=companion.version,
        created_by=user_of(actor),
    )
    if pings is not None:
        run.pings_file = _keep_pings(run, pings)
        run.save(update_fields=["pings_file"])
    audit_record(
        actor=actor,
        event="screening.match_run",
        target=run,
        target_label=f"case {facts.id}",
        area_code=facts.area_code,
        detail={
            "window": [start.isoformat(), end.isoformat()],
            "onset": onset.isoformat() if onset else None,
            "margin_minutes": run.margin_minutes,
            "second_degree": run.second_degree,
            "pings": bool(run.pings_file),
        },
    )
    if run_now:
        transaction.on_commit(lambda: match_run_execute(run_id=run.pk))
    elif enqueue:
        transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _keep_pings(run: MatchRun, pings: bytes | Readable | Path) -> str:
    """Keep a run's ping file beside the scans (the worker reads it, and the file given
    may go away), by the run's id, copied in blocks: CSV, or Parquet by its magic."""
    from ..analytics.conf import analytics_conf

    if isinstance(pings, Path):
        if not pings.is_file():
            raise DomainError(
                f"位置文件 {pings} 不存在", f"the ping file {pings} does not exist", field="pings"
            )
        with open(pings, "rb") as opened:
            return _keep_pings(run, opened)
    size = getattr(pings, "size", None)  # an upload (API or page); a path has no limit
    if size and size > MAX_PINGS_BYTES:
        raise DomainError(
            "位置文件过大（最多 512 MB）",
            "the ping file is too large (512 MB at most)",
            field="pings",
        )
    source: Readable = io.BytesIO(pings) if isinstance(pings, bytes) else pings
    head = source.read(4)
    if not head:
        raise DomainError("位置文件为空", "the ping file is empty", field="pings")
    folder = analytics_conf().directory / "pings"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"run-{run.pk}.{'parquet' if head == b'PAR1' else 'csv'}"
    with open(path, "wb") as out:
        out.write(head)
        shutil.copyfileobj(source, out, 1 << 20)
    return str(path)


# Bad ping rows a run keeps (all are counted).
KEPT_PING_PROBLEMS = 100


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
        from ..analytics.engines import utc_from_us
        from ..analytics.matching import CaseWindow, match_stored
        from ..analytics.query import CompanionRule

        scans_flush()  # every scan acknowledged before the run is matched
        rule = COMPANION.at(run.created_at, run.area_code).value
        result = match_stored(
            pings=Path(run.pings_file) if run.pings_file else None,
            companion_rule=CompanionRule(
                cell_metres=rule.cell_metres,
                min_overlap_minutes=rule.min_overlap_minutes,
                look_back_days=rule.look_back_days,
            ),
            cases=[
                CaseWindow(
                    str(run.pk), run.case_person.person_key, run.window_start, run.window_end
                )
            ],
            margin_minutes=run.margin_minutes,
            second_degree=run.second_degree,
        )
        for loaded in result.inputs:  # the ping file: what was read, and left out
            MatchRun.objects.filter(pk=run_id).update(
                pings_rows=loaded.rows,
                pings_refused=loaded.bad_rows,
                pings_problems=[
                    {"row": p.row, "field": p.field, "zh": p.zh, "en": p.en}
                    for p in loaded.problems[:KEPT_PING_PROBLEMS]
                ],
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
        ] + [
            FoundContact(
                c.person_id,
                "",
                utc_from_us(c.first_us),
                utc_from_us(c.last_us),
                c.overlap_minutes,
                companion=True,
            )
            for c in result.companions
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
    if c.companion:
        return {
            "run": run.pk,
            "case": run.case_id,
            "companion": True,
            "first": c.case_at.isoformat(),
            "last": c.contact_at.isoformat(),
            "overlap_minutes": str(c.minutes_apart),
        }
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


@dataclass(frozen=True)
class _Tracked:
    """A tracked person as the bulk path needs them: no model object."""

    id: int
    area_code: str


def _persons(keys: list[str], now: dt.datetime) -> dict[str, _Tracked]:
    """The tracked person of each key that is a resident or a person known here, as
    (id, area code); residents tracked for the first time are inserted in one statement;
    a resident's community kept current. Locked, so no task is raised for them beside
    this run's."""
    person_t = Person._meta.db_table
    residents = {}
    for chunk in _chunks(keys):
        for row in people.residents_by_keys(chunk).values_list(
            "id", "id_hash", "name", "id_type", "id_masked", "phone_masked", "area_code"
        ):
            residents[row[1]] = row
    bulksql.insert(
        person_t,
        [
            "resident_id",
            "person_key",
            "name",
            "id_type",
            "id_cipher",
            "id_masked",
            "phone_cipher",
            "phone_masked",
            "area_code",
            "found",
            "found_note",
            "created_at",
        ],
        [
            (pk, key, name, id_type, b"", masked, b"", phone, area, False, "", now)
            for pk, key, name, id_type, masked, phone, area in residents.values()
        ],
        [
            "bigint",
            "text",
            "text",
            "text",
            "bytea",
            "text",
            "bytea",
            "text",
            "text",
            "boolean",
            "text",
            "timestamptz",
        ],
        conflict="person_key",
    )
    lock = " FOR UPDATE" if bulksql.is_postgres() else ""
    found = bulksql.select_any(
        f"SELECT id, person_key, area_code, resident_id FROM {person_t} WHERE {{match}}{lock}",  # noqa: S608
        "person_key",
        keys,
        "text",
    )
    persons, moved = {}, []
    for pk, key, area_code, resident_id in found:
        r = residents.get(key)
        if r is not None and (area_code != r[6] or resident_id != r[0]):
            area_code = r[6]
            moved.append(Person(pk=pk, resident_id=r[0], area_code=area_code, found=False))
        persons[key] = _Tracked(pk, area_code)
    Person.objects.bulk_update(moved, ["area_code", "resident_id", "found"], batch_size=CHUNK)
    return persons


@dataclass(frozen=True)
class _Where:
    """Where a contact on no roster was found: the area of the venue of their closest
    scan with the case (or of the venue where their details came), or the case's
    community when no such venue is known here; and what to say of it."""

    area_code: str
    note: str


def _where_found(
    run: MatchRun, keys: list[str], best: dict[str, FoundContact], identities: dict
) -> dict[str, _Where]:
    codes = {best[k].venue_code for k in keys if k in best and best[k].venue_code}
    codes |= {i.venue_code for i in identities.values()}
    venues: dict[str, tuple[str, str]] = {}
    for chunk in _chunks(sorted(codes)):
        venues.update(
            (code, (area, name))
            for code, area, name in Venue.objects.filter(code__in=chunk).values_list(
                "code", "area_code", "name"
            )
        )
    where = {}
    for key in keys:
        tried = [
            best[key].venue_code if key in best else "",
            getattr(identities.get(key), "venue_code", ""),
        ]
        known = next((venues[c] for c in tried if c in venues), None)
        if known is not None:
            where[key] = _Where(known[0], f"场所扫码：{known[1]} / venue scan: {known[1]}")
        else:
            where[key] = _Where(
                run.area_code[:12],
                f"病例{run.case_id}的接触者，场所未登记 / contact of case {run.case_id}, "
                "at a venue not registered here",
            )
    return where


def _register_found(
    run: MatchRun, keys: list[str], best: dict[str, FoundContact], now: dt.datetime
) -> tuple[dict[str, _Tracked], dict[str, _Where]]:
    """Contacts on no roster and not tracked yet: those whose scans gave their details
    (`ScanIdentity`) are registered as people found (the same ID rules, encrypted,
    masked) where they were found, and tracked from now on (locked, as `_persons`);
    every one's place found is answered, for the tasks and for those left unidentified."""
    identities: dict[str, ScanIdentity] = {}
    for chunk in _chunks(keys):
        identities.update(
            (i.person_key, i) for i in ScanIdentity.objects.filter(person_key__in=chunk)
        )
    where = _where_found(run, keys, best, identities)
    Person.objects.bulk_create(
        [
            Person(
                person_key=key,
                name=i.name,
                id_type=i.id_type,
                id_cipher=i.id_cipher,
                id_masked=i.id_masked,
                phone_cipher=i.phone_cipher,
                phone_masked=i.phone_masked,
                area_code=where[key].area_code,
                found=True,
                found_note=where[key].note[:200],
                created_at=now,
            )
            for key, i in identities.items()
        ],
        batch_size=CHUNK,
        ignore_conflicts=True,
    )
    if not identities:
        return {}, where
    lock = " FOR UPDATE" if bulksql.is_postgres() else ""
    found = bulksql.select_any(
        f"SELECT id, person_key, area_code FROM {Person._meta.db_table} WHERE {{match}}{lock}",  # noqa: S608
        "person_key",
        list(identities),
        "text",
    )
    return {key: _Tracked(pk, area_code) for pk, key, area_code in found}, where


class _Assignment:
    """Deadline and policy versions of the tasks a run raises now, per community: the
    policies are read once a community, not once a task."""

    def __init__(self, now: dt.datetime):
        self.now = now
        self.deadlines = Deadlines(now)
        self.known: dict[str, tuple[dt.datetime, int, int]] = {}

    def of(self, area_code: str) -> tuple[dt.datetime, int, int]:
        community = area_code[:12]
        found = self.known.get(community)
        if found is None:
            deadline, version = self.deadlines.for_area(community)
            found = (deadline, version, CONTACTS.at(self.now, community).version)
            self.known[community] = found
        return found


_TASK_COLUMNS = [
    "person_id",
    "area_code",
    "category",
    "degree",
    "state",
    "source",
    "reason",
    "evidence",
    "raised_at",
    "deadline",
    "deadline_version",
    "measures_version",
    "match_run_id",
    "client_id",
    "attempts",
]
_TASK_TYPES = [
    "bigint",
    "text",
    "text",
    "smallint",
    "text",
    "text",
    "text",
    "jsonb",
    "timestamptz",
    "timestamptz",
    "integer",
    "integer",
    "bigint",
    "text",
    "smallint",
]
_CONTACT_COLUMNS = [
    "run_id",
    "person_key",
    "person_id",
    "area_code",
    "category",
    "degree",
    "venue_code",
    "case_scanned_at",
    "contact_scanned_at",
    "minutes_apart",
    "task_id",
]
_CONTACT_TYPES = [
    "bigint",
    "text",
    "bigint",
    "text",
    "text",
    "smallint",
    "text",
    "timestamptz",
    "timestamptz",
    "numeric",
    "bigint",
]


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
    members are close contacts too. Each task is assigned where the person lives (their
    building, so the community, its grid worker and street see it), due by the "2+6"
    policy in force now in that community, and keeps the policy versions. Persons, tasks
    and contacts go in as one statement each (arrays on PostgreSQL), without model
    objects; one message a community. A contact on no roster whose scans gave their
    details is registered where they were found (the venue's area) and gets a task
    there; one known by no detail is kept by key, in the venue's area, where that
    community sees it among its unidentified contacts (`selectors.unidentified_for`)."""
    started = started if started is not None else time.perf_counter()
    now = timezone.now()
    case_key = run.case_person.person_key
    best: dict[str, FoundContact] = {}
    evidence: dict[str, list[dict]] = defaultdict(list)
    # Venue contacts first (the closest pair first), then time-space companions.
    for c in sorted(contacts, key=lambda c: (c.companion, c.degree, c.minutes_apart)):
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
    persons = _persons(keys, now)
    registered, where = _register_found(run, [k for k in keys if k not in persons], best, now)
    persons |= registered
    category = {key: _category(key in household, best.get(key)) for key in keys}
    active: dict[int, TraceTask] = {}
    ids = [p.id for p in persons.values()]
    for chunk in _chunks(ids):
        active.update(
            {
                t.person_id: t
                for t in TraceTask.objects.active()
                .select_for_update()
                .filter(person_id__in=chunk)
                .only("id", "person_id", "category", "degree", "evidence")
            }
        )
    assign = _Assignment(now)
    new: list[tuple] = []
    merged: list[TraceTask] = []
    per_community: Counter[str] = Counter()
    for key in keys:
        person = persons.get(key)
        if person is None:
            continue
        task = active.get(person.id)
        degree = 2 if category[key] == Category.SECONDARY else 1
        if task is not None:
            task.category = stronger(task.category, category[key])
            task.degree = min(task.degree, degree)
            task.evidence = [*task.evidence, *evidence[key]]
            merged.append(task)
            continue
        deadline, version, measures = assign.of(person.area_code)
        new.append(
            (
                person.id,
                person.area_code,
                category[key],
                degree,
                TaskState.OPEN,
                TaskSource.MATCH,
                _reason(run, evidence[key][0]),
                json.dumps(evidence[key], ensure_ascii=False),
                now,
                deadline,
                version,
                measures,
                run.pk,
                "",
                0,
            )
        )
        per_community[person.area_code[:12]] += 1
    made = bulksql.insert(
        TraceTask._meta.db_table, _TASK_COLUMNS, new, _TASK_TYPES, returning="person_id, id"
    )
    TraceTask.objects.bulk_update(merged, ["category", "degree", "evidence"], batch_size=CHUNK)
    task_of = dict(made) | {t.person_id: t.pk for t in merged}
    rows = []
    for key in keys:
        person = persons.get(key)
        closest = best.get(key)
        rows.append(
            (
                run.pk,
                key,
                person.id if person else None,
                person.area_code if person else where[key].area_code,
                category[key],
                closest.degree if closest else 1,
                closest.venue_code if closest else "",
                closest.case_at if closest else run.window_start,
                closest.contact_at if closest else run.window_start,
                closest.minutes_apart if closest else Decimal(0),
                task_of.get(person.id) if person else None,
            )
        )
    bulksql.insert(MatchContact._meta.db_table, _CONTACT_COLUMNS, rows, _CONTACT_TYPES)
    tell_communities(dict(per_community), kind="screening.task", case=f"病例{run.case_id}的接触者")
    run.status = RunStatus.DONE
    run.engine = engine or run.engine
    run.contacts = len(keys)
    run.tasks_created, run.tasks_merged = len(new), len(merged)
    run.unknown = sum(1 for k in keys if k not in persons)
    run.registered = len(registered)
    run.companions = sum(1 for k in keys if category[k] == Category.COMPANION)
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
            "registered",
            "companions",
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
            "registered": run.registered,
            "registered_in": sorted({t.area_code[:12] for t in registered.values()}),
            "communities": len(per_community),
        },
    )
    return run


def _category(household: bool, c: FoundContact | None) -> str:
    if household or (c is not None and not c.companion and c.degree == 1):
        return Category.CLOSE
    if c is not None and c.companion:
        return Category.COMPANION
    return Category.SECONDARY


def _reason(run: MatchRun, first: dict) -> str:
    if first.get("household"):
        return f"病例{run.case_id}的同户人员 / household of case {run.case_id}"
    if first.get("companion"):
        return (
            f"与病例{run.case_id}时空伴随（同一网格{first['overlap_minutes']}分钟） / "
            f"time-space companion of case {run.case_id}, {first['overlap_minutes']} min"
        )
    return (
        f"与病例{run.case_id}同场所（相隔{first['minutes_apart']}分钟） / "
        f"at a venue with case {run.case_id}, {first['minutes_apart']} min apart"
    )
