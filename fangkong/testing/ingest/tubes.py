"""Tubes: made on first sight, who may use them, their times, pool sizes and over-pool flags."""

from collections import defaultdict

from ..models import (
    PoolSource,
    Sample,
    SampleFlag,
    TestingRound,
    Tube,
    Via,
)
from .checks import Refused, _Work
from .sql import _any, _cursor, _dt, _insert_returning, _rows, _run_many


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


def zone_kind_at(code: str) -> str | None:
    """The kind of the zone in force on the area `code` (the most specific active one)."""
    from fangkong.areas.models import Area
    from fangkong.areas.selectors import zone_in_force

    zone = zone_in_force(Area(code=code))
    return zone.kind if zone else None


def _default_pool(rnd: TestingRound, area_code: str) -> int:
    return rnd.pool_size_for(zone_kind_at(area_code))


TUBE_COLUMNS = [
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
# What the upload path reads of a tube (`_tube_read` makes the dict).
TUBE_READ = "id, barcode, round_id, site_id, channel_id, via, pool_size, sample_count"
_TUBE_KEYS = tuple(TUBE_READ.split(", "))


def _tube_read(row) -> dict:
    return dict(zip(_TUBE_KEYS, row, strict=True))


def _tube_rows(by_tube, refs, actor, device_id, now) -> list[tuple]:
    """The batch's tubes as they are made if new (`TUBE_COLUMNS`), by barcode: owned by
    the earliest event's channel, with what that channel's events say."""
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
    return rows


def _tubes_ensure(by_tube, refs, actor, device_id, now):
    """Make the batch's unknown tubes; read all of the batch's tubes (statement by
    statement: PostgreSQL does this in the upload's one statement, see `samples`)."""
    if not by_tube:
        return {}, set()
    rows = _tube_rows(by_tube, refs, actor, device_id, now)
    barcodes = list(by_tube)
    made = _insert_returning(Tube, TUBE_COLUMNS, rows, "barcode", TUBE_READ)
    found = [(*r, True) for r in made]
    missing = set(barcodes) - {r[1] for r in found}
    if missing:
        where, params = _any("barcode", missing)
        found += [
            (*r, False)
            for r in _rows(f"SELECT {TUBE_READ} FROM {Tube._meta.db_table} WHERE {where}", params)
        ]
    tubes = {r[1]: _tube_read(r[:-1]) for r in found}
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
