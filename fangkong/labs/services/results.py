"""Results in: the import by chunks, uploads of files (submitted, run in the background,
finished or failed), batches from the API.
"""

import contextlib
import datetime as dt
import hashlib
import io
import itertools
import logging
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from fangkong.core import spreadsheets
from fangkong.core.audit import audit_record
from fangkong.core.errors import DomainError
from fangkong.core.guards import require
from fangkong.core.streams import batched, read_ahead
from fangkong.labs.permissions import can_upload_results

from ..conf import labs_conf
from ..files import ResultRow, RowError, checked_rows
from ..models import (
    ResultUpload,
    UploadStatus,
)
from ._common import INTERNAL_ERROR, STOPPED, ImportOutcome, lab_names
from .storing import _store_chunk

logger = logging.getLogger("fangkong.labs.services")


def results_import(
    *, actor, rows: Iterable[ResultRow | RowError], upload: ResultUpload | None = None
) -> ImportOutcome:
    """Store a lab's results (rows already read and checked by `files.clean_row`)."""
    require(can_upload_results(actor))
    size = labs_conf().chunk
    outcome = ImportOutcome()
    chunk: list[ResultRow] = []
    with contextlib.closing(read_ahead(batched(rows, size), name="labs-read-ahead")) as read:
        for item in itertools.chain.from_iterable(read):
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
