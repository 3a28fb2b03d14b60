"""Storing one chunk of results in one transaction: row by row (SQLite), or copied into a
temporary table and stored by set-based statements (PostgreSQL).
"""

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from fangkong.core.bulksql import (
    epoch,
    insert_returning,
    is_postgres,
    select_any,
    time_adapter,
)
from fangkong.testing.models import (
    Sample,
    Tube,
)

from ..files import ResultRow, RowError
from ..models import (
    Result,
    ResultTally,
    TubeResult,
)
from ._common import RESULT_TYPES, ImportOutcome, _Tube, _unknown
from .consequences import _consequences, _correct, _tally, tube_homes


def _tubes(barcodes: list[str], prefixes: list[str]) -> dict[str, _Tube]:
    """The tubes named (with any result stored), kept only inside the lab's jurisdiction."""
    rows = select_any(
        f"SELECT t.id, t.barcode, t.round_id, t.site_id, t.area_code, t.pool_size, "
        f"t.sample_count, {epoch('t.sealed_at')}, r.result FROM {Tube._meta.db_table} t "
        f"LEFT JOIN {TubeResult._meta.db_table} r ON r.tube_id = t.id WHERE {{match}}",
        "t.barcode",
        barcodes,
        "text",
    )
    found = {}
    for row in rows:
        tube = _Tube(*row)
        if any(tube.area_code.startswith(p) for p in prefixes):
            found[tube.barcode] = tube
    return found


@transaction.atomic
def _store_chunk(actor, rows: list[ResultRow], upload, outcome: ImportOutcome) -> None:
    now = timezone.now()
    first: dict[str, ResultRow] = {}
    for row in rows:
        seen = first.get(row.barcode)
        if seen is None:
            first[row.barcode] = row
        elif seen.result == row.result:
            outcome.unchanged += 1
        else:
            outcome.refuse(
                RowError(
                    row.row,
                    "result",
                    "repeated",
                    f"试管{row.barcode}在第{seen.row}行已有不同结果",
                    f"tube {row.barcode} has a different result at row {seen.row}",
                )
            )
    if is_postgres():
        _store_copy(actor, list(first.values()), upload, now, outcome)
        return
    tubes = _tubes(list(first), actor.scope_prefixes())
    fresh: list[tuple[ResultRow, _Tube]] = []
    for row in first.values():
        tube = tubes.get(row.barcode)
        if tube is None:
            outcome.refuse(_unknown(row))
        elif tube.old is None:
            fresh.append((row, tube))
        else:
            _known(actor, row, tube, now, outcome)
    stored = _insert_results(actor, fresh, upload, now)
    outcome.created += len(stored)
    outcome.unchanged += len(fresh) - len(stored)
    _consequences(actor, stored, now, outcome)


def _known(actor, row: ResultRow, tube: _Tube, now, outcome: ImportOutcome) -> None:
    """A row for a tube that already has a result: unchanged, refused, or a correction."""
    assert tube.old is not None  # the callers pass only tubes with a result
    if tube.old == row.result:
        outcome.unchanged += 1
    elif not row.reason:
        outcome.refuse(
            RowError(
                row.row,
                "result",
                "differs",
                f"试管{row.barcode}已有结果（{Result(tube.old).label}），更正须填写原因",
                f"tube {row.barcode} already has a result ({tube.old}); "
                "a correction needs a reason",
            )
        )
    else:
        _correct(actor, row, tube, now, outcome)


# PostgreSQL: the chunk is copied into a temporary table and stored by set-based
# statements; only the rows that need a decision (unknown, already stored) and the
# tubes that call for recalls or close them come back to Python.
_STAGE = "labs_result_stage"
_PROBES_ONLY = ("enable_hashjoin", "enable_mergejoin", "enable_seqscan", "jit")


