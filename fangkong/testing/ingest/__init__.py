"""The upload path: device events in; tubes, samples and coverage out, idempotently.

`ingest()` takes one upload (a batch of events, see docs/sampling-protocol.md) and
answers one result per event. It runs inside the caller's transaction and writes with
a few statements per upload, never one per event (on PostgreSQL each batch travels as
one JSON parameter; see `_insert_statements`), in as few round trips as the answers
allow: on PostgreSQL a sealed tube of new people costs three round trips (BEGIN with
2; 3–8 as one statement beside the kept events of 7; COMMIT), a replay two; a test
counts them (test_ingest.py). SQLite runs the steps statement by statement:

1. Checks that need no database (shape, barcode, signature of the code, ID number),
   then the rounds and channels the batch names (cached a few seconds per process).
2. Replays: events whose client id is already stored (as a `Sample`, or as an
   `UploadEvent`) write nothing. They answer their stored result only to the user and
   device that stored them; anyone else gets a neutral refusal (`client_id_taken`)
   that tells nothing of the person. The samples' residents are read in the same
   round trip (with the transaction's timeouts on PostgreSQL, and BEGIN: `sql._begin_here`).
3. Tubes: `INSERT … ON CONFLICT (barcode) DO NOTHING` and a read of the batch's tubes
   that were there already (one statement on PostgreSQL). An event whose tube belongs
   to another channel or round is refused.
4. Samples: `INSERT … ON CONFLICT (client_id) DO NOTHING RETURNING`: what does not come
   back was stored meanwhile by a concurrent copy of this upload, and is answered as a
   replay.
5. First-sample markers: `INSERT … ON CONFLICT (round, resident) DO NOTHING RETURNING`,
   ending the exemptions of those it inserts (on PostgreSQL one statement with 4: a
   person's marker is the earliest of their samples that went in). A marker
   that goes in is a person sampled for the first time: the building's `sampled`
   counter moves. A marker already there makes the sample a repeat — unless the new
   sample was taken earlier, in which case the marker moves to it (a conditional
   UPDATE) and the person's flags are recomputed.
6. Tubes made by an earlier upload get this one's open/seal times, pool size and
   sample count; over-pool flags are recomputed where a tube is over.
7. Tube opens and seals, and every refusal, go to `UploadEvent` (on PostgreSQL in the
   round trip of 4–5: nothing there changes them).
8. Last, the coverage counters, one UPDATE per touched building, in code order: the
   row locks on these shared rows are held only for the end of the transaction, and
   always taken in the same order, so channels do not deadlock on them.

On PostgreSQL 3 to 8 are one statement (`samples._upload_statement`), sent with the
kept events: the samples go in only where their tube is their channel's, and the
counters' rows are locked in code order after the statement's inserts. What only the
answer tells (a tube taken by another channel: its events refused; a tube committed by
a concurrent upload while the statement ran: its samples sent again) is put right
after it, in the same transaction (`_write_pg`); 6 only for tubes made earlier.

Order independence: every stored value is a function of the set of events, not of
their order: `opened_at` is the earliest open, `sealed_at` the latest seal, the pool
size the largest a tube_open gave (else the largest a sample carried, else the zone
rule), `repeat_in_round` is on every sample of a person but the earliest by
(at, client_id), `over_pool` on every sample of a tube beyond its pool size by
(at, client_id). Where order still matters: the *result* a tube_open, seal or refusal
got on first upload is what its replays answer (samples' replays report their current
flags); and when two channels really do use one barcode, the first to reach the
server keeps the tube.

The package, by meaning: `checks` (the events, their answers, the checks that need no
database), `refs` (rounds, channels and jurisdiction, cached per process), `tubes`,
`samples` (residents, samples, first-sample markers, exemptions ended), `records`
(opens, seals and refusals kept; the coverage counters) and `sql` (the statement kit:
one JSON parameter a batch, one round trip where nothing waits). This module runs the
steps in order.
"""

import datetime as dt
from collections import defaultdict

from django.db import OperationalError
from django.utils import timezone

from fangkong.core import clock
from fangkong.core.text import mask_name
from fangkong.people.models import Resident

from ..models import EventStatus, Sample, SampleFlag, UploadEvent, flag_slugs
from ..policies import MAX_POOL
from .checks import (
    Event,
    Refused,
    Result,
    _check_time,
    _clean_event,
    _earliest,
    _read_person,
    _Work,
)
from .records import _counters_move, _events_store
from .refs import Cache, _check_refs, _Refs, _scope, forget_cached
from .samples import (
    _after_markers,
    _markers,
    _people,
    _repeat_flags_recompute,
    _residents_apply,
    _residents_statement,
    _resolve_residents,
    _samples_insert,
    _upload_parse,
    _upload_statement,
)
from .sql import _any, _pg, _rows, _run, _run_each
from .tubes import _taken, _tube_owner, _tube_rows, _tubes_ensure, _tubes_update, zone_kind_at

