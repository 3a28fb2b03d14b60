"""Venue-scan batches staged in the database and flushed to the Parquet store in bulk: a
batch is acknowledged once committed; a flush that crashes at any step is finished by the
next without losing or doubling a scan; a match run flushes first (test_integration)."""

import datetime as dt

import pyarrow.parquet as pq
import pytest

from fangkong.core.errors import Conflict
from fangkong.screening import services
from fangkong.screening.analytics import store
from fangkong.screening.analytics.store import ScanIn
from fangkong.screening.models import ScanBatch, ScanStage
from fangkong.screening.services import venues

KEY = "a" * 40
UTC = dt.UTC


def _batch(n: int, start: int = 0, day: int = 20) -> list[ScanIn]:
    return [
        ScanIn(
            f"V{i % 3}",
            dt.datetime(2026, 11, day, 10, tzinfo=UTC) + dt.timedelta(minutes=i),
            person_key=f"{i:040x}",
        )
        for i in range(start, start + n)
    ]


def _stored(root) -> list[tuple]:
    rows = []
    for path in (root / "scans").glob("day=*/*.parquet"):
        rows += [tuple(r.values()) for r in pq.read_table(path).to_pylist()]
    return sorted(rows)


@pytest.fixture
def sender(command_user):
    return command_user


def test_a_batch_is_answered_once_staged_and_written_by_the_flush(analytics, sender):
    outcome = services.scans_receive(actor=sender, client_id="s-1", scans=_batch(5))
    assert (outcome.rows, outcome.replayed, outcome.days) == (5, False, ["2026-11-20"])
    staged = ScanStage.objects.get()
    assert staged.rows == 5 and staged.flush is None
    assert _stored(analytics) == []
    assert services.scans_flush() == 5
    assert len(_stored(analytics)) == 5 and not ScanStage.objects.exists()


def test_many_batches_go_into_one_file_a_day(analytics, sender):
    for n in range(10):
        services.scans_receive(actor=sender, client_id=f"m-{n}", scans=_batch(10, start=10 * n))
    assert services.scans_flush() == 100
    files = list((analytics / "scans").glob("day=*/*.parquet"))
    assert len(files) == 1 and len(_stored(analytics)) == 100


def test_a_flush_that_crashed_after_its_files_is_finished_without_doubles(
    analytics, sender, monkeypatch
):
    services.scans_receive(actor=sender, client_id="c-1", scans=_batch(4))
    services.scans_receive(actor=sender, client_id="c-2", scans=_batch(3, start=4))

    monkeypatch.setattr(ScanStage.objects, "filter", _crash_on_delete(ScanStage.objects.filter))
    with pytest.raises(RuntimeError):
        services.scans_flush()
    monkeypatch.undo()
    assert ScanStage.objects.filter(flush__isnull=False).count() == 2  # claimed, still staged
    assert len(_stored(analytics)) == 7
    services.scans_receive(actor=sender, client_id="c-3", scans=_batch(2, start=7))
    assert services.scans_flush() == 9  # the crashed flush (7, written again) and the new one
    assert len(_stored(analytics)) == 9 and not ScanStage.objects.exists()


def _crash_on_delete(real_filter):
    class Crashing:
        def __init__(self, qs):
            self.qs = qs

        def __getattr__(self, name):
            return getattr(self.qs, name)

        def delete(self):
            raise RuntimeError("killed after the files were written")

    def filter_(*args, **kwargs):
        qs = real_filter(*args, **kwargs)
        return Crashing(qs) if "flush" in kwargs else qs

    return filter_


def test_a_flush_that_crashed_before_its_files_is_done_by_the_next(analytics, sender, monkeypatch):
    services.scans_receive(actor=sender, client_id="d-1", scans=_batch(6))

    def die(**kwargs):
        raise RuntimeError("killed before writing")

    monkeypatch.setattr(store, "scans_write", die)
    with pytest.raises(RuntimeError):
        services.scans_flush()
    monkeypatch.undo()
    assert services.scans_flush() == 6
    assert len(_stored(analytics)) == 6


def test_a_replay_after_the_flush_changes_nothing_and_other_scans_are_a_conflict(analytics, sender):
    services.scans_receive(actor=sender, client_id="r-1", scans=_batch(3))
    services.scans_flush()
    again = services.scans_receive(actor=sender, client_id="r-1", scans=list(reversed(_batch(3))))
    assert again.replayed and again.rows == 3
    assert not ScanStage.objects.exists() and ScanBatch.objects.count() == 1
    with pytest.raises(Conflict):
        services.scans_receive(actor=sender, client_id="r-1", scans=_batch(2))
    assert services.scans_flush() == 0 and len(_stored(analytics)) == 3


def test_a_batch_of_only_bad_rows_stages_nothing(analytics, sender):
    outcome = services.scans_receive(
        actor=sender,
        client_id="b-1",
        scans=[ScanIn("", dt.datetime(2026, 11, 20, tzinfo=UTC), person_key=KEY)],
    )
    assert (outcome.rows, outcome.bad_rows) == (0, 1)
    assert [(p.row, p.field) for p in outcome.problems] == [(1, "venue_code")]
    assert not ScanStage.objects.exists()


def test_the_flush_is_enqueued_every_so_many_batches(analytics, sender, monkeypatch):
    monkeypatch.setattr(venues, "FLUSH_EVERY", 1)
    called = []
    monkeypatch.setattr(venues, "_enqueue_flush", lambda: called.append(1))
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        services.scans_receive(actor=sender, client_id="e-1", scans=_batch(1))
    assert called == [1]