def _store_copy(actor, rows: list[ResultRow], upload, now, outcome: ImportOutcome) -> None:
    tube_t, result_t = Tube._meta.db_table, TubeResult._meta.db_table
    scope = [f"{p}%" for p in actor.scope_prefixes()]
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (n integer, barcode text, result text, "
            "tested_at timestamptz, lab_name text, reason text)"
        )
        cursor.execute(f"TRUNCATE {_STAGE}")
        columns = "n, barcode, result, tested_at, lab_name, reason"
        with cursor.cursor.copy(f"COPY {_STAGE} ({columns}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((r.row, r.barcode, r.result, r.tested_at, r.lab_name, r.reason))
        # Index probes only: the stage is small and the tubes are many, and the results
        # table grows faster than its statistics (an empty table at the first chunk would
        # be scanned once per row at the next, unless told otherwise).
        for knob in _PROBES_ONLY:
            cursor.execute(f"SET LOCAL {knob} = off")
        cursor.execute(
            _INSERT_COPIED.format(
                stage=_STAGE,
                tube=tube_t,
                result=result_t,
                sample=Sample._meta.db_table,
                tally=ResultTally._meta.db_table,
            ),
            {
                "scope": scope,
                "lab": actor.pk,
                "lab_name": (actor.display_name or actor.username)[:100],
                "now": now,
                "upload": getattr(upload, "pk", None),
                "day": timezone.localdate(now),
            },
        )
        back = cursor.fetchall()
        created = back[0][-1]
        decided = []
        if created < len(rows):
            # Some rows were not stored: unknown tubes, or tubes that had a result before.
            cursor.execute(
                f"SELECT s.n, s.barcode, s.result, s.tested_at, s.lab_name, s.reason, t.id, "
                f"t.round_id, t.site_id, t.area_code, t.pool_size, t.sample_count, r.result "
                f"FROM {_STAGE} s LEFT JOIN {tube_t} t "
                f"ON t.barcode = s.barcode AND t.area_code LIKE ANY(%s) "
                f"LEFT JOIN {result_t} r ON r.tube_id = t.id "
                # Unknown, or stored before with another result; the same result again
                # is only counted.
                f"WHERE t.id IS NULL OR (r.received_at <> %s AND r.result <> s.result)",
                [scope, now],
            )
            decided = cursor.fetchall()
            for n, barcode, result, tested_at, lab_name, reason, tube_id, *rest in decided:
                row = ResultRow(n, barcode, result, tested_at, lab_name, reason)
                if tube_id is None:
                    outcome.refuse(_unknown(row))
                else:
                    r_id, s_id, code, pool, count, old = rest
                    _known(
                        actor,
                        row,
                        _Tube(tube_id, barcode, r_id, s_id, code, pool, count, None, old),
                        now,
                        outcome,
                    )
        for knob in _PROBES_ONLY:
            cursor.execute(f"RESET {knob}")
    stored = [
        (_Tube(i, b, r, s, code, pool, count, None, result), result)
        for i, b, r, s, code, pool, count, result, _ in back[1:]
    ]
    outcome.created += created
    outcome.unchanged += len(rows) - len(decided) - created
    _consequences(actor, stored, now, outcome)


_INSERT_COPIED = """
WITH ins AS (
  INSERT INTO {result} (tube_id, round_id, site_id, area_code, pool_size, samples, result,
                        tested_at, lab_id, lab_name, received_at, turnaround_s, upload_id,
                        corrections)
  SELECT t.id, t.round_id, t.site_id, t.area_code, t.pool_size, t.sample_count, s.result,
         s.tested_at,
         %(lab)s, LEFT(COALESCE(NULLIF(s.lab_name, ''), %(lab_name)s), 100), %(now)s,
         GREATEST(0, FLOOR(EXTRACT(EPOCH FROM %(now)s - COALESCE(
           t.sealed_at, (SELECT max(x.at) FROM {sample} x WHERE x.tube_id = t.id)))))::integer,
         %(upload)s, 0
  FROM {stage} s JOIN {tube} t ON t.barcode = s.barcode AND t.area_code LIKE ANY(%(scope)s)
  ON CONFLICT (tube_id) DO NOTHING
  RETURNING tube_id, round_id, site_id, area_code, pool_size, samples, result, turnaround_s
), tally AS (
  INSERT INTO {tally} (round_id, area_code, day, lab_id, pool_size, site_id, results,
                       positives, invalid, turnaround_sum, turnaround_n)
  SELECT round_id, home, %(day)s, %(lab)s, pool_size, COALESCE(site_id, 0), count(*),
         count(*) FILTER (WHERE result = 'positive'), count(*) FILTER (WHERE result = 'invalid'),
         COALESCE(sum(turnaround_s), 0), count(turnaround_s)
  FROM (SELECT ins.*, COALESCE((SELECT x.area_code FROM {sample} x WHERE x.tube_id = ins.tube_id
                                ORDER BY x.id LIMIT 1), ins.area_code) AS home FROM ins) h
  GROUP BY round_id, home, pool_size, COALESCE(site_id, 0)
  ON CONFLICT (round_id, area_code, day, lab_id, pool_size, site_id) DO UPDATE SET
    results = {tally}.results + excluded.results,
    positives = {tally}.positives + excluded.positives,
    invalid = {tally}.invalid + excluded.invalid,
    turnaround_sum = {tally}.turnaround_sum + excluded.turnaround_sum,
    turnaround_n = {tally}.turnaround_n + excluded.turnaround_n
)
SELECT 0, '', 0, NULL::bigint, '', 0, 0, '', (SELECT count(*) FROM ins)
UNION ALL
SELECT t.id, t.barcode, t.round_id, t.site_id, t.area_code, t.pool_size, t.sample_count,
       ins.result, 0
FROM ins JOIN {tube} t ON t.id = ins.tube_id
WHERE ins.result <> 'negative' OR ins.samples <= 1
"""


def _insert_results(actor, fresh, upload, now) -> list[tuple[_Tube, str]]:
    if not fresh:
        return []
    unsealed = [t.id for _, t in fresh if t.sealed is None]
    last_sample = dict(
        Sample.objects.filter(tube_id__in=unsealed)
        .values("tube_id")
        .annotate(last=Max("at"))
        .values_list("tube_id", "last")
    )
    lab_name = (actor.display_name or actor.username)[:100]
    adapt = time_adapter()
    received = adapt(now)
    upload_id = getattr(upload, "pk", None)
    values = []
    now_s = now.timestamp()
    for row, tube in fresh:
        since = tube.sealed
        if since is None and tube.id in last_sample:
            since = last_sample[tube.id].timestamp()
        turnaround = max(0, int(now_s - since)) if since is not None else None
        tube.old = row.result  # what the tube holds now
        values.append(
            (
                tube.id,
                tube.round_id,
                tube.site_id,
                tube.area_code,
                tube.pool_size,
                tube.sample_count,
                row.result,
                adapt(row.tested_at),
                actor.pk,
                (row.lab_name or lab_name)[:100],
                received,
                turnaround,
                upload_id,
                0,
            )
        )
    columns = [
        "tube_id",
        "round_id",
        "site_id",
        "area_code",
        "pool_size",
        "samples",
        "result",
        "tested_at",
        "lab_id",
        "lab_name",
        "received_at",
        "turnaround_s",
        "upload_id",
        "corrections",
    ]
    new_ids = {
        r[0]
        for r in insert_returning(
            TubeResult._meta.db_table, columns, values, "tube_id", "tube_id", RESULT_TYPES
        )
    }
    by_id = {
        tube.id: (tube, row.result, value) for (row, tube), value in zip(fresh, values, strict=True)
    }
    stored = [(by_id[i][0], by_id[i][1]) for i in new_ids]
    homes = tube_homes(list(new_ids))
    _tally(
        [
            (
                tube.round_id,
                homes.get(tube.id, tube.area_code),
                actor.pk,
                tube.pool_size,
                tube.site_id,
                result,
                value[columns.index("turnaround_s")],
            )
            for tube, result, value in (by_id[i] for i in new_ids)
        ],
        timezone.localdate(now),
    )
    return stored
