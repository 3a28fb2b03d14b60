"""Every write of lab results, recalls and positive cases. Keyword-only, `actor=`, audited.

Storing results (`results_import`) is the busy path: a file of a million rows goes in
by chunks, each chunk one transaction that stores its results, raises and closes the
recalls they call for and adds to the tallies, so what a chunk did is seen at once and
a crash loses nothing that a retry would not redo. Rules, in order of the row:

- a barcode no tube has, or a tube outside the lab's jurisdiction: the row is refused
  (`unknown_tube`), named by row and column; the other rows still go in;
- a tube with no result yet: stored;
- the same result again: nothing changes (`unchanged`): retries and overlapping files
  are safe;
- a different result: refused (`differs`) unless the row gives a reason, in which case
  it is a correction: the old value is kept in `ResultCorrection`, recalls and cases
  that the old value raised are cancelled or ruled out with that reason, and what the
  new value calls for is raised.

What a stored result calls for, by the samples in its tube:

- a tube holding one known person (a single tube, whatever pool size it was opened
  with): negative closes that person's open recalls raised before the sample was taken;
  positive makes them a `PositiveCase` and closes those recalls as positive; invalid
  recalls them;
- a tube of several people, positive or invalid: a `Recall` for each member (an
  unidentified member too, for review), which marks their building at once;
- a tube whose samples have not arrived yet: nothing now; `recalls_reconcile` raises
  the recalls when they do (run by `labs_refresh`).
"""

import contextlib
import datetime as dt
import hashlib
import io
import logging
import queue
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from fangkong.core import spreadsheets
from fangkong.core.actors import user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import DomainError
from fangkong.core.guards import require, require_area, required_reason
from fangkong.labs.permissions import can_manage_recalls, can_rule_out_cases, can_upload_results
from fangkong.testing import services as testing_services
from fangkong.testing.models import (
    FirstSample,
    RoundStatus,
    Sample,
    SamplingSite,
    TaskKind,
    TaskStatus,
    TestingRound,
    Tube,
)

from .conf import labs_conf
from .files import ResultRow, RowError, checked_rows
from .models import (
    RECALLING,
    CaseSource,
    CaseStatus,
    ChannelTally,
    OverdueTube,
    PositiveCase,
    Recall,
    RecallReason,
    RecallStatus,
    ResampleVia,
    Result,
    ResultCorrection,
    ResultTally,
    ResultUpload,
    SamplingTally,
    TallyCursor,
    TubeResult,
    UploadStatus,
)
from .sql import (
    adapt_time,
    epoch,
    insert_returning,
    is_postgres,
    select_any,
    time_adapter,
    upsert_add,
)

# PostgreSQL types of the columns `_insert_results` writes, in its order.
RESULT_TYPES = [
    "bigint",
    "bigint",
    "bigint",
    "text",
    "integer",
    "integer",
    "text",
    "timestamptz",
    "bigint",
    "text",
    "timestamptz",
    "integer",
    "bigint",
    "integer",
]
# Bad rows kept on an upload for the lab to read; the counts cover all of them.
MAX_ERRORS_KEPT = 1000
# Positive tubes named in an upload's audit record.
MAX_AUDITED_TUBES = 1000
INTERNAL_ERROR = (
    "存储中断（系统内部错误），已存入的结果保留；请重新上传该文件：已存的结果不会重复",
    "storing stopped on an internal error (results already stored are kept); upload the "
    "file again: nothing already stored is duplicated",
)
STOPPED = (
    "存储中断（后台进程停止），请重新上传该文件：已存的结果不会重复",
    "storing stopped (its background worker died); upload the file again: nothing "
    "already stored is duplicated",
)
logger = logging.getLogger(__name__)


def lab_names(actor) -> frozenset[str]:
    """The names a file may give in its lab column: the account's organisation or login."""
    return frozenset(n for n in (actor.display_name, actor.username) if n)


