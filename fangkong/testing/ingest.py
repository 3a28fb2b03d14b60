"""The upload path: device events in; tubes, samples and coverage out, idempotently.

`ingest()` takes one upload (a batch of events, see docs/sampling-protocol.md) and
answers one result per event. It runs inside the caller's transaction and writes with
a few statements per upload, never one per event (on PostgreSQL each batch travels as
one JSON parameter; see `_insert_statements`):

1. Replays: events whose client id is already stored (as a `Sample`, or as an
   `UploadEvent`) write nothing (one query). They answer their stored result only to
   the user and device that stored them; anyone else gets a neutral refusal
   (`client_id_taken`) that tells nothing of the person.
2. Checks that need no database (shape, barcode, signature of the code, ID number),
   then the rounds and channels the batch names (cached a few seconds per process)
   and its residents (one query).
3. Tubes: `INSERT … ON CONFLICT (barcode) DO NOTHING` and a read of the batch's tubes
   that were there already (one statement on PostgreSQL). An event whose tube belongs
   to another channel or round is refused.
4. Samples: `INSERT … ON CONFLICT (client_id) DO NOTHING RETURNING`: what does not come
   back was stored meanwhile by a concurrent copy of this upload, and is answered as a
   replay.
5. First-sample markers: `INSERT … ON CONFLICT (round, resident) DO NOTHING RETURNING`,
   ending the exemptions of those it inserts (one statement on PostgreSQL). A marker
   that goes in is a person sampled for the first time: the building's `sampled`
   counter moves. A marker already there makes the sample a repeat — unless the new
   sample was taken earlier, in which case the marker moves to it (a conditional
   UPDATE) and the person's flags are recomputed.
6. Tubes made by an earlier upload get this one's open/seal times, pool size and
   sample count; over-pool flags are recomputed where a tube is over.
7. Tube opens and seals, and every refusal, go to `UploadEvent`.
8. Last, the coverage counters, one UPDATE per touched building, in code order: the
   row locks on these shared rows are held only for the end of the transaction, and
   always taken in the same order, so channels do not deadlock on them.

Order independence: every stored value is a function of the set of events, not of
their order: `opened_at` is the earliest open, `sealed_at` the latest seal, the pool
size the largest a tube_open gave (else the largest a sample carried, else the zone
rule), `repeat_in_round` is on every sample of a person but the earliest by
(at, client_id), `over_pool` on every sample of a tube beyond its pool size by
(at, client_id). Where order still matters: the *result* a tube_open, seal or refusal
got on first upload is what its replays answer (samples' replays report their current
flags); and when two channels really do use one barcode, the first to reach the
server keeps the tube.
"""

import datetime as dt
import functools
import json
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from fangkong.core import clock, idnumbers, pii
from fangkong.core.actors import SYSTEM
from fangkong.core.idnumbers import IdNumberError
from fangkong.core.text import mask_name
from fangkong.people.models import Resident, id_hash

from .models import (
    BuildingCoverage,
    Channel,
    EventStatus,
    Exemption,
    FirstSample,
    PoolSource,
    RoundArea,
    Sample,
    SampleFlag,
    SamplingSite,
    TestingRound,
    Tube,
    UploadEvent,
    Via,
    flag_slugs,
)
from .policies import MAX_POOL

EVENT_TYPES = ("tube_open", "sample", "tube_seal")
BARCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
CHUNK = 500  # rows per multi-row statement (SQLite allows 32766 parameters)


@dataclass
class Event:
    """One event as a device sent it (see docs/sampling-protocol.md)."""

    client_id: str
    type: str
    at: dt.datetime | None = None
    round: int | None = None
    site: int | None = None
    channel: int | None = None
    tube: str = ""
    pool_size: int | None = None
    code: str = ""
    id_type: str = ""
    id_number: str = ""
    # Door-to-door only: the server itself names the person and the tube's owner.
    resident_id: int | None = None
    via: str = Via.SITE


@dataclass
class Result:
    client_id: str
    status: str
    flags: list[str] = field(default_factory=list)
    code: str = ""
    message: str = ""
    message_zh: str = ""
    resident: dict | None = None

    def as_dict(self) -> dict:
        out = {"client_id": self.client_id, "status": self.status, "flags": self.flags}
        if self.status == EventStatus.REJECTED:
            out.update(code=self.code, message=self.message, message_zh=self.message_zh)
        if self.resident is not None:
            out["resident"] = self.resident
        return out


class Refused(Exception):
    def __init__(self, code: str, zh: str, en: str):
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en


@dataclass
class _Work:
    """An event being processed, with what the checks learned about it."""

    ev: Event
    refused: Refused | None = None
    owner: tuple | None = None  # (round, site, channel, via): who may use the tube
    area_code: str = ""  # the site's area (or the home building)
    resident_id: int | None = None
    resident_area: str = ""
    name: str = ""
    id_masked: str = ""
    unknown: tuple | None = None  # (id_type, cipher, hash, masked) of an unknown person
    flags: int = 0
    sample_id: int | None = None
    time_ok: bool = False  # `ev.at` passed the window and is a UTC instant now

    @property
    def key(self) -> tuple:
        return (self.ev.at, self.ev.client_id)