__all__ = [
    "MAX_POOL",
    "Cache",
    "Event",
    "Refused",
    "Result",
    "forget_cached",
    "ingest",
    "zone_kind_at",
]


def ingest(
    *,
    actor,
    device_id: str,
    events: list[Event],
    home_area: str = "",
    timeouts: tuple[int, int] | None = None,
    device_time: dt.datetime | None = None,
) -> list[Result]:
    """Store one upload; one result per event, in order. Call inside a transaction.

    `timeouts`: PostgreSQL's statement and lock timeouts (ms) for the rest of the
    transaction, set in the same round trip as the first query, with sequential scans
    off: every statement here is an index probe, and a plan made while a round's tables
    were still empty (a fresh round on a fresh database) would otherwise scan them whole
    for every upload for as long as the connection keeps it (docs/benchmarks.md).

    `device_time`: the device's clock when it sent the upload; further than the skew
    allowance from the receive time, every sample of the upload is flagged `clock_skew`.
    Each event's own time must lie in the window around the receive time (core.clock)."""
    now = timezone.now()
    limits = clock.window()
    device_skewed = clock.skewed(device_time, now, limits)
    device_id = (device_id or "")[:64]
    results: dict[str, Result] = {}
    order = [ev.client_id for ev in events]

    # 1. Checks that need no database, on every event (a client id repeated within the
    # batch is taken once), then what the events name (rounds and channels: cached).
    works: list[_Work] = []
    seen = set()
    for ev in events:
        if ev.client_id not in seen:
            seen.add(ev.client_id)
            works.append(_Work(ev))
    for w in works:
        if device_skewed:
            w.flags |= SampleFlag.CLOCK_SKEW
        try:
            _check_time(w, now, limits)
            _clean_event(w.ev)
            if w.ev.type == "sample":
                _read_person(w)
        except Refused as exc:
            w.refused = exc
        except Exception as exc:  # a DomainError from the code check
            if not hasattr(exc, "zh"):
                raise
            w.refused = Refused(getattr(exc, "code", "invalid"), exc.zh, exc.en)
    refs = _Refs(works)
    live = [w for w in works if w.refused is None]
    scope = _scope(actor)
    for w in live:
        try:
            _check_refs(w, refs, scope, home_area)
        except Refused as exc:
            w.refused = exc
    live = [w for w in live if w.refused is None]

    # 2. Replays write nothing, and answer what they answered; the residents of the
    # samples. One round trip with the timeouts (a replay's resident is read for nothing:
    # replays are rare, round trips are not).
    before = []
    if timeouts is not None and _pg():
        before.append(
            (
                "SELECT set_config('statement_timeout', %s, true), "
                "set_config('lock_timeout', %s, true), "
                "set_config('enable_seqscan', 'off', true)",
                [f"{timeouts[0]}ms", f"{timeouts[1]}ms"],
            )
        )
    owner = (getattr(actor, "pk", None), device_id)
    sampled = [w for w in live if w.ev.type == "sample"]
    then = [_residents_statement(sampled)] if sampled and _pg() else []
    stored, found = _stored_results([w.ev.client_id for w in works], before, owner=owner, then=then)
    results.update(stored)
    works = [w for w in works if w.ev.client_id not in results]
    live = [w for w in live if w.ev.client_id not in results]
    sampled = [w for w in sampled if w.ev.client_id not in results]
    if then:
        _residents_apply(sampled, refs, found)
    else:
        _resolve_residents(sampled, refs)

    if _pg():
        _write_pg(works, live, results, refs, actor, device_id, now, owner)
    else:
        _write_each(works, live, results, refs, actor, device_id, now, owner)

    for w in works:
        if w.ev.client_id in results:
            continue
        if w.refused is not None:
            r = w.refused
            results[w.ev.client_id] = Result(
                w.ev.client_id, EventStatus.REJECTED, [], r.code, r.en, r.zh
            )
        elif w.ev.type == "sample":
            person = {"name": mask_name(w.name), "id_masked": w.id_masked}
            results[w.ev.client_id] = Result(
                w.ev.client_id, EventStatus.ACCEPTED, flag_slugs(w.flags), resident=person
            )
        else:
            results[w.ev.client_id] = Result(w.ev.client_id, EventStatus.ACCEPTED)
    return [results[cid] for cid in order]


