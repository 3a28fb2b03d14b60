"""Background upkeep: recalls for samples that arrived after their result, overdue tubes,
the sampling tallies.
"""

import datetime as dt
from collections import Counter

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from fangkong.core.bulksql import (
    time_adapter,
    upsert_add,
)
from fangkong.testing.models import (
    FirstSample,
    RoundStatus,
    Sample,
    TestingRound,
    Tube,
)

from ..conf import labs_conf
from ..models import (
    RECALLING,
    ChannelTally,
    OverdueTube,
    PositiveCase,
    Recall,
    SamplingTally,
    TallyCursor,
    TubeResult,
)
from ._common import ImportOutcome, _Tube
from .consequences import _consequences, first_sample_ids

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