@dataclass
class ImportOutcome:
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    corrected: int = 0
    rejected: int = 0
    recalls: int = 0
    closed: int = 0
    cases: int = 0
    errors: list[RowError] = field(default_factory=list)
    positive_tubes: list[str] = field(default_factory=list)

    def refuse(self, error: RowError) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(error)

    def counts(self) -> dict[str, int]:
        names = ("rows", "created", "unchanged", "corrected", "rejected", "recalls", "closed")
        return {n: getattr(self, n) for n in (*names, "cases")}


@dataclass(slots=True)
class _Tube:
    id: int
    barcode: str
    round_id: int
    site_id: int | None
    area_code: str
    pool_size: int
    sample_count: int
    sealed: float | None  # when sealed, seconds since 1970
    old: str | None  # the result already stored, if any


def _unknown(row: ResultRow) -> RowError:
    return RowError(
        row.row,
        "tube",
        "unknown_tube",
        f"试管条码{row.barcode}不存在或不在本机构的辖区内",
        f"no tube {row.barcode} in this lab's jurisdiction",
    )


def results_import(
    *, actor, rows: Iterable[ResultRow | RowError], upload: ResultUpload | None = None
) -> ImportOutcome:
    """Store a lab's results (rows already read and checked by `files.clean_row`)."""
    require(can_upload_results(actor))
    size = labs_conf().chunk
    outcome = ImportOutcome()
    chunk: list[ResultRow] = []
    for item in _read_ahead(rows, size):
        outcome.rows += 1
        if isinstance(item, RowError):
            outcome.refuse(item)
            continue
        chunk.append(item)
        if len(chunk) >= size:
            _store_chunk(actor, chunk, upload, outcome)
            chunk = []
    if chunk:
        _store_chunk(actor, chunk, upload, outcome)
    return outcome


def _read_ahead(rows: Iterable, size: int) -> Iterator:
    """Read and check the next rows in a thread while this one waits on the database.

    Parsing is Python (it holds the GIL); storing is mostly waiting on PostgreSQL (it
    does not), so on two cores the two overlap. At most two chunks wait in the queue. An
    error in reading (a broken file) is raised here, in the caller's thread.
    """
    batches: queue.Queue = queue.Queue(maxsize=2)
    done = object()
    stop = threading.Event()

    def produce():
        batch = []
        try:
            for item in rows:
                batch.append(item)
                if len(batch) >= size:
                    batches.put(batch)
                    batch = []
                    if stop.is_set():
                        return
            batches.put(batch)
            batches.put(done)
        except BaseException as exc:  # handed to the caller
            batches.put(exc)

    reader = threading.Thread(target=produce, name="labs-read-ahead", daemon=True)
    reader.start()
    try:
        while (batch := batches.get()) is not done:
            if isinstance(batch, BaseException):
                raise batch
            yield from batch
    finally:
        stop.set()
        while reader.is_alive():  # let a reader blocked on a full queue finish
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=0.05)
        reader.join()


def results_upload_submit(*, actor, file_name: str, data: bytes) -> ResultUpload:
    """A file from the upload page: stored now if small, else queued for the worker
    (a million rows take about a minute, longer than a web request may).

    The request only runs the reader's cheap checks (size, type, the zip's directory; a
    zip bomb is refused here, as a failed upload with the reason); only a file small
    when unpacked is read now, within the reader's limits."""
    require(can_upload_results(actor))
    upload = ResultUpload(
        lab=actor,
        source="file",
        file_name=file_name[:255],
        sha256=hashlib.sha256(data).hexdigest(),
    )
    try:
        found = spreadsheets.inspect(io.BytesIO(data))
    except DomainError as exc:
        upload.save()
        return upload_fail(actor=actor, upload=upload, zh=exc.zh, en=exc.en)
    inline = found.unpacked <= labs_conf().inline_max_bytes
    upload.status = UploadStatus.RUNNING if inline else UploadStatus.QUEUED
    if not inline:
        upload.data = data
    with transaction.atomic():
        upload.save()
        if not inline:
            transaction.on_commit(lambda: _enqueue(upload.pk))
    if inline:
        _run(actor, upload, data)
    return upload