TAKEN = (
    "client_id_taken",
    "该记录编号已被其他设备使用，请在设备上重新扫描",
    "this client id was already used by another device; scan again on this device",
)


def _stored_results(
    client_ids: list[str], before=(), *, owner: tuple, then=()
) -> tuple[dict[str, Result], list]:
    """Stored answers for client ids: accepted samples, then kept events (one query,
    sent with the statements `before` it, and the one `then` after it, whose rows come
    back beside the answers). `owner` is (user id, device id) of the upload: a stored
    answer goes back only to the user and device that stored it, so a guessed or
    copied client id tells nobody else a name."""
    if not client_ids:
        done = _run_each([*before, *then], begin=bool(before))
        return {}, done[-1] if then else []
    in_samples, p1 = _any("s.client_id", client_ids)
    in_events, p2 = _any("e.client_id", client_ids)
    sql = (
        f"SELECT 's', s.client_id, 'accepted', s.flags, '', '', '', r.name, r.id_masked, "
        f"s.id_masked, s.sampler_id, s.device_id FROM {Sample._meta.db_table} s "
        f"LEFT JOIN {Resident._meta.db_table} r ON r.id = s.resident_id WHERE {in_samples} "
        f"UNION ALL SELECT 'e', e.client_id, e.status, 0, e.code, e.message, e.message_zh, "
        f"NULL, NULL, '', e.user_id, e.device_id FROM {UploadEvent._meta.db_table} e "
        f"WHERE {in_events}"
    )
    out: dict[str, Result] = {}
    done = _run_each([*before, (sql, [*p1, *p2]), *then], begin=bool(before))
    rows, found = (done[-2], done[-1]) if then else (done[-1], [])
    for row in sorted(rows, key=lambda r: r[:2], reverse=True):
        kind, cid, status, flags, code, message, message_zh, name, masked, own = row[:10]
        if cid in out:  # a sample's id reused for an event by a faulty device: the sample wins
            continue
        if tuple(row[10:]) != owner:
            out[cid] = Result(cid, EventStatus.REJECTED, [], *TAKEN)
        elif kind == "s":
            person = {"name": mask_name(name or ""), "id_masked": masked or own}
            out[cid] = Result(cid, status, flag_slugs(flags), resident=person)
        else:
            out[cid] = Result(cid, status, [], code, message, message_zh)
    return out, found


def _repeats_mark(samples: list[_Work]) -> None:
    """A person's later samples within the batch are repeats already."""
    for group in _people(samples).values():
        first = _earliest(group)
        for w in group:
            if w is not first:
                w.flags |= SampleFlag.REPEAT_IN_ROUND


def _flags_reread(samples: list[_Work], client_ids: set[str]) -> None:
    if client_ids:
        where, params = _any("client_id", client_ids)
        current = dict(
            _rows(f"SELECT client_id, flags FROM {Sample._meta.db_table} WHERE {where}", params)
        )
        for w in samples:
            w.flags = current.get(w.ev.client_id, w.flags)


def _write_each(works, live, results, refs, actor, device_id, now, owner) -> None:
    """Steps 3 to 8 statement by statement (SQLite)."""
    # 3. Tubes.
    by_tube: dict[str, list[_Work]] = defaultdict(list)
    for w in live:
        by_tube[w.ev.tube].append(w)
    tubes, fresh = _tubes_ensure(by_tube, refs, actor, device_id, now)
    for barcode, group in by_tube.items():
        tube = tubes[barcode]
        for w in group:
            if _tube_owner(tube) != w.owner:
                w.refused = _taken(barcode, tube, w)
    live = [w for w in live if w.refused is None]

    # 4. Samples.
    samples = [w for w in live if w.ev.type == "sample"]
    _repeats_mark(samples)
    raced = _samples_insert(samples, tubes, actor, device_id, now)
    if raced:  # stored meanwhile by a concurrent copy of this upload: answer as a replay
        results.update(_stored_results([w.ev.client_id for w in raced], owner=owner)[0])
        samples = [w for w in samples if w.sample_id is not None]

    # 5. First-sample markers: first samples, repeats, and contested firsts.
    firsts, contested, ended = _markers(_people(samples), now)

    # 6. Tubes' times, pool sizes and counts; over-pool flags.
    refreshed = _tubes_update(by_tube, tubes, fresh, samples, raced)
    recheck = {w.ev.client_id for w in samples if w.ev.tube in refreshed}
    recheck |= {w.ev.client_id for w in samples if w.resident_id in contested}
    _flags_reread(samples, recheck)

    # 7 and 8. Opens, seals and refusals kept; the coverage counters, last.
    kept = [w for w in works if w.ev.client_id not in results]
    _run(_events_store(kept, refs, actor, device_id, now) + _counters_move(firsts, ended))


