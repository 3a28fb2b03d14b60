"""Uploads at the same time on PostgreSQL: shared counters, and a tube made meanwhile."""

import threading
import time

import pytest
from django.db import connection

from fangkong.factories import make_resident
from fangkong.testing.models import BuildingCoverage, FirstSample, Sample, Tube

from .conftest import new_barcode, upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one writer at a time")


def _together(jobs):
    """Run `jobs` in threads started at once (each on its own connection); their errors."""
    barrier, errors = threading.Barrier(len(jobs)), []

    def run(job):
        from django.db import connection as conn

        try:
            barrier.wait()
            job()
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_uploads_moving_the_same_counters_neither_deadlock_nor_miscount(
    sampler, channel_a, channel_a2, tree, rnd
):
    """Four channels' uploads at once, each with people of both buildings (half of them
    naming building 2's people first): the counters' row locks are taken in one order
    at the end of each upload's statement, so none waits for another in a cycle."""
    sampler.scope_prefixes()
    a1 = [make_resident(tree.household_a1, f"甲{i}") for i in range(17)]
    a2 = [make_resident(tree.household_a2, f"乙{i}") for i in range(16)]
    upload(sampler, channel_a.tube(a1[16:]))  # caches warm
    bodies = []
    for k in range(8):
        people = [a1[2 * k], a2[2 * k], a1[2 * k + 1], a2[2 * k + 1]]
        if k % 2:
            people.reverse()
        bodies.append((channel_a, channel_a2)[k % 2].tube(people))
    errors = _together([lambda b=b: upload(sampler, b) for b in bodies])
    assert errors == []
    stored = set(Sample.objects.values_list("resident_id", flat=True))
    assert stored == {p.pk for p in a1 + a2}
    for building, people in ((tree.building_a1, a1), (tree.building_a2, a2)):
        cover = BuildingCoverage.objects.get(round=rnd, area_code=building.code)
        assert cover.sampled == len(people)
    assert FirstSample.objects.count() == 33


def _waiting_on_a_lock(timeout=20.0) -> bool:
    """Whether another backend of this database waits on a lock (within `timeout`)."""
    from django.db import connections

    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.05)
    return False


def test_a_tube_another_upload_commits_meanwhile_takes_the_samples_sent_with_it(
    sampler, channel_a, people_a, tree, rnd
):
    """Upload B names a new tube that upload A made and has not committed: B's insert of
    the tube waits for A, and once A commits, B's statement has neither made the tube nor
    seen it. B sends its samples again, and they go in to the tube A made."""
    from django.db import transaction

    sampler.scope_prefixes()
    upload(sampler, channel_a.tube(people_a[:1]))  # caches warm
    barcode = new_barcode()
    events = channel_a.tube(people_a[1:5], barcode=barcode)
    first, second = events[:3], events[3:]  # open + 2 samples; 2 samples + seal
    made, release, answers, errors = threading.Event(), threading.Event(), [], []

    def hold():
        from django.db import connection as conn

        try:
            with transaction.atomic():
                answers.append(upload(sampler, first))
                made.set()
                release.wait(30)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            made.set()
            conn.close()

    def follow():
        from django.db import connection as conn

        try:
            answers.append(upload(sampler, second))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            conn.close()

    a = threading.Thread(target=hold)
    a.start()
    assert made.wait(30)
    b = threading.Thread(target=follow)
    b.start()
    try:
        assert _waiting_on_a_lock()
    finally:
        release.set()
        a.join()
        b.join()
    assert errors == []
    assert [r.status for answer in answers for r in answer] == ["accepted"] * 6
    tube = Tube.objects.get(barcode=barcode)
    assert tube.sample_count == 4 and tube.sealed_at == events[-1].at
    assert tube.opened_at == events[0].at
    assert Sample.objects.filter(tube=tube).count() == 4
    cover = BuildingCoverage.objects.get(round=rnd, area_code=tree.building_a1.code)
    assert cover.sampled == 5 and FirstSample.objects.count() == 5
