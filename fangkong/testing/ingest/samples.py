"""Residents, samples and first-sample markers (repeats, exemptions ended)."""

from collections import defaultdict

from fangkong.core.actors import SYSTEM
from fangkong.people.models import Resident

from ..models import (
    Exemption,
    FirstSample,
    Sample,
    SampleFlag,
    Via,
)
from .checks import _earliest, _Work
from .refs import _Refs
from .sql import (
    _any,
    _column_type,
    _dt,
    _insert_returning,
    _insert_statements,
    _json,
    _pg,
    _rows,
    _run,
    _run_many,
)


def _resolve_residents(samples: list[_Work], refs: _Refs | None) -> None:
    """Residents by id (codes) and by keyed hash (typed ID numbers): one query."""
    if samples:
        _residents_apply(samples, refs, _rows(*_residents_statement(samples)))


def _residents_statement(samples: list[_Work]) -> tuple[str, list]:
    """The query of `_resolve_residents` (to send with others)."""
    wanted_ids = {w.resident_id for w in samples if w.resident_id is not None}
    wanted_hashes = {w.unknown[2] for w in samples if w.unknown}
    by_id_sql, p1 = _any("id", wanted_ids, "bigint")
    by_hash_sql, p2 = _any("id_hash", wanted_hashes)
    return (
        f"SELECT id, id_hash, area_code, name, id_masked FROM {Resident._meta.db_table} "
        f"WHERE {by_id_sql} OR {by_hash_sql}",
        [*p1, *p2],
    )


def _residents_apply(samples: list[_Work], refs: _Refs | None, rows) -> None:
    """What the residents' query answered, onto the samples."""
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


SAMPLE_COLUMNS = [
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
]
MARKER_COLUMNS = ["round_id", "resident_id", "area_code", "sample_id", "at", "client_id"]


def _sample_rows(samples, tubes, actor, device_id, now) -> list[tuple]:
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
    return rows


def _samples_insert(samples, tubes, actor, device_id, now) -> list[_Work]:
    """Insert the samples; return those a concurrent upload stored first."""
    rows = _sample_rows(samples, tubes, actor, device_id, now)
    made = _insert_returning(Sample, SAMPLE_COLUMNS, rows, "client_id", "client_id, id")
    return _raced(samples, dict(made))


def _raced(samples: list[_Work], ids: dict) -> list[_Work]:
    """Note the samples' ids; return those that did not go in (a concurrent copy won)."""
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
    columns = MARKER_COLUMNS
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
    firsts, contested = _after_markers(people, candidates, made, ended)
    return firsts, contested, ended


def _samples_and_markers(samples, tubes, actor, device_id, now, before=()):
    """PostgreSQL: the samples and their first-sample markers in one statement (sent
    with the statements `before` it, in one round trip). Returns what `_raced` and
    `_markers` return: the raced samples, the first samples, the contested residents
    and the exemptions ended.

    The marker of a person is the earliest of the person's samples *that went in*
    (`rank` is the batch's order by (at, client_id)); so a sample a concurrent copy
    of this upload stored first is left out, as `_markers` does after `_raced`. A
    marker already there is a contest (resolved below, as in `_markers`)."""
    rows = _sample_rows(samples, tubes, actor, device_id, now)
    people = _people(samples)
    marks = []
    for (rnd, rid), group in people.items():
        for rank, w in enumerate(sorted(group, key=lambda w: w.key)):
            marks.append((rnd, rid, w.resident_area, _dt(w.ev.at), w.ev.client_id, rank))
    ((insert, params),) = _insert_statements(
        Sample, SAMPLE_COLUMNS, rows, "client_id", "client_id, id"
    )
    cast = {c: _column_type(FirstSample, c) for c in MARKER_COLUMNS}
    cols = ", ".join(MARKER_COLUMNS)
    keys = "round_id, resident_id"
    exemptions = Exemption._meta.db_table
    sql = (
        f"WITH s AS ({insert}), m AS (SELECT (r->>0)::{cast['round_id']} AS round_id, "
        f"(r->>1)::{cast['resident_id']} AS resident_id, "
        f"(r->>2)::{cast['area_code']} AS area_code, (r->>3)::{cast['at']} AS at, "
        f"(r->>4)::{cast['client_id']} AS client_id, (r->>5)::int AS rank "
        "FROM jsonb_array_elements(%s::jsonb) AS r), "
        "c AS (SELECT DISTINCT ON (m.round_id, m.resident_id) m.round_id, m.resident_id, "
        "m.area_code, s.id AS sample_id, m.at, m.client_id FROM m JOIN s "
        "ON s.client_id = m.client_id ORDER BY m.round_id, m.resident_id, m.rank), "
        f"made AS (INSERT INTO {FirstSample._meta.db_table} ({cols}) SELECT {cols} FROM c "
        f"ORDER BY {keys} ON CONFLICT ({keys}) DO NOTHING RETURNING {keys}), "
        f"ended AS (UPDATE {exemptions} e SET ended_at = %s, "
        "end_reason = 'sampled' FROM made WHERE e.round_id = made.round_id "
        "AND e.resident_id = made.resident_id AND e.ended_at IS NULL "
        "RETURNING e.id, e.round_id, e.resident_id, e.area_code) "
        "SELECT 's', client_id, id, NULL::bigint, '' FROM s UNION ALL "
        "SELECT 'm', '', NULL, round_id, resident_id::text FROM made UNION ALL "
        "SELECT 'x', area_code, id, round_id, resident_id::text FROM ended"
    )
    found = _run([*before, (sql, [*params, _json(marks), now])])
    raced = _raced(samples, {r[1]: r[2] for r in found if r[0] == "s"})
    if raced:
        people = _people([w for w in samples if w.sample_id is not None])
    if not people:
        return raced, [], set(), []
    candidates = {k: _earliest(group) for k, group in people.items()}
    made = {(r[3], int(r[4])) for r in found if r[0] == "m"}
    ended = [(r[2], r[3], int(r[4]), r[1]) for r in found if r[0] == "x"]
    firsts, contested = _after_markers(people, candidates, made, ended)
    return raced, firsts, contested, ended


def _after_markers(people, candidates, made, ended) -> tuple[list[_Work], set[int]]:
    firsts = [candidates[k] for k in made]
    # A candidate that found a marker is a repeat, unless it was taken earlier still:
    # then the marker moves to it. Either way the person's flags are recomputed.
    lost = sorted(k for k in people if k not in made)
    for key in lost:
        _marker_contest(candidates[key])
    _repeat_flags_recompute(lost)
    if ended:
        _exemptions_audit(ended)
    return firsts, {rid for _, rid in lost}


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
