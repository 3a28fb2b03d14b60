"""Venues and their signed venue codes (场所码); venue-scan batches (staged in the
database, acknowledged once committed, flushed in bulk) and files handed to the
analytics store (fangkong/screening/analytics), which keeps them as Parquet by day,
idempotent by the batch's client id."""

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone

from fangkong.areas.models import Area
from fangkong.core import env, pii, signing
from fangkong.core.actors import user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict, DomainError
from fangkong.core.guards import authorize
from fangkong.core.streams import batched
from fangkong.people import selectors as people

from ..models import Person, ScanBatch, ScanIdentity, ScanStage, Venue, VenueKind
from ..permissions import can_manage_venues, can_send_scans

VENUE_CODE_DAYS = 365


@transaction.atomic
def venue_create(*, actor, area: Area, name: str, kind: str, address: str = "") -> Venue:
    """A venue with its code: an opaque subject (no database id in it), the `venue_code`
    its scans carry."""
    authorize(actor, can_manage_venues, area=area.code)
    name = (name or "").strip()
    if not name:
        raise DomainError("请填写场所名称", "the venue needs a name", field="name")
    if kind not in VenueKind.values:
        raise DomainError("场所类型无效", "not a kind of venue", field="kind")
    try:
        with transaction.atomic():
            venue = Venue.objects.create(
                area=area,
                name=name[:100],
                kind=kind,
                address=(address or "").strip()[:200],
                created_by=user_of(actor),
            )
    except IntegrityError:
        raise Conflict(
            "该地区已有同名场所", "a venue of that name is here already", field="name"
        ) from None
    venue.code = signing.opaque_id("venue", venue.pk)
    venue.save(update_fields=["code"])
    audit_record(
        actor=actor,
        event="screening.venue_create",
        target=venue,
        area_code=area.code,
        detail={"kind": kind},
    )
    return venue


def venue_qr(venue: Venue) -> str:
    """The text of the venue's signed QR code (FK2, kind "venue", its opaque subject)."""
    return signing.sign(
        "venue", venue.code, valid_days=VENUE_CODE_DAYS, claims={"n": venue.name[:40]}
    )


def _record(actor, outcome, source: str) -> ScanBatch:
    batch, _made = ScanBatch.objects.get_or_create(
        client_id=outcome.client_id,
        defaults={
            "source": source,
            "rows": outcome.rows,
            "bad_rows": outcome.bad_rows,
            "days": list(outcome.days),
            "sent_by": user_of(actor),
            "sent_by_name": str(actor),
        },
    )
    return batch


# A flush is enqueued each time this many batches have been staged (one in 200 batches
# of 100 scans: 20,000 scans a file); `screening_watch` and every match run flush too.
FLUSH_EVERY = 200
# Batches a flush takes at most (each its own Parquet name; the rest wait for the next).
FLUSH_BATCHES = 5000


def scans_receive(*, actor, client_id: str, scans: Sequence):
    """Receive one batch of scans from the place-code system (store.ScanIn rows): checked,
    then staged in the database in one transaction with the batch's record, and answered
    once committed (durable); a flush writes staged batches to the analytics store in
    bulk. A batch replayed (same client id, same scans) changes nothing and answers as
    the first time; the same client id with other scans is a conflict; malformed rows are
    reported by their number and field, the rest go in."""
    from ..analytics import store

    authorize(actor, can_send_scans)
    client_id = store.client_id_checked(client_id)
    checked = store.scans_check(scans)
    try:
        with transaction.atomic():
            return _stage(actor, client_id, checked)
    except IntegrityError:  # the same batch, sent twice at once: the other one stored it
        with transaction.atomic():
            return _stage(actor, client_id, checked)


def _stage(actor, client_id: str, checked):
    from ..analytics import store

    batch = ScanBatch.objects.filter(client_id=client_id).first()
    if batch is not None:
        if not batch.digest:  # stored straight to Parquet before staging: its manifest says
            return store.scans_append(client_id=client_id, scans=[])
        if batch.digest != checked.digest:
            raise Conflict(
                f"批次编号 {client_id} 已用于另一批扫码记录",
                f"client id {client_id} was already used for another batch of scans",
                field="client_id",
            )
        return store.BatchOutcome(client_id, batch.rows, batch.bad_rows, batch.days, replayed=True)
    batch = ScanBatch.objects.create(
        client_id=client_id,
        source="api",
        rows=len(checked.rows),
        bad_rows=checked.bad_rows,
        days=checked.days,
        digest=checked.digest,
        sent_by=user_of(actor),
        sent_by_name=str(actor),
    )
    identities_keep(checked.identities, batch=client_id)
    if checked.rows:
        staged = ScanStage.objects.create(
            batch=batch, rows=len(checked.rows), payload=checked.payload
        )
        if staged.pk % FLUSH_EVERY == 0:
            transaction.on_commit(_enqueue_flush)
    return store.BatchOutcome(
        client_id, len(checked.rows), checked.bad_rows, checked.days, problems=checked.problems
    )


def _enqueue_flush() -> None:
    from ..tasks import scans_flush as flush_task

    flush_task.enqueue()