def _check_time(w: _Work, now: dt.datetime, limits: clock.Window) -> None:
    """The event's claimed time, inside the window around `now` (the receive time), as
    UTC; a time ahead of the receive time by more than the skew allowance is flagged."""
    ev = w.ev
    if ev.at is None:
        return
    try:
        ev.at = clock.client_time(
            ev.at,
            received=now,
            label=(f"事件{ev.client_id}", f"event {ev.client_id}"),
            field="at",
            field_zh="时间",
            limits=limits,
        )
    except clock.ClientTimeError as exc:
        raise Refused("bad_time", exc.zh, exc.en) from None
    w.time_ok = True
    if clock.ahead(ev.at, now, limits):
        w.flags |= SampleFlag.CLOCK_SKEW


def _clean_event(ev: Event) -> None:
    """Checks that need no database. Raises Refused."""
    if ev.type not in EVENT_TYPES:
        raise Refused(
            "bad_event",
            f"事件类型{ev.type!r}未知",
            f"unknown event type {ev.type!r}; expected tube_open, sample or tube_seal",
        )
    missing = [f for f in ("at", "round", "tube") if not getattr(ev, f)]
    if ev.via == Via.SITE:
        missing += [f for f in ("site", "channel") if not getattr(ev, f)]
    if missing:
        names = ", ".join(missing)
        raise Refused("missing_field", f"缺少字段：{names}", f"missing field(s): {names}")
    if not BARCODE.match(ev.tube):
        raise Refused(
            "bad_tube",
            f"试管条码{ev.tube!r}格式不正确",
            f"tube barcode {ev.tube!r} is not valid (letters, digits, . _ -; at most 40)",
        )
    if ev.pool_size is not None and not 1 <= ev.pool_size <= MAX_POOL:
        raise Refused(
            "bad_pool",
            f"混采人数应在1到{MAX_POOL}之间",
            f"pool size must be between 1 and {MAX_POOL}",
        )


def _read_person(w: _Work) -> None:
    """Who a sample is of: a signed code, or an ID number typed by hand."""
    from fangkong.people.codes import code_verify

    ev = w.ev
    if ev.resident_id is not None:
        w.resident_id = ev.resident_id
        return
    if ev.code:
        claims = code_verify(ev.code)  # CodeError is a DomainError: bilingual
        w.resident_id, w.name, w.id_masked = claims.resident_id, claims.name, claims.id_masked
        return
    if ev.id_number:
        try:
            doc = idnumbers.parse(ev.id_type or idnumbers.IdType.MAINLAND, ev.id_number)
        except IdNumberError as exc:
            raise Refused("bad_id", exc.zh, exc.en) from None
        w.unknown = (doc.type, pii.encrypt(doc.number), id_hash(doc.type, doc.number), doc.masked)
        w.id_masked = doc.masked
        return
    raise Refused(
        "missing_person", "采样缺少居民码或证件号", "a sample needs a resident code or an ID number"
    )


def _dt(value):
    """A datetime as the backend takes it as a parameter (PostgreSQL: as it is)."""
    return value if _pg() else connection.ops.adapt_datetimefield_value(value)


# The statements of the upload path. On PostgreSQL they go through a psycopg cursor with
# server-side binding on Django's own connection (so inside its transaction), and are
# prepared on the connection's first use (settings give the driver a threshold). A
# batch travels as ONE parameter: a JSON array of rows, taken apart by PostgreSQL
# (`jsonb_array_elements`), and a list of keys as a JSON array too. The driver's own
# array parameters cost ~7 µs of Python an element (a sample row has 17 columns): a
# 15-person batch spent more on adapting its arrays than on the rest of its insert;
# `json.dumps` makes the same text in C. The statement texts never depend on the batch,
# so each is planned once. Elsewhere (SQLite), Django's cursor and multi-row VALUES.


@functools.cache
def _pg() -> bool:
    return connections[DEFAULT_DB_ALIAS].vendor == "postgresql"


def _cursor():
    if _pg():
        import psycopg

        connection.ensure_connection()
        return psycopg.Cursor(connection.connection)
    return connection.cursor()


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.wrap_database_errors, _cursor() as cursor:
        if _pg():
            cursor.execute(sql, list(params), prepare=True)
        else:
            cursor.execute(sql, list(params))
        return cursor.fetchall() if cursor.description else []


def _run_many(sql: str, rows: list[tuple]) -> None:
    if rows:
        with connection.wrap_database_errors, _cursor() as cursor:
            cursor.executemany(sql, rows)


