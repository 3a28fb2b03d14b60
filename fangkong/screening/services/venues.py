"""Venues and their signed venue codes (场所码); venue-scan batches and files handed to
the analytics store (fangkong/screening/analytics), which keeps them as Parquet by day,
idempotent by the batch's client id."""

from collections.abc import Sequence
from pathlib import Path

from django.db import IntegrityError, transaction

from fangkong.areas.models import Area
from fangkong.core import signing
from fangkong.core.actors import user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict, DomainError
from fangkong.core.guards import authorize

from ..models import ScanBatch, Venue, VenueKind
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


def scans_receive(*, actor, client_id: str, scans: Sequence):
    """Store one batch of scans from the place-code system (store.ScanIn rows). A batch
    replayed (same client id, same scans) changes nothing and answers as the first time;
    malformed rows are reported by their number and field, the rest go in."""
    from ..analytics import store

    authorize(actor, can_send_scans)
    outcome = store.scans_append(client_id=client_id, scans=scans)
    _record(actor, outcome, "api")
    return outcome


def scans_import(*, actor, path: Path, client_id: str | None = None):
    """Store a file of scans (CSV or Parquet, millions of rows); the same file twice is
    stored once."""
    from ..analytics import store

    authorize(actor, can_send_scans)
    outcome = store.scans_import_file(path=path, client_id=client_id)
    _record(actor, outcome, "file")
    return outcome