def scans_flush(*, batches: int = FLUSH_BATCHES) -> int:
    """Write staged scan batches to the analytics store, many at a time, and take them
    off the stage. Returns the scans written. Safe to run anywhere at any time: a flush
    first finishes one that crashed (the same rows under the same name, so none is
    stored twice), and rows are claimed with SKIP LOCKED, so two flushers share work."""
    from ..analytics import store

    written = 0
    while (tag := _claim(batches)) is not None:
        rows = []
        for payload in ScanStage.objects.filter(flush=tag).values_list("payload", flat=True):
            rows += store.payload_rows(bytes(payload))
        store.scans_write(name=f"flush-{tag}", rows=rows)
        ScanStage.objects.filter(flush=tag).delete()
        written += len(rows)
    return written


def _claim(batches: int) -> int | None:
    """The name of a flush to do: one claimed before and not finished, or a new one of
    the oldest staged batches (the first id is its name)."""
    with transaction.atomic():
        pending = (
            ScanStage.objects.filter(flush__isnull=False)
            .order_by("flush")
            .values_list("flush", flat=True)
            .first()
        )
        if pending is not None:
            return pending
        ids = list(
            ScanStage.objects.select_for_update(skip_locked=True)
            .filter(flush__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)[:batches]
        )
        if not ids:
            return None
        ScanStage.objects.filter(id__in=ids).update(flush=ids[0])
        return ids[0]


def scans_import(*, actor, path: Path, client_id: str | None = None):
    """Store a file of scans (CSV or Parquet, millions of rows); the same file twice is
    stored once."""
    from ..analytics import store

    authorize(actor, can_send_scans)
    batch = client_id or f"file:{path.name}"
    outcome = store.scans_import_file(
        path=path,
        client_id=client_id,
        identities=lambda found: identities_keep(found, batch=batch),
    )
    _record(actor, outcome, "file")
    return outcome


IDENTITY_CHUNK = 2000


def identities_prune(*, now=None) -> int:
    """Forget the details scans gave of people on no roster once their scan is older
    than `FANGKONG_SCAN_DETAILS_DAYS` (default 28: past any infectious window and
    companion look-back a match run may still ask about). People a match registered
    are tracked people by then and keep their record. Returns the rows deleted; run by
    every `screening_watch` pass."""
    days = env.integer("FANGKONG_SCAN_DETAILS_DAYS", 28, low=1, high=3650)
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    deleted, _kinds = ScanIdentity.objects.filter(seen_at__lt=cutoff).delete()
    return deleted


_IDENTITY_FIELDS = [
    "name",
    "id_type",
    "id_cipher",
    "id_masked",
    "phone_cipher",
    "phone_masked",
    "venue_code",
    "seen_at",
    "details_hash",
    "batch",
    "updated_at",
]


def identities_keep(found: Sequence, *, batch: str) -> int:
    """Keep the details scans gave of people on no roster (store.Identity rows),
    encrypted, one row a person key (`ScanIdentity`), for a match run to register them
    where they are found. People on a roster or tracked already are left out (their
    record says more); of one key's rows the latest scan's details are kept; details
    equal to those kept change nothing (a replay), other details replace them. Returns
    the rows written. The caller has authorized (the place-code system's right)."""
    from ..analytics.engines import utc_from_us

    latest: dict = {}
    for item in found:
        before = latest.get(item.person_key)
        if before is None or item.at_us >= before.at_us:
            latest[item.person_key] = item
    written = 0
    now = timezone.now()
    for chunk in batched(latest.values(), IDENTITY_CHUNK):
        keys = [i.person_key for i in chunk]
        skip = set(people.residents_by_keys(keys).values_list("id_hash", flat=True))
        skip |= set(Person.objects.filter(person_key__in=keys).values_list("person_key", flat=True))
        kept = {
            r.person_key: r
            for r in ScanIdentity.objects.filter(person_key__in=keys).only(
                "id", "person_key", "details_hash", "seen_at"
            )
        }
        new, changed = [], []
        for i in chunk:
            if i.person_key in skip:
                continue
            row = kept.get(i.person_key)
            seen_at = utc_from_us(i.at_us)
            if row is not None and (row.details_hash == i.details_hash or seen_at < row.seen_at):
                continue
            values = {
                "name": i.name,
                "id_type": i.id_type,
                "id_cipher": pii.encrypt(i.id_number),
                "id_masked": i.id_masked,
                "phone_cipher": pii.encrypt(i.phone),
                "phone_masked": i.phone_masked,
                "venue_code": i.venue_code,
                "seen_at": seen_at,
                "details_hash": i.details_hash,
                "batch": batch[:200],
                "updated_at": now,
            }
            if row is None:
                new.append(ScanIdentity(person_key=i.person_key, **values))
            else:
                for name, value in values.items():
                    setattr(row, name, value)
                changed.append(row)
        ScanIdentity.objects.bulk_create(new, ignore_conflicts=True)
        if changed:
            ScanIdentity.objects.bulk_update(changed, _IDENTITY_FIELDS, batch_size=IDENTITY_CHUNK)
        written += len(new) + len(changed)
    return written