def _enqueue(upload_id: int) -> None:
    from .tasks import results_upload

    results_upload.enqueue(upload_id)


def results_upload_run(*, upload_id: int) -> ResultUpload | None:
    """Store a queued file (the worker's task). Claimed by a conditional UPDATE, so two
    workers never store one file twice; a file already claimed is left alone."""
    claimed = ResultUpload.objects.filter(pk=upload_id, status=UploadStatus.QUEUED).update(
        status=UploadStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    upload = ResultUpload.objects.select_related("lab").get(pk=upload_id)
    data = bytes(upload.data)
    ResultUpload.objects.filter(pk=upload_id).update(data=b"")
    return _run(upload.lab, upload, data)


def _run(actor, upload: ResultUpload, data: bytes) -> ResultUpload:
    """Store a file; whatever goes wrong, the upload ends done or failed, never running."""
    names, now = lab_names(actor), timezone.now()
    try:
        rows = checked_rows(data, upload.file_name, lab_names=names, now=now)
        outcome = results_import(actor=actor, rows=rows, upload=upload)
    except DomainError as exc:  # FileError, the reader's SpreadsheetError, …
        return upload_fail(actor=actor, upload=upload, zh=exc.zh, en=exc.en)
    except Exception:
        logger.exception("results upload %s failed", upload.pk)
        return upload_fail(actor=actor, upload=upload, zh=INTERNAL_ERROR[0], en=INTERNAL_ERROR[1])
    return upload_finish(actor=actor, upload=upload, outcome=outcome)


def results_batch_store(*, actor, rows: Iterable[ResultRow | RowError]):
    """A batch from a lab system (the API): an upload row and its outcome.

    The upload is failed (and the error raised again) if storing stops half-way, so no
    upload stays "running" after its request has ended."""
    require(can_upload_results(actor))
    upload = ResultUpload.objects.create(lab=actor, source="api")
    try:
        outcome = results_import(actor=actor, rows=rows, upload=upload)
    except BaseException as exc:
        zh, en = (exc.zh, exc.en) if isinstance(exc, DomainError) else INTERNAL_ERROR
        upload_fail(actor=actor, upload=upload, zh=zh, en=en)
        raise
    upload_finish(actor=actor, upload=upload, outcome=outcome)
    return upload, outcome


def results_uploads_reap(*, older_than: dt.timedelta) -> int:
    """Fail the uploads still running after `older_than`: their worker died (a restart,
    the machine, memory), and the page would otherwise show them running for ever. A
    million-row file takes about a minute, so an hour is far beyond any live one."""
    cutoff = timezone.now() - older_than
    stale = ResultUpload.objects.filter(status=UploadStatus.RUNNING, started_at__lt=cutoff)
    reaped = stale.update(
        status=UploadStatus.FAILED,
        finished_at=timezone.now(),
        error_zh=STOPPED[0],
        error_en=STOPPED[1],
        data=b"",
    )
    if reaped:
        logger.warning(
            "%s results uploads still running after %s: marked failed", reaped, older_than
        )
    return reaped


def upload_finish(*, actor, upload: ResultUpload, outcome: ImportOutcome) -> ResultUpload:
    """Write an upload's outcome and the one audit record that sums it up."""
    with transaction.atomic():
        for name, value in outcome.counts().items():
            setattr(upload, name, value)
        upload.errors = [e.as_dict() for e in outcome.errors]
        upload.status = UploadStatus.DONE
        upload.finished_at = timezone.now()
        upload.save(update_fields=[*outcome.counts(), "errors", "status", "finished_at"])
        audit_record(
            actor=actor,
            event="labs.results_upload",
            target=upload,
            detail={
                **outcome.counts(),
                "source": upload.source,
                "positive_tubes": outcome.positive_tubes,
            },
        )
    return upload


@transaction.atomic
def upload_fail(*, actor, upload: ResultUpload, zh: str, en: str) -> ResultUpload:
    """Close an upload as failed (rows stored before the failure stay), audited."""
    upload.status, upload.error_zh, upload.error_en = UploadStatus.FAILED, zh, en
    upload.finished_at = timezone.now()
    upload.data = b""
    upload.save(update_fields=["status", "error_zh", "error_en", "finished_at", "data"])
    audit_record(
        actor=actor,
        event="labs.results_upload",
        target=upload,
        detail={"status": UploadStatus.FAILED, "source": upload.source, "error": en},
    )
    return upload


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


def tube_homes(tube_ids: list[int]) -> dict[int, str]:
    """Where each tube counts in the report: the building of its first sample (by id), so
    a compound's row holds the tubes, results and positives of its own residents, and the
    rows add up to the total, whatever area the site belongs to. A tube with no sample
    counts at its site's area."""
    firsts = sorted(first_sample_ids(tube_ids))
    homes: dict[int, str] = {}
    for start in range(0, len(firsts), 5000):
        chunk = firsts[start : start + 5000]
        homes.update(Sample.objects.filter(id__in=chunk).values_list("tube_id", "area_code"))
    return homes


def first_sample_ids(tube_ids) -> set[int]:
    """The id of each tube's first sample (tube_id is indexed)."""
    tube_ids = sorted(set(tube_ids))
    firsts: set[int] = set()
    for start in range(0, len(tube_ids), 5000):
        firsts.update(
            Sample.objects.filter(tube_id__in=tube_ids[start : start + 5000])
            .values("tube_id")
            .annotate(first=Min("id"))
            .values_list("first", flat=True)
        )
    return firsts


def _tally(items, day: dt.date, sign: int = 1) -> None:
    """Add stored results to `ResultTally`: (round, area, lab, k, site, result, seconds)."""
    buckets: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for round_id, area_code, lab_id, pool_size, site_id, result, seconds in items:
        b = buckets[(round_id, area_code, day, lab_id, pool_size, site_id or 0)]
        b[0] += sign
        b[1] += sign * (result == Result.POSITIVE)
        b[2] += sign * (result == Result.INVALID)
        if seconds is not None:
            b[3] += sign * seconds
            b[4] += sign
    upsert_add(
        ResultTally._meta.db_table,
        ["round_id", "area_code", "day", "lab_id", "pool_size", "site_id"],
        ["results", "positives", "invalid", "turnaround_sum", "turnaround_n"],
        sorted((*key, *counts) for key, counts in buckets.items()),
    )


def _consequences(actor, stored: list[tuple[_Tube, str]], now, outcome: ImportOutcome) -> None:
    """Raise and close recalls and record cases for newly stored (or corrected) results."""
    wanted = {t.id: (t, r) for t, r in stored if r in RECALLING or t.sample_count <= 1}
    for t, r in stored:
        if r == Result.POSITIVE and len(outcome.positive_tubes) < MAX_AUDITED_TUBES:
            outcome.positive_tubes.append(t.barcode)
    if not wanted:
        return
    members: dict[int, list[dict]] = defaultdict(list)
    for s in (
        Sample.objects.filter(tube_id__in=list(wanted))
        .order_by("tube_id", "at", "id")
        .values("id", "tube_id", "round_id", "resident_id", "area_code", "at")
    ):
        members[s["tube_id"]].append(s)
    recall_rows, singles = [], []
    for tube_id, (tube, result) in wanted.items():
        people = members.get(tube_id, [])
        if len(people) == 1 and people[0]["resident_id"] is not None:
            singles.append((tube, result, people[0]))
            if result != Result.INVALID:
                continue
        elif result not in RECALLING:
            continue
        seen = set()
        reason = RecallReason.POSITIVE_POOL if result == Result.POSITIVE else RecallReason.INVALID
        for s in people:
            if s["resident_id"] is not None and s["resident_id"] in seen:
                continue
            seen.add(s["resident_id"])
            recall_rows.append(
                (s["round_id"], tube_id, s["id"], s["resident_id"], s["area_code"], reason, now)
            )
    outcome.recalls += _recalls_insert(recall_rows)
    _singles(actor, singles, now, outcome)


def _recalls_insert(rows: list[tuple]) -> int:
    now_rows = [(*r[:6], RecallStatus.OPEN, adapt_time(r[6]), "", "") for r in rows]
    columns = [
        "round_id",
        "tube_id",
        "sample_id",
        "resident_id",
        "area_code",
        "reason",
        "status",
        "raised_at",
        "via",
        "close_reason",
    ]
    types = ["bigint", "bigint", "bigint", "bigint", "text", "text", "text", "timestamptz"]
    types += ["text", "text"]
    return len(insert_returning(Recall._meta.db_table, columns, now_rows, "sample_id", "id", types))


def _singles(actor, singles, now, outcome: ImportOutcome) -> None:
    """Single tubes: a negative or positive one closes its person's earlier recalls."""
    closing = [(t, r, s) for t, r, s in singles if r != Result.INVALID]
    if not closing:
        return
    open_by_person = defaultdict(list)
    for rid, person, raised in (
        Recall.objects.open()
        .filter(resident_id__in={s["resident_id"] for _, _, s in closing})
        .values_list("id", "resident_id", "raised_at")
    ):
        open_by_person[person].append((rid, raised))
    for tube, result, s in closing:
        before = [
            rid for rid, raised in open_by_person.get(s["resident_id"], ()) if raised < s["at"]
        ]
        if before:
            positive = result == Result.POSITIVE
            outcome.closed += Recall.objects.filter(pk__in=before, status=RecallStatus.OPEN).update(
                status=RecallStatus.POSITIVE if positive else RecallStatus.NEGATIVE,
                resample_tube_id=tube.id,
                closed_at=now,
                closed_by=user_of(actor),
                close_reason=f"单管复采{'阳性' if positive else '阴性'} / resample "
                f"{'positive' if positive else 'negative'}: {tube.barcode}",
            )
        if result == Result.POSITIVE:
            outcome.cases += _case_confirm(actor, tube, s, bool(before), now)


def _case_confirm(actor, tube: _Tube, sample: dict, resample: bool, now) -> int:
    reason = f"单管阳性 / single tube positive: {tube.barcode}"
    case, made = PositiveCase.objects.get_or_create(
        tube_id=tube.id,
        resident_id=sample["resident_id"],
        defaults={
            "area_code": sample["area_code"],
            "round_id": tube.round_id,
            "source": CaseSource.RESAMPLE if resample else CaseSource.SINGLE_TUBE,
            "reason": reason,
            "recorded_at": now,
            "recorded_by": user_of(actor),
        },
    )
    if not made:
        if case.status == CaseStatus.CONFIRMED:
            return 0
        case.status, case.reason = CaseStatus.CONFIRMED, reason
        case.ruled_out_at = case.ruled_out_by = None
        case.save(update_fields=["status", "reason", "ruled_out_at", "ruled_out_by"])
    audit_record(
        actor=actor,
        event="labs.case_confirm",
        target=case,
        target_label=f"{sample['resident_id']} {tube.barcode}",
        area_code=case.area_code,
        reason=reason,
        detail={"tube": tube.barcode, "resident": sample["resident_id"], "round": tube.round_id},
    )
    return 1


def _correct(actor, row: ResultRow, tube: _Tube, now, outcome: ImportOutcome) -> None:
    """A different result for a tube that has one, with a reason: kept as a correction."""
    stored = TubeResult.objects.select_for_update().get(tube_id=tube.id)
    old = stored.result
    if old == row.result:
        outcome.unchanged += 1
        return
    ResultCorrection.objects.create(
        result=stored,
        old_result=old,
        new_result=row.result,
        old_tested_at=stored.tested_at,
        new_tested_at=row.tested_at,
        reason=row.reason,
        by=user_of(actor),
        at=now,
    )
    stored.result, stored.tested_at = row.result, row.tested_at
    stored.corrections += 1
    stored.save(update_fields=["result", "tested_at", "corrections"])
    day = timezone.localdate(stored.received_at)
    home = tube_homes([tube.id]).get(tube.id, stored.area_code)
    key = (stored.round_id, home, stored.lab_id, stored.pool_size, stored.site_id)
    _tally([(*key, old, None)], day, sign=-1)
    _tally([(*key, row.result, None)], day)
    why = f"结果更正 / result corrected: {row.reason}"
    if old in RECALLING and row.result not in RECALLING:
        Recall.objects.open().filter(tube_id=tube.id).update(
            status=RecallStatus.CANCELLED, closed_at=now, closed_by=user_of(actor), close_reason=why
        )
    if old == Result.POSITIVE and row.result != Result.POSITIVE:
        PositiveCase.objects.confirmed().filter(tube_id=tube.id).update(
            status=CaseStatus.RULED_OUT,
            ruled_out_at=now,
            ruled_out_by=user_of(actor),
            rule_out_reason=why,
        )
    if row.result in RECALLING:
        reason = (
            RecallReason.POSITIVE_POOL if row.result == Result.POSITIVE else RecallReason.INVALID
        )
        Recall.objects.filter(tube_id=tube.id, status__in=[RecallStatus.OPEN]).update(reason=reason)
        Recall.objects.filter(tube_id=tube.id, status=RecallStatus.CANCELLED).update(
            status=RecallStatus.OPEN, reason=reason, closed_at=None, closed_by=None, close_reason=""
        )
    outcome.corrected += 1
    audit_record(
        actor=actor,
        event="labs.result_correct",
        target=stored,
        target_label=tube.barcode,
        area_code=tube.area_code,
        reason=row.reason,
        detail={"tube": tube.barcode, "from": old, "to": row.result, "row": row.row},
    )
    _consequences(actor, [(tube, row.result)], now, outcome)


# Recalls by hand ----------------------------------------------------------------------


@transaction.atomic
def recalls_arrange(
    *, actor, recalls: Iterable[Recall], via: str, site: SamplingSite | None = None
) -> int:
    """Arrange open recalls' resamples: at home (a door-to-door task) or at a site."""
    require(can_manage_recalls(actor))
    if via not in (ResampleVia.HOME, ResampleVia.SITE):
        raise DomainError("请选择上门或到采样点", "choose at home or at a site", field="via")
    if via == ResampleVia.SITE:
        if site is None:
            raise DomainError("请选择采样点", "choose a sampling site", field="site")
        require_area(actor, site.area_code)
    recalls = [r for r in recalls if r.is_open]
    now = timezone.now()
    for recall in recalls:
        require_area(actor, recall.area_code)
        recall.via, recall.site = via, site if via == ResampleVia.SITE else None
        recall.arranged_at, recall.arranged_by = now, user_of(actor)
        if via == ResampleVia.HOME and recall.resident_id is not None:
            # The testing app's own service makes (or finds) the door-to-door task.
            task = testing_services.home_task_create(
                actor=actor,
                round=recall.round,
                resident=recall.resident,
                kind=TaskKind.RESAMPLE,
                note=f"单管复采 / single-tube resample (recall {recall.pk})",
            )
            recall.home_task = task if task.status == TaskStatus.OPEN else None
        recall.save(update_fields=["via", "site", "arranged_at", "arranged_by", "home_task"])
    if recalls:
        audit_record(
            actor=actor,
            event="labs.recall_arrange",
            target_label=f"{len(recalls)} recalls",
            area_code=min(r.area_code for r in recalls),
            detail={
                "recalls": [r.pk for r in recalls],
                "via": via,
                "site": getattr(site, "pk", None),
            },
        )
    return len(recalls)


@transaction.atomic
def recall_cancel(*, actor, recall: Recall, reason: str) -> Recall:
    """Close a recall without a resample (moved away, tested in hospital), with a reason."""
    require(can_manage_recalls(actor))
    require_area(actor, recall.area_code)
    reason = required_reason(reason)
    if not recall.is_open:
        raise DomainError("该召回已关闭", "this recall is already closed")
    recall.status, recall.closed_at, recall.closed_by = (
        RecallStatus.CANCELLED,
        timezone.now(),
        actor,
    )
    recall.close_reason = reason
    recall.save(update_fields=["status", "closed_at", "closed_by", "close_reason"])
    audit_record(
        actor=actor,
        event="labs.recall_cancel",
        target=recall,
        area_code=recall.area_code,
        reason=reason,
        detail={"tube": recall.tube_id, "resident": recall.resident_id},
    )
    return recall


@transaction.atomic
def case_rule_out(*, actor, case: PositiveCase, reason: str) -> PositiveCase:
    """复核排除: turn a positive case back, only with a reason on record."""
    require(can_rule_out_cases(actor))
    require_area(actor, case.area_code)
    reason = required_reason(reason)
    if case.status != CaseStatus.CONFIRMED:
        raise DomainError("该病例已排除", "this case is already ruled out")
    case.status, case.ruled_out_at, case.ruled_out_by = CaseStatus.RULED_OUT, timezone.now(), actor
    case.rule_out_reason = reason
    case.save(update_fields=["status", "ruled_out_at", "ruled_out_by", "rule_out_reason"])
    audit_record(
        actor=actor,
        event="labs.case_rule_out",
        target=case,
        area_code=case.area_code,
        reason=reason,
        detail={"resident": case.resident_id, "tube": case.tube_id},
    )
    return case


# Background upkeep ---------------------------------------------------------------------


def recalls_reconcile(*, since: dt.datetime | None = None) -> int:
    """Raise recalls for members of positive or invalid pools whose samples came late."""
    results = TubeResult.objects.filter(result__in=RECALLING)
    if since is not None:
        results = results.filter(received_at__gte=since)
    late = (
        Sample.objects.filter(tube_id__in=results.values("tube_id"))
        .exclude(pk__in=Recall.objects.values("sample_id"))
        # A positive single tube made a case, not a recall.
        .exclude(tube_id__in=PositiveCase.objects.values("tube_id"))
        .values_list("tube_id", flat=True)
        .distinct()
    )
    tube_ids = list(late[:5000])
    if not tube_ids:
        return 0
    outcome = ImportOutcome()
    with transaction.atomic():
        stored = [
            (
                _Tube(
                    t.id,
                    t.barcode,
                    t.round_id,
                    t.site_id,
                    t.area_code,
                    t.pool_size,
                    2,
                    None,
                    r,
                ),
                r,
            )
            for t, r in (
                (res.tube, res.result)
                for res in TubeResult.objects.filter(tube_id__in=tube_ids).select_related("tube")
            )
        ]
        _consequences(None, stored, timezone.now(), outcome)
    return outcome.recalls


def overdue_refresh(*, now: dt.datetime | None = None, days: int = 3) -> int:
    """Find the sealed tubes still without a result after FANGKONG_LABS_OVERDUE_HOURS, for
    the rounds under way or closed within `days`; replaces each round's list at once."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=labs_conf().overdue_hours)
    rounds = TestingRound.objects.filter(
        Q(status=RoundStatus.ACTIVE) | Q(closed_at__gte=now - dt.timedelta(days=days))
    ).values_list("pk", flat=True)
    found = 0
    for round_id in rounds:
        late = (
            Tube.objects.filter(round_id=round_id, sealed_at__lt=cutoff, lab_result__isnull=True)
            .values_list("pk", "area_code", "sealed_at")
            .iterator(chunk_size=5000)
        )
        rows = [
            OverdueTube(
                tube_id=pk, round_id=round_id, area_code=code, sealed_at=sealed, found_at=now
            )
            for pk, code, sealed in late
        ]
        with transaction.atomic():
            OverdueTube.objects.filter(round_id=round_id).delete()
            OverdueTube.objects.bulk_create(rows, batch_size=2000)
        found += len(rows)
    return found


def _by_day(rows, counter: str) -> None:
    """(id, round, area, time) rows into `SamplingTally.<counter>` by local day."""
    days = Counter((r, code, timezone.localdate(at)) for _, r, code, at, *_ in rows)
    upsert_add(
        SamplingTally._meta.db_table,
        ["round_id", "area_code", "day"],
        [counter],
        sorted((*key, n) for key, n in days.items()),
    )


def _by_hour(rows, counter: str) -> None:
    """(id, round, area, time, channel) rows into `ChannelTally.<counter>` by hour."""
    adapt = time_adapter()
    hours = Counter(
        (r, channel, at.replace(minute=0, second=0, microsecond=0))
        for _, r, _, at, channel, *_ in rows
        if channel is not None
    )
    upsert_add(
        ChannelTally._meta.db_table,
        ["round_id", "channel_id", "hour"],
        [counter],
        sorted((r, channel, adapt(hour), n) for (r, channel, hour), n in hours.items()),
    )


def _first_samples(rows) -> None:
    _by_day(rows, "sampled")


def _tubes_made(rows) -> None:
    _by_hour(rows, "tubes")


def _samples_taken(rows) -> None:
    """Samples per channel and hour; a tube counts in `SamplingTally` at its first sample's
    building and day (as its result does), so the days, the rows and the total agree."""
    _by_hour(rows, "samples")
    firsts = first_sample_ids(r[5] for r in rows)
    _by_day([r for r in rows if r[0] in firsts], "tubes")


# What the tallies read, by id: (cursor name, model, the row's fields, what to add).
_SOURCES = (
    ("firstsample", FirstSample, ("id", "round_id", "area_code", "at"), _first_samples),
    ("tube", Tube, ("id", "round_id", "area_code", "created_at", "channel_id"), _tubes_made),
    (
        "sample",
        Sample,
        ("id", "round_id", "area_code", "at", "channel_id", "tube_id"),
        _samples_taken,
    ),
)


def sampling_tally_refresh(
    *, batch: int = 50_000, settle: dt.timedelta = dt.timedelta(seconds=30)
) -> int:
    """Catch `SamplingTally` and `ChannelTally` up with the testing app's first samples,
    tubes and samples, by id.

    Ids are handed out before their transactions commit, so a row with a lower id can
    appear after a higher one was read. A run reads only up to the highest id that an
    earlier run saw at least `settle` ago (upload transactions are cut off well inside
    that), then notes the highest id there is now. Two runs never count a row twice:
    the cursor row is locked while a run reads and adds, and a second run skips a
    cursor that is locked rather than wait (a report page never queues behind one).
    """
    moved = 0
    for name, model, fields, add in _SOURCES:
        TallyCursor.objects.get_or_create(name=name)
        horizon = None
        while True:
            with transaction.atomic():
                cursor = (
                    TallyCursor.objects.select_for_update(skip_locked=True)
                    .filter(name=name)
                    .first()
                )
                if cursor is None:  # another run has it: it will do this work
                    break
                if horizon is None:
                    horizon = _horizon(cursor, model, settle)
                rows = list(
                    model.objects.filter(id__gt=cursor.last_id, id__lte=horizon)
                    .order_by("id")
                    .values_list(*fields)[:batch]
                )
                if rows:
                    add(rows)
                    cursor.last_id = rows[-1][0]
                    moved += len(rows)
                cursor.save()
            if len(rows) < batch:
                break
    return moved


def _horizon(cursor: TallyCursor, model, settle: dt.timedelta) -> int:
    """The id up to which rows are safe to read; notes the newest id for a later run."""
    newest = model.objects.aggregate(m=Max("id"))["m"] or 0
    if settle <= dt.timedelta(0):
        return newest
    now = timezone.now()
    settled = cursor.seen_at is not None and now - cursor.seen_at >= settle
    safe = cursor.seen_id if settled else cursor.last_id
    if cursor.seen_at is None or settled:
        cursor.seen_id, cursor.seen_at = newest, now
    return max(safe, cursor.last_id)
