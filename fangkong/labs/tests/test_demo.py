"""The demo round's lab results (`fangkong demo_results`, run by `make demo`).

One district of 2,000 residents is seeded, its round started and its results stored for
the module (on SQLite or PostgreSQL, whichever the suite runs on), and rolled back at the
end.
"""

import io

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from fangkong.accounts.models import User
from fangkong.labs.demo import demo_results
from fangkong.labs.models import (
    OverdueTube,
    Recall,
    RecallReason,
    Result,
    ResultUpload,
    TubeResult,
)
from fangkong.labs.selectors import recall_banner
from fangkong.people.seeding import seed_district
from fangkong.testing import ingest
from fangkong.testing.demo import demo_round
from fangkong.testing.models import Sample, Tube, Via


@pytest.fixture(scope="module")
def made(django_db_setup, django_db_blocker):
    """The seeded district, its demo round and the lab's results, rolled back after."""
    with django_db_blocker.unblock(), transaction.atomic():
        seed_district(residents=2000, seed=3)
        demo_round(seed=2)
        yield demo_results()
        transaction.set_rollback(True)
    ingest.forget_cached()


@pytest.fixture
def demo(made, db):
    return made


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _community(username: str) -> str:
    return _user(username).areas.get().code


def test_most_done_tubes_have_a_result_from_the_lab_mostly_negative(demo):
    results = TubeResult.objects.filter(round=demo.round)
    done = Tube.objects.filter(round=demo.round, sealed_at__isnull=False).count()
    done += Tube.objects.filter(round=demo.round, via=Via.HOME).count()
    assert results.count() >= 0.6 * done
    others = len(demo.positive_tubes) + len(demo.invalid_tubes)
    assert results.exclude(result=Result.NEGATIVE).count() == others
    assert {r.lab for r in results} == {_user("lab")}
    assert all(r.tested_at >= r.tube.sealed_at for r in results.filter(tube__via=Via.SITE))
    uploads = ResultUpload.objects.filter(lab=_user("lab"))
    assert uploads.count() >= 2 and sum(u.created for u in uploads) == results.count()


def test_positive_10_in_1_pools_of_community_a_recall_every_member(demo):
    a = _community("community_a")
    positives = TubeResult.objects.filter(round=demo.round, result=Result.POSITIVE)
    assert 1 <= positives.count() <= 2
    assert sorted(p.tube.barcode for p in positives) == sorted(demo.positive_tubes)
    for result in positives:
        tube = result.tube
        assert tube.pool_size == tube.sample_count == 10
        assert tube.area_code == a
        samples = Sample.objects.filter(tube=tube)
        recalls = Recall.objects.filter(tube=tube)
        assert {r.sample_id for r in recalls} == {s.pk for s in samples}
        assert all(r.reason == RecallReason.POSITIVE_POOL and r.is_open for r in recalls)
        assert all(r.area_code == r.resident.area_code for r in recalls)
        assert all(r.area_code.startswith(a) for r in recalls)


def test_one_invalid_pool_elsewhere_is_recalled_too(demo):
    (invalid,) = TubeResult.objects.filter(round=demo.round, result=Result.INVALID)
    assert invalid.tube.pool_size == 20
    assert not invalid.tube.area_code.startswith(_community("community_a"))
    assert not invalid.tube.area_code.startswith(_community("community_b"))
    recalls = Recall.objects.filter(tube=invalid.tube)
    assert recalls.count() == invalid.tube.sample_count
    assert all(r.reason == RecallReason.INVALID for r in recalls)


def test_community_a_sees_the_recalls_and_its_marked_buildings_community_b_does_not(demo, client):
    a = _community("community_a")
    members = Recall.objects.filter(tube__barcode__in=demo.positive_tubes)
    worker_a, worker_b = _user("community_a"), _user("community_b")
    assert set(Recall.objects.for_user(worker_a)) == set(members)
    assert not Recall.objects.for_user(worker_b).exists()
    banner = recall_banner(worker_a)
    assert banner.open == members.count()
    assert banner.buildings and all(b.code.startswith(a) for b in banner.buildings)
    assert recall_banner(worker_b).open == 0
    client.force_login(worker_a)
    page = client.get(reverse("labs:recalls"))
    assert page.status_code == 200
    assert set(page.context["page"].items) == set(members)
    assert members[0].resident.name in page.content.decode()
    client.force_login(worker_b)
    page = client.get(reverse("labs:recalls"))
    assert page.status_code == 200 and not page.context["page"].items


def test_some_tubes_are_still_at_the_lab_and_a_few_are_overdue(demo):
    assert demo.counts["at_lab"] >= 1
    overdue = OverdueTube.objects.filter(round=demo.round)
    assert 1 <= overdue.count() <= demo.counts["at_lab"]
    assert not TubeResult.objects.filter(tube_id__in=overdue.values("tube_id")).exists()


def test_if_empty_does_nothing_and_a_second_run_changes_nothing(demo):
    before = (TubeResult.objects.count(), Recall.objects.count())
    out = io.StringIO()
    call_command("demo_results", if_empty=True, stdout=out)
    assert "nothing to do" in out.getvalue()
    assert ResultUpload.objects.filter(lab=_user("lab")).count() == demo.counts["uploads"]
    call_command("demo_results", stdout=out)
    assert (TubeResult.objects.count(), Recall.objects.count()) == before
    assert "0 new" in out.getvalue()


def test_the_lab_and_the_command_centre_see_their_pages(demo, client):
    client.force_login(_user("lab"))
    assert client.get(reverse("labs:upload")).status_code == 200
    client.force_login(_user("command"))
    for url in (
        reverse("labs:recalls"),
        reverse("labs:report", args=[demo.round.pk]),
        reverse("labs:flow", args=[demo.round.pk]),
    ):
        assert client.get(url).status_code == 200, url