def _run(statements: list[tuple[str, list]]) -> list[tuple]:
    """Run `statements` in order and return the rows of the last. On PostgreSQL they go
    in one round trip (the driver's pipeline mode): a statement whose answer the
    Python side does not need before the next should not cost a round trip of its own
    (each is ~80 µs of CPU on the two sides, ~10 an upload)."""
    if not statements:
        return []
    if not _pg() or len(statements) == 1:
        for sql, params in statements[:-1]:
            _rows(sql, params)
        return _rows(*statements[-1])
    import psycopg

    with connection.wrap_database_errors:
        connection.ensure_connection()
        conn = connection.connection
        cursors = []
        with conn.pipeline():
            for sql, params in statements:
                cursor = psycopg.Cursor(conn)
                cursor.execute(sql, list(params), prepare=True)
                cursors.append(cursor)
        last = cursors[-1]
        rows = last.fetchall() if last.description else []
        for cursor in cursors:
            cursor.close()
        return rows


def _json_value(value):
    """What `json.dumps` cannot write itself, as PostgreSQL reads it back from text."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return "\\x" + bytes(value).hex()  # bytea's hex input format
    raise TypeError(f"cannot pass {type(value).__name__} to PostgreSQL as JSON")


def _json(values) -> str:
    return json.dumps(values, default=_json_value, ensure_ascii=False, separators=(",", ":"))


def _any(column: str, values, kind: str = "text") -> tuple[str, list]:
    """`column` equals one of `values` (of SQL type `kind`): one parameter on PostgreSQL."""
    values = list(values)
    if _pg():
        items = "json_array_elements_text(%s::json)"
        if kind != "text":
            items += f"::{kind}"
        return f"{column} = ANY(ARRAY(SELECT {items}))", [_json(values)]
    if not values:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values


def _insert_statements(model, columns, rows, conflict: str, returning: str):
    """INSERT … ON CONFLICT (…) DO NOTHING RETURNING … of `rows`: [(sql, params)]."""
    table, cols = model._meta.db_table, ", ".join(columns)
    tail = f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {returning}"
    if _pg():
        # One JSON array of rows (jsonb: parsed once, not once a column); row[i] is cast
        # to the column's type.
        values = ", ".join(
            f"(r->>{i})::{_column_type(model, name)}" for i, name in enumerate(columns)
        )
        sql = (
            f"INSERT INTO {table} ({cols}) SELECT {values} "
            f"FROM jsonb_array_elements(%s::jsonb) AS r {tail}"
        )
        return [(sql, [_json(rows)])]
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    out = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        sql = f"INSERT INTO {table} ({cols}) VALUES {', '.join([one] * len(chunk))} {tail}"
        out.append((sql, [v for row in chunk for v in row]))
    return out


def _insert_returning(model, columns: list[str], rows: list[tuple], conflict: str, returning):
    """Insert what is not there yet; return RETURNING of the rows that went in."""
    out = []
    for sql, params in (
        _insert_statements(model, columns, rows, conflict, returning) if rows else []
    ):
        out.extend(_rows(sql, params))
    return out


@functools.cache
def _column_type(model, column: str) -> str:
    field = next(f for f in model._meta.concrete_fields if f.column == column)
    return field.rel_db_type(connection) if field.is_relation else field.db_type(connection)


class Cache:
    """A small per-process cache with a time to live, for rows that rarely change and
    that every upload reads (rounds, channels, the uploader's jurisdiction). Services
    that change them clear this process's copy on commit (`forget`); other server
    processes see the change within `ttl` seconds."""

    def __init__(self, ttl: float, found_ttl: float | None = None):
        self.ttl = ttl
        # How long a row that was found is kept (rows that never change: for ever);
        # a key that was not found is asked again after `ttl`.
        self.found_ttl = ttl if found_ttl is None else found_ttl
        self._rows: dict = {}
        self._lock = threading.Lock()

    def get_many(self, keys, load) -> dict:
        now = time.monotonic()
        found, missing = {}, []
        for key in keys:
            hit = self._rows.get(key)
            if hit is not None and hit[0] > now:
                found[key] = hit[1]
            else:
                missing.append(key)
        if missing:
            loaded = load(missing)
            with self._lock:
                for key in missing:
                    found[key] = loaded.get(key)
                    ttl = self.ttl if found[key] is None else self.found_ttl
                    self._rows[key] = (now + ttl, found[key])
                for key, value in loaded.items():  # rows the loader read besides
                    if key not in found and value is not None:
                        self._rows[key] = (now + self.found_ttl, value)
                if len(self._rows) > 100_000:
                    self._rows.clear()
        return found

    def forget(self) -> None:
        with self._lock:
            self._rows.clear()


CACHE_SECONDS = 5.0
_rounds = Cache(CACHE_SECONDS)
# A channel's site and the site's area never change: kept until the process forgets.
_channels = Cache(CACHE_SECONDS, found_ttl=float("inf"))
# A device uploads every few seconds: its user's jurisdiction is kept longer, so that
# most of its uploads find it (a changed jurisdiction takes effect on the upload
# endpoint within this time). Its token is not cached: a revocation holds at once.
ACCOUNT_CACHE_SECONDS = 30.0
_scopes = Cache(ACCOUNT_CACHE_SECONDS)


def forget_cached() -> None:
    """Drop this process's cached rounds, channels and scopes (after a change)."""
    for cache in (_rounds, _channels, _scopes):
        cache.forget()


def _load_rounds(ids) -> dict:
    rounds = {r.pk: (r, []) for r in TestingRound.objects.filter(pk__in=ids)}
    for rid, code in RoundArea.objects.filter(round_id__in=ids).values_list(
        "round_id", "area_code"
    ):
        rounds[rid][1].append(code)
    return rounds


def _load_channels(ids) -> dict:
    """The channels asked for and every other channel of their sites (a site's channels
    upload together; one query warms the cache for all of them)."""
    channels, sites = Channel._meta.db_table, SamplingSite._meta.db_table
    where, params = _any("id", ids, "bigint")
    rows = _rows(
        f"SELECT c.id, c.site_id, s.area_code FROM {channels} c JOIN {sites} s "
        f"ON s.id = c.site_id WHERE c.site_id IN (SELECT site_id FROM {channels} WHERE {where})",
        params,
    )
    return {pk: {"id": pk, "site_id": site, "site__area_code": code} for pk, site, code in rows}


def _scope(actor) -> list[str] | None:
    """The uploader's jurisdiction (None: no user, as for internal callers)."""
    if actor is None:
        return None
    found = _scopes.get_many([actor.pk], lambda ids: {actor.pk: actor.scope_prefixes()})
    return found[actor.pk]


class _Refs:
    """Rounds and channels named by a batch (from the cache, else one query each)."""

    def __init__(self, works: list[_Work]):
        round_ids = {w.ev.round for w in works if isinstance(w.ev.round, int)}
        rounds = {k: v for k, v in _rounds.get_many(round_ids, _load_rounds).items() if v}
        self.rounds = {k: v[0] for k, v in rounds.items()}
        self.round_areas: dict[int, list[str]] = {k: v[1] for k, v in rounds.items()}
        channel_ids = {w.ev.channel for w in works if isinstance(w.ev.channel, int)}
        self.channels = {
            k: v for k, v in _channels.get_many(channel_ids, _load_channels).items() if v
        }

    def in_round(self, round_id: int, code: str) -> bool:
        """An area lies in a round if it is under, or above, one of the round's areas."""
        return any(
            code.startswith(a) or a.startswith(code) for a in self.round_areas.get(round_id, ())
        )

    def lives_in_round(self, round_id: int, code: str) -> bool:
        return any(code.startswith(a) for a in self.round_areas.get(round_id, ()))


def _check_refs(w: _Work, refs: _Refs, scope: list[str] | None, home_area: str) -> None:
    ev = w.ev
    rnd = refs.rounds.get(ev.round)
    if rnd is None:
        raise Refused(
            "unknown_round", f"检测轮次{ev.round}不存在", f"round {ev.round} does not exist"
        )
    if not rnd.accepts_sample_at(ev.at):
        raise Refused(
            "round_closed",
            f"检测轮次{ev.round}已于采样前结束",
            f"round {ev.round} was closed before this was sampled",
        )
    if ev.via == Via.HOME:
        w.owner, w.area_code = (ev.round, None, None, Via.HOME), home_area
        return
    channel = refs.channels.get(ev.channel)
    if channel is None or channel["site_id"] != ev.site:
        raise Refused(
            "unknown_channel",
            f"采样点{ev.site}没有通道{ev.channel}",
            f"site {ev.site} has no channel {ev.channel}",
        )
    w.area_code = channel["site__area_code"]
    if not refs.in_round(ev.round, w.area_code):
        raise Refused(
            "site_outside_round",
            f"采样点{ev.site}不在检测轮次{ev.round}的范围内",
            f"site {ev.site} is not in the areas of round {ev.round}",
        )
    if scope is not None and not any(w.area_code.startswith(p) for p in scope):
        raise Refused(
            "forbidden",
            f"采样点{ev.site}不在您的辖区内",
            f"site {ev.site} is outside your jurisdiction",
        )
    w.owner = (ev.round, ev.site, ev.channel, Via.SITE)


def _tube_owner(t: dict) -> tuple:
    return (t["round_id"], t["site_id"], t["channel_id"], t["via"])


def _taken(barcode: str, tube: dict, w: _Work) -> Refused:
    if tube["round_id"] != w.ev.round:
        return Refused(
            "tube_taken",
            f"试管{barcode}已在另一轮次使用",
            f"tube {barcode} is already used in another round",
        )
    return Refused(
        "tube_taken",
        f"试管{barcode}已在其他通道使用",
        f"tube {barcode} is already used at another channel",
    )


def _earliest(works: list[_Work]) -> _Work | None:
    return min(works, key=lambda w: w.key) if works else None


def zone_kind_at(code: str) -> str | None:
    """The kind of the zone in force on the area `code` (the most specific active one)."""
    from fangkong.areas.models import Area
    from fangkong.areas.selectors import zone_in_force

    zone = zone_in_force(Area(code=code))
    return zone.kind if zone else None


def _default_pool(rnd: TestingRound, area_code: str) -> int:
    return rnd.pool_size_for(zone_kind_at(area_code))


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

    # 1. Replays (and repeats of a client id within this batch) write nothing.
    ids = list(dict.fromkeys(order))
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
    results.update(_stored_results(ids, before, owner=owner))
    seen = set(results)
    works: list[_Work] = []
    for ev in events:
        if ev.client_id in seen:
            continue
        seen.add(ev.client_id)
        works.append(_Work(ev))

    # 2. Checks: the event alone, then what it names.
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
    _resolve_residents([w for w in live if w.ev.type == "sample"], refs)

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

    # 4. Samples (a person's later samples within the batch are repeats already).
    samples = [w for w in live if w.ev.type == "sample"]
    people = _people(samples)
    for group in people.values():
        first = _earliest(group)
        for w in group:
            if w is not first:
                w.flags |= SampleFlag.REPEAT_IN_ROUND
    raced = _samples_insert(samples, tubes, actor, device_id, now)
    if raced:  # stored meanwhile by a concurrent copy of this upload: answer as a replay
        results.update(_stored_results([w.ev.client_id for w in raced], owner=owner))
        samples = [w for w in samples if w.sample_id is not None]
        people = _people(samples)

    # 5. First-sample markers: first samples, repeats, and contested firsts.
    firsts, contested, ended = _markers(people, now)

    # 6. Tubes' times, pool sizes and counts; over-pool flags.
    refreshed = _tubes_update(by_tube, tubes, fresh, samples, raced)
    recheck = {w.ev.client_id for w in samples if w.ev.tube in refreshed}
    recheck |= {w.ev.client_id for w in samples if w.resident_id in contested}
    if recheck:
        where, params = _any("client_id", recheck)
        current = dict(
            _rows(f"SELECT client_id, flags FROM {Sample._meta.db_table} WHERE {where}", params)
        )
        for w in samples:
            w.flags = current.get(w.ev.client_id, w.flags)

    # 7. Opens, seals and refusals are kept by their client id; 8. coverage counters,
    # last. Nothing waits on their answers: one round trip for both.
    kept = [w for w in works if w.ev.client_id not in results]
    _run(_events_store(kept, refs, actor, device_id, now) + _counters_move(firsts, ended))

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


def _stored_results(client_ids: list[str], before=(), *, owner: tuple) -> dict[str, Result]:
    """Stored answers for client ids: accepted samples, then kept events (one query,
    sent with the statements `before` it). `owner` is (user id, device id) of the
    upload: a stored answer goes back only to the user and device that stored it, so a
    guessed or copied client id tells nobody else a name."""
    if not client_ids:
        _run(list(before))
        return {}
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
    rows = _run([*before, (sql, [*p1, *p2])])
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
    return out


def _resolve_residents(samples: list[_Work], refs: _Refs | None) -> None:
    """Residents by id (codes) and by keyed hash (typed ID numbers): one query."""
    wanted_ids = {w.resident_id for w in samples if w.resident_id is not None}
    wanted_hashes = {w.unknown[2] for w in samples if w.unknown}
    if not samples:
        return
    by_id_sql, p1 = _any("id", wanted_ids, "bigint")
    by_hash_sql, p2 = _any("id_hash", wanted_hashes)
    rows = _rows(
        f"SELECT id, id_hash, area_code, name, id_masked FROM {Resident._meta.db_table} "
        f"WHERE {by_id_sql} OR {by_hash_sql}",
        [*p1, *p2],
    )
    by_id, by_hash = {}, {}
    for pk, hashed, area_code, name, masked in rows:
        row = {"id": pk, "area_code": area_code, "name": name, "id_masked": masked}
        by_id[pk] = row
        by_hash[hashed] = row
    for w in samples:
        row = by_hash.get(w.unknown[2]) if w.unknown else by_id.get(w.resident_id)
        if row is None:
            w.resident_id = None
            w.flags |= SampleFlag.UNKNOWN_PERSON
            if w.unknown is None:  # a valid code of a resident no longer on the roster
                w.unknown = ("", b"", "", w.id_masked)
            continue
        w.unknown = None
        w.resident_id, w.resident_area = row["id"], row["area_code"]
        w.name, w.id_masked = row["name"], row["id_masked"]
        if not refs.lives_in_round(w.ev.round, w.resident_area):
            w.flags |= SampleFlag.OUTSIDE_ROUND


def _tubes_ensure(by_tube, refs, actor, device_id, now):
    """Make the batch's unknown tubes; read all of the batch's tubes."""
    if not by_tube:
        return {}, set()
    rows = []
    for barcode, group in by_tube.items():
        first = min(group, key=lambda w: w.key)
        opens = [w for w in group if w.ev.type == "tube_open" and w.owner == first.owner]
        seals = [w for w in group if w.ev.type == "tube_seal" and w.owner == first.owner]
        mine = [w for w in group if w.owner == first.owner]
        pool, source = _pool_from(mine)
        if pool is None:
            pool = _default_pool(refs.rounds[first.ev.round], _tube_area(first, mine))
        count = sum(1 for w in mine if w.ev.type == "sample")
        rnd, site, channel, via = first.owner
        rows.append(
            (
                barcode,
                rnd,
                via,
                site,
                channel,
                _tube_area(first, mine),
                pool,
                source,
                count,
                _dt(min(w.ev.at for w in opens)) if opens else None,
                _dt(max(w.ev.at for w in seals)) if seals else None,
                _dt(now),
                device_id,
                getattr(actor, "pk", None),
            )
        )
    rows.sort()
    columns = [
        "barcode",
        "round_id",
        "via",
        "site_id",
        "channel_id",
        "area_code",
        "pool_size",
        "pool_source",
        "sample_count",
        "opened_at",
        "sealed_at",
        "created_at",
        "device_id",
        "opened_by_id",
    ]
    wanted = "id, barcode, round_id, site_id, channel_id, via, pool_size, sample_count"
    barcodes = list(by_tube)
    if _pg():
        # One statement: insert what is new and read back the rest. The read sees the
        # table as the statement began, so a tube another upload committed meanwhile is
        # read again below.
        ((insert, params),) = _insert_statements(Tube, columns, rows, "barcode", f"{wanted}")
        old, p2 = _any("barcode", barcodes)
        found = _rows(
            f"WITH made AS ({insert}) SELECT {wanted}, true FROM made UNION ALL "
            f"SELECT {wanted}, false FROM {Tube._meta.db_table} WHERE {old} "
            f"AND barcode NOT IN (SELECT barcode FROM made)",
            [*params, *p2],
        )
    else:
        made = _insert_returning(Tube, columns, rows, "barcode", wanted)
        found = [(*r, True) for r in made]
    missing = set(barcodes) - {r[1] for r in found}
    if missing:
        where, p3 = _any("barcode", missing)
        found += [
            (*r, False)
            for r in _rows(f"SELECT {wanted} FROM {Tube._meta.db_table} WHERE {where}", p3)
        ]
    keys = ("id", "barcode", "round_id", "site_id", "channel_id", "via", "pool_size")
    keys += ("sample_count",)
    tubes = {r[1]: dict(zip(keys, r[:-1], strict=True)) for r in found}
    fresh = {r[1] for r in found if r[-1]}
    return tubes, fresh


def _tube_area(first: _Work, group: list[_Work]) -> str:
    if first.ev.via == Via.HOME:
        homes = sorted(w.resident_area for w in group if w.resident_area)
        return homes[0] if homes else first.area_code
    return first.area_code


def _pool_from(group: list[_Work]) -> tuple[int | None, int]:
    """The pool size a set of events says: the largest an open gave, else the largest a
    sample carried (largest, so that the answer does not depend on their order)."""
    for source, kind in ((PoolSource.OPEN, "tube_open"), (PoolSource.SAMPLE, "sample")):
        sizes = [w.ev.pool_size for w in group if w.ev.type == kind and w.ev.pool_size]
        if sizes:
            return max(sizes), int(source)
    return None, int(PoolSource.RULE)


def _samples_insert(samples, tubes, actor, device_id, now) -> list[_Work]:
    """Insert the samples; return those a concurrent upload stored first."""
    rows = []
    for w in samples:
        ev, unknown = w.ev, w.unknown or ("", b"", "", "")
        site = ev.site if ev.via == Via.SITE else None
        channel = ev.channel if ev.via == Via.SITE else None
        rows.append(
            (
                ev.client_id,
                ev.round,
                tubes[ev.tube]["id"],
                w.resident_id,
                w.resident_area or w.area_code,
                _dt(ev.at),
                _dt(now),
                int(w.flags),
                ev.via,
                site,
                channel,
                device_id,
                getattr(actor, "pk", None),
                unknown[0],
                unknown[1],
                unknown[2],
                unknown[3],
            )
        )
    rows.sort(key=lambda r: r[0])
    made = _insert_returning(
        Sample,
        [
            "client_id",
            "round_id",
            "tube_id",
            "resident_id",
            "area_code",
            "at",
            "received_at",
            "flags",
            "via",
            "site_id",
            "channel_id",
            "device_id",
            "sampler_id",
            "id_type",
            "id_cipher",
            "id_hash",
            "id_masked",
        ],
        rows,
        "client_id",
        "client_id, id",
    )
    ids = dict(made)
    raced = []
    for w in samples:
        w.sample_id = ids.get(w.ev.client_id)
        if w.sample_id is None:
            raced.append(w)
    return raced


def _people(samples: list[_Work]) -> dict[tuple, list[_Work]]:
    """The batch's samples of known residents by (round, resident)."""
    people: dict[tuple, list[_Work]] = defaultdict(list)
    for w in samples:
        if w.resident_id is not None:
            people[(w.ev.round, w.resident_id)].append(w)
    return people


def _markers(people: dict[tuple, list[_Work]], now) -> tuple[list[_Work], set[int], list]:
    """Insert first-sample markers and end the exemptions of the newly sampled.

    Returns the first samples, the contested residents, and the exemptions ended as
    (exemption, round, resident, building). On PostgreSQL one statement does both.
    """
    if not people:
        return [], set(), []
    candidates = {k: _earliest(group) for k, group in people.items()}
    rows = sorted(
        (rnd, rid, w.resident_area, w.sample_id, _dt(w.ev.at), w.ev.client_id)
        for (rnd, rid), w in candidates.items()
    )
    columns = ["round_id", "resident_id", "area_code", "sample_id", "at", "client_id"]
    keys = "round_id, resident_id"
    exemptions = Exemption._meta.db_table
    if _pg():
        ((insert, params),) = _insert_statements(FirstSample, columns, rows, keys, keys)
        found = _rows(
            f"WITH made AS ({insert}), ended AS (UPDATE {exemptions} e SET ended_at = %s, "
            "end_reason = 'sampled' FROM made WHERE e.round_id = made.round_id "
            "AND e.resident_id = made.resident_id AND e.ended_at IS NULL "
            "RETURNING e.id, e.round_id, e.resident_id, e.area_code) "
            "SELECT NULL, round_id, resident_id, '' FROM made UNION ALL "
            "SELECT id, round_id, resident_id, area_code FROM ended",
            [*params, now],
        )
        made = {(r[1], r[2]) for r in found if r[0] is None}
        ended = [r for r in found if r[0] is not None]
    else:
        made = {tuple(r) for r in _insert_returning(FirstSample, columns, rows, keys, keys)}
        ended = _exemptions_end(made, now)
    firsts = [candidates[k] for k in made]
    # A candidate that found a marker is a repeat, unless it was taken earlier still:
    # then the marker moves to it. Either way the person's flags are recomputed.
    lost = sorted(k for k in people if k not in made)
    for key in lost:
        _marker_contest(candidates[key])
    _repeat_flags_recompute(lost)
    if ended:
        _exemptions_audit(ended)
    return firsts, {rid for _, rid in lost}, ended


def _marker_contest(w: _Work) -> None:
    """Move the marker to `w` if `w` was taken earlier (ties: the smaller client id)."""
    at = _dt(w.ev.at)
    _rows(
        f"UPDATE {FirstSample._meta.db_table} SET sample_id = %s, at = %s, client_id = %s "
        "WHERE round_id = %s AND resident_id = %s "
        "AND (at > %s OR (at = %s AND client_id > %s))",
        [w.sample_id, at, w.ev.client_id, w.ev.round, w.resident_id, at, at, w.ev.client_id],
    )


def _repeat_flags_recompute(keys: list[tuple]) -> None:
    """`repeat_in_round` on every sample of the person but the marker's (rare path)."""
    repeat = int(SampleFlag.REPEAT_IN_ROUND)
    table, marks = Sample._meta.db_table, FirstSample._meta.db_table
    _run_many(
        f"UPDATE {table} SET flags = CASE WHEN client_id = "
        f"(SELECT client_id FROM {marks} WHERE round_id = %s AND resident_id = %s) "
        "THEN flags & ~%s ELSE flags | %s END "
        "WHERE round_id = %s AND resident_id = %s",
        [(rnd, rid, repeat, repeat, rnd, rid) for rnd, rid in keys],
    )


def _exemptions_end(made: set[tuple], now) -> list[tuple]:
    """A sampled person is no longer exempt (keeps sampled and exempt apart)."""
    ended = []
    by_round: dict[int, list[int]] = defaultdict(list)
    for rnd, rid in made:
        by_round[rnd].append(rid)
    for rnd, residents in by_round.items():
        rows = list(
            Exemption.objects.current()
            .filter(round_id=rnd, resident_id__in=residents)
            .values_list("id", "round_id", "resident_id", "area_code")
        )
        if rows:
            Exemption.objects.filter(pk__in=[r[0] for r in rows]).update(
                ended_at=now, end_reason="sampled"
            )
            ended += rows
    return ended


def _exemptions_audit(ended: list[tuple]) -> None:
    from fangkong.core.audit import audit_record

    for pk, rnd, rid, code in ended:
        audit_record(
            actor=SYSTEM,
            event="testing.exemption_end",
            target_label=f"exemption {pk}",
            area_code=code,
            reason="sampled",
            detail={"round": rnd, "resident": rid, "exemption": pk},
        )


def _tubes_update(by_tube, tubes, fresh, samples, raced) -> set[str]:
    """Fold this batch into tubes made earlier; return the tubes whose flags to recheck."""
    added: dict[str, int] = defaultdict(int)
    for w in samples:
        added[w.ev.tube] += 1
    lost: dict[str, int] = defaultdict(int)
    for w in raced:
        lost[w.ev.tube] += 1
    recheck = set()
    table = Tube._meta.db_table
    with _cursor() as cursor:
        for barcode in sorted(by_tube):
            tube = tubes[barcode]
            group = [w for w in by_tube[barcode] if w.refused is None]
            sets, params = [], []
            if barcode in fresh:
                if lost.get(barcode):
                    sets.append("sample_count = sample_count - %s")
                    params.append(lost[barcode])
            else:
                opens = [w for w in group if w.ev.type == "tube_open"]
                seals = [w for w in group if w.ev.type == "tube_seal"]
                if added.get(barcode):
                    sets.append("sample_count = sample_count + %s")
                    params.append(added[barcode])
                if opens:
                    at = _dt(min(w.ev.at for w in opens))
                    sets.append(
                        "opened_at = CASE WHEN opened_at IS NULL OR opened_at > %s "
                        "THEN %s ELSE opened_at END"
                    )
                    params += [at, at]
                if seals:
                    at = _dt(max(w.ev.at for w in seals))
                    sets.append(
                        "sealed_at = CASE WHEN sealed_at IS NULL OR sealed_at < %s "
                        "THEN %s ELSE sealed_at END"
                    )
                    params += [at, at]
                pool, source = _pool_from(group)
                if pool is not None:
                    # A stronger source replaces the size; the same source keeps the larger.
                    sets.append(
                        "pool_size = CASE WHEN pool_source < %s THEN %s "
                        "WHEN pool_source = %s AND pool_size < %s THEN %s ELSE pool_size END"
                    )
                    sets.append(
                        "pool_source = CASE WHEN pool_source < %s THEN %s ELSE pool_source END"
                    )
                    params += [source, pool, source, pool, pool, source, source]
            if sets:
                cursor.execute(
                    f"UPDATE {table} SET {', '.join(sets)} WHERE id = %s "
                    "RETURNING sample_count, pool_size",
                    [*params, tube["id"]],
                )
                count, pool_size = cursor.fetchone()
            else:
                count, pool_size = tube["sample_count"], tube["pool_size"]
            if count > pool_size or pool_size != tube["pool_size"]:
                _over_pool_recompute(tube["id"], pool_size)
                recheck.add(barcode)
    return recheck


def _over_pool_recompute(tube_id: int, pool_size: int) -> None:
    """`over_pool` on the samples of a tube beyond its pool size, by (at, client_id)."""
    over = int(SampleFlag.OVER_POOL)
    table = Sample._meta.db_table
    rows = _rows(
        f"SELECT id, flags FROM {table} WHERE tube_id = %s ORDER BY at, client_id", [tube_id]
    )
    changes = []
    for i, (pk, flags) in enumerate(rows):
        want = flags | over if i >= pool_size else flags & ~over
        if want != flags:
            changes.append((want, pk))
    _run_many(f"UPDATE {table} SET flags = %s WHERE id = %s", changes)


def _events_store(works: list[_Work], refs: _Refs, actor, device_id: str, now) -> list:
    """The statements that keep opens, seals and refusals (to run in order)."""
    rows = []
    for w in works:
        ev = w.ev
        if w.refused is None and ev.type == "sample":
            continue  # kept as its Sample row
        refused = w.refused
        payload = {}
        if refused is not None:
            payload = {
                k: v
                for k, v in {
                    "type": ev.type,
                    "at": ev.at.isoformat() if isinstance(ev.at, dt.datetime) else None,
                    "round": ev.round,
                    "site": ev.site,
                    "channel": ev.channel,
                    "tube": ev.tube,
                    "pool_size": ev.pool_size,
                    "code": ev.code[:1000],
                    "id_type": ev.id_type,
                    "id_masked": idnumbers.mask(ev.id_number) if ev.id_number else "",
                }.items()
                if v not in (None, "")
            }
        rows.append(
            (
                ev.client_id,
                ev.type[:20],
                ev.round if ev.round in refs.rounds else None,
                w.area_code,
                (ev.tube or "")[:40],
                device_id,
                getattr(actor, "pk", None),
                _dt(ev.at) if w.time_ok else None,  # never a time outside the window
                _dt(now),
                EventStatus.REJECTED if refused else EventStatus.ACCEPTED,
                refused.code if refused else "",
                refused.en[:300] if refused else "",
                refused.zh[:300] if refused else "",
                json.dumps(payload, ensure_ascii=False),
            )
        )
    rows.sort()
    columns = ["client_id", "type", "round_id", "area_code", "tube", "device_id", "user_id"]
    columns += ["at", "received_at", "status", "code", "message", "message_zh", "payload"]
    if not rows:
        return []
    return _insert_statements(UploadEvent, columns, rows, "client_id", "client_id")


def _counters_move(firsts: list[_Work], ended: list[tuple]) -> list:
    """The statements that move the coverage counters, one a building in code order."""
    moves: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for w in firsts:
        moves[(w.ev.round, w.resident_area)][0] += 1
    for _pk, rnd, _rid, code in ended:
        moves[(rnd, code)][1] += 1
    sql = (
        f"UPDATE {BuildingCoverage._meta.db_table} SET sampled = sampled + %s, "
        "exempt = exempt - %s WHERE round_id = %s AND area_code = %s"
    )
    return [(sql, [s, e, rnd, code]) for (rnd, code), (s, e) in sorted(moves.items())]