# A tube another upload committed while this one's statement ran is sent again in a
# statement of its own (it is then visible); a third time cannot be needed, as the tube
# is committed by then. Bounded all the same.
_TUBE_TRIES = 3


def _write_pg(works, live, results, refs, actor, device_id, now, owner) -> None:
    """Steps 3 to 8 on PostgreSQL: one round trip for a batch whose tubes are its own.

    The opens, seals and refusals are kept, and the tubes, samples, markers, exemptions
    ended and counters written by `_upload_statement`, in one pipeline. What could not be
    known before (a tube taken by another channel or round; a tube committed by a
    concurrent upload while the statement ran) is put right afterwards, in the same
    transaction, with the answers it would have had statement by statement."""
    by_tube: dict[str, list[_Work]] = defaultdict(list)
    for w in live:
        by_tube[w.ev.tube].append(w)
    samples = [w for w in live if w.ev.type == "sample"]
    _repeats_mark(samples)
    kept = [w for w in works if w.ev.client_id not in results]
    statements = _events_store(kept, refs, actor, device_id, now)
    tubes: dict[str, dict] = {}
    fresh: set[str] = set()
    inserted_events: set[str] = set()
    raced: list[_Work] = []
    contested: set[int] = set()
    pending, barcodes = samples, sorted(by_tube)
    for _ in range(_TUBE_TRIES):
        if not barcodes:
            break
        rows = _tube_rows({b: by_tube[b] for b in barcodes}, refs, actor, device_id, now)
        statement = _upload_statement(pending, rows, barcodes, actor, device_id, now)
        found = _run_each([*statements, statement])
        if statements:
            inserted_events = {r[0] for r in found[0]}
            statements = []
        got, made_here, ids, made, ended = _upload_parse(found[-1])
        tubes.update(got)
        fresh |= made_here
        done = [w for w in pending if w.ev.tube in got]
        for w in done:
            if _tube_owner(got[w.ev.tube]) != w.owner:
                continue  # refused below
            w.sample_id = ids.get(w.ev.client_id)
            if w.sample_id is None:
                raced.append(w)
        people = _people([w for w in done if w.sample_id is not None])
        if people:
            candidates = {k: _earliest(group) for k, group in people.items()}
            contested |= _after_markers(people, candidates, made, ended)[1]
        barcodes = sorted(set(barcodes) - set(got))
        pending = [w for w in pending if w.ev.tube in barcodes]
    if barcodes:
        raise OperationalError(f"tubes {barcodes} neither made nor found")
    _run(statements)  # nothing live: the refusals alone

    # A tube taken by another channel or round: its events are refused (their opens and
    # seals were kept as accepted above: kept again as refused), and a person with a
    # sample there and one elsewhere in the batch gets the repeat flags of the marker.
    taken = []
    for barcode, group in by_tube.items():
        for w in group:
            if _tube_owner(tubes[barcode]) != w.owner:
                w.refused = _taken(barcode, tubes[barcode], w)
                taken.append(w)
    if taken:
        again = [w.ev.client_id for w in taken if w.ev.client_id in inserted_events]
        fix = []
        if again:
            where, params = _any("client_id", again)
            fix.append((f"DELETE FROM {UploadEvent._meta.db_table} WHERE {where}", params))
        _run(fix + _events_store(taken, refs, actor, device_id, now))
        keys = {(w.ev.round, w.resident_id) for w in taken if w.resident_id is not None}
        keys &= set(_people([w for w in samples if w.sample_id is not None]))
        if keys:
            _repeat_flags_recompute(sorted(keys))
            contested |= {rid for _, rid in keys}
    if raced:  # stored meanwhile by a concurrent copy of this upload: answer as a replay
        results.update(_stored_results([w.ev.client_id for w in raced], owner=owner)[0])
    samples = [w for w in samples if w.sample_id is not None]

    # Tubes made by an earlier upload: this one's times, pool sizes, counts; over-pool.
    refreshed = _tubes_update(by_tube, tubes, fresh, samples, raced)
    recheck = {w.ev.client_id for w in samples if w.ev.tube in refreshed}
    recheck |= {w.ev.client_id for w in samples if w.resident_id in contested}
    _flags_reread(samples, recheck)
