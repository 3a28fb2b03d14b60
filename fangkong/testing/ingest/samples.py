"""Residents, samples and first-sample markers (repeats, exemptions ended)."""

from collections import defaultdict

from fangkong.core.actors import SYSTEM
from fangkong.people.models import Resident

from ..models import (
    BuildingCoverage,
    Exemption,
    FirstSample,
    Sample,
    SampleFlag,
    Tube,
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
    _run_many,
)
from .tubes import TUBE_COLUMNS, TUBE_READ, _tube_read


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
    """`SAMPLE_COLUMNS` of each sample; with `tubes` None, the tube's barcode in place of
    its id (the upload's statement on PostgreSQL finds the id itself)."""
    rows = []
    for w in samples:
        ev, unknown = w.ev, w.unknown or ("", b"", "", "")
        site = ev.site if ev.via == Via.SITE else None
        channel = ev.channel if ev.via == Via.SITE else None
        rows.append(
            (
                ev.client_id,
                ev.round,
                ev.tube if tubes is None else tubes[ev.tube]["id"],
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


def _upload_statement(samples, tube_rows, barcodes, actor, device_id, now):
    """PostgreSQL: the upload's writes in ONE statement (data-modifying CTEs), sent in one
    round trip with the kept events: the batch's tubes made or read, the samples of the
    tubes their channel owns, the first-sample markers, the exemptions they end, and the
    coverage counters. Returns (sql, params); `_upload_parse` reads its one row.

    - Tubes (`t`, `tb`): `INSERT … ON CONFLICT (barcode) DO NOTHING` and a read of those
      that were there. A tube another upload committed after the statement began is in
      neither (the read sees the table as the statement began): it comes back missing,
      and its samples are sent again in a statement of their own (see `ingest`).
    - Samples (`s`) go in only where the tube's owner (round, site, channel, via) is the
      sample's: those of a tube taken by another channel or round are left out, and
      refused afterwards (a rare fix-up). What does not come back otherwise was stored
      meanwhile by a concurrent copy of this upload.
    - Markers (`made`): a person's is the earliest of their samples *that went in*
      (`rank`: the batch's order by (at, client_id)); a marker already there is a
      contest, resolved afterwards as in `_markers`. `ended`: the exemptions they end.
    - Counters (`lk`, `cv`), last: the buildings' rows are locked in (round, code) order
      (`ORDER BY … FOR UPDATE`: the sort comes before the lock), after every insert of
      the statement is done (their rows come from the markers' and exemptions' RETURNING,
      which they wait for), and then moved. Concurrent uploads take these shared rows'
      locks in the same order and only at their statement's end, as when the counters
      were a statement of their own, so they do not deadlock on them.
    """
    rows = _sample_rows(samples, None, actor, device_id, now)
    marks = []
    for (rnd, rid), group in _people(samples).items():
        for rank, w in enumerate(sorted(group, key=lambda w: w.key)):
            marks.append((rnd, rid, w.resident_area, _dt(w.ev.at), w.ev.client_id, rank))
    ((tube_insert, tube_params),) = _insert_statements(
        Tube, TUBE_COLUMNS, tube_rows, "barcode", TUBE_READ
    )
    old, old_params = _any("barcode", barcodes)
    tubes, samples_table = Tube._meta.db_table, Sample._meta.db_table
    cast = {c: _column_type(Sample, c) for c in SAMPLE_COLUMNS}
    values = ", ".join(
        "tb.id" if c == "tube_id" else f"(r->>{i})::{cast[c]}" for i, c in enumerate(SAMPLE_COLUMNS)
    )
    col = {c: f"(r->>{i})" for i, c in enumerate(SAMPLE_COLUMNS)}
    mcast = {c: _column_type(FirstSample, c) for c in MARKER_COLUMNS}
    mcols = ", ".join(MARKER_COLUMNS)
    keys = "round_id, resident_id"
    exemptions, coverage = Exemption._meta.db_table, BuildingCoverage._meta.db_table
    sql = (
        f"WITH t AS ({tube_insert}), "
        f"tb AS (SELECT {TUBE_READ}, true AS fresh FROM t UNION ALL "
        f"SELECT {TUBE_READ}, false FROM {tubes} WHERE {old} "
        "AND barcode NOT IN (SELECT barcode FROM t)), "
        f"s AS (INSERT INTO {samples_table} ({', '.join(SAMPLE_COLUMNS)}) SELECT {values} "
        "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS x(r, n) "
        f"JOIN tb ON tb.barcode = {col['tube_id']} "
        f"AND tb.round_id = {col['round_id']}::{cast['round_id']} AND tb.via = {col['via']} "
        f"AND tb.site_id IS NOT DISTINCT FROM {col['site_id']}::{cast['site_id']} "
        f"AND tb.channel_id IS NOT DISTINCT FROM {col['channel_id']}::{cast['channel_id']} "
        "ORDER BY x.n ON CONFLICT (client_id) DO NOTHING RETURNING client_id, id), "
        f"m AS (SELECT (r->>0)::{mcast['round_id']} AS round_id, "
        f"(r->>1)::{mcast['resident_id']} AS resident_id, "
        f"(r->>2)::{mcast['area_code']} AS area_code, (r->>3)::{mcast['at']} AS at, "
        f"(r->>4)::{mcast['client_id']} AS client_id, (r->>5)::int AS rank "
        "FROM jsonb_array_elements(%s::jsonb) AS r), "
        "c AS (SELECT DISTINCT ON (m.round_id, m.resident_id) m.round_id, m.resident_id, "
        "m.area_code, s.id AS sample_id, m.at, m.client_id FROM m JOIN s "
        "ON s.client_id = m.client_id ORDER BY m.round_id, m.resident_id, m.rank), "
        f"made AS (INSERT INTO {FirstSample._meta.db_table} ({mcols}) SELECT {mcols} FROM c "
        f"ORDER BY {keys} ON CONFLICT ({keys}) DO NOTHING RETURNING {keys}, area_code), "
        f"ended AS (UPDATE {exemptions} e SET ended_at = %s, "
        "end_reason = 'sampled' FROM made WHERE e.round_id = made.round_id "
        "AND e.resident_id = made.resident_id AND e.ended_at IS NULL "
        "RETURNING e.id, e.round_id, e.resident_id, e.area_code), "
        "mv AS (SELECT round_id, area_code, sum(n)::int AS n, sum(x)::int AS x FROM ("
        "SELECT round_id, area_code, 1 AS n, 0 AS x FROM made UNION ALL "
        "SELECT round_id, area_code, 0, 1 FROM ended) u GROUP BY round_id, area_code), "
        f"lk AS (SELECT b.id, mv.n, mv.x FROM {coverage} b JOIN mv "
        "ON b.round_id = mv.round_id AND b.area_code = mv.area_code "
        "ORDER BY b.round_id, b.area_code FOR UPDATE OF b), "
        f"cv AS (UPDATE {coverage} b SET sampled = b.sampled + lk.n, exempt = b.exempt - lk.x "
        "FROM lk WHERE b.id = lk.id RETURNING b.id) "
        f"SELECT (SELECT coalesce(json_agg(json_build_array({TUBE_READ}, fresh)), '[]') "
        "FROM tb), "
        "(SELECT coalesce(json_agg(json_build_array(client_id, id)), '[]') FROM s), "
        f"(SELECT coalesce(json_agg(json_build_array({keys})), '[]') FROM made), "
        "(SELECT coalesce(json_agg(json_build_array(id, round_id, resident_id, area_code)), "
        "'[]') FROM ended)"
    )
    return sql, [*tube_params, *old_params, _json(rows), _json(marks), now]


def _upload_parse(found) -> tuple[dict, set, dict, set, list]:
    """The one row of `_upload_statement`: the tubes read (by barcode), those it made, the
    samples that went in (client id -> id), the markers made ((round, resident)) and
    the exemptions ended ((exemption, round, resident, building))."""
    ((tube_rows, sample_rows, made_rows, ended_rows),) = found
    tubes = {r[1]: _tube_read(r[:-1]) for r in tube_rows}
    fresh = {r[1] for r in tube_rows if r[-1]}
    ids = {cid: pk for cid, pk in sample_rows}
    made = {(rnd, rid) for rnd, rid in made_rows}
    ended = [tuple(r) for r in ended_rows]
    return tubes, fresh, ids, made, ended


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
