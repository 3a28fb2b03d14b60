"""The screening demo (`fangkong demo_screening`, run by `make demo` after the labs app's
demo results): a case, scans that match a handful of residents, their trace tasks (one
overdue and escalated), a campaign half done. One seeded district for the module."""

import pytest
from django.db import transaction
from django.test import override_settings

from fangkong.core.models import Notification
from fangkong.labs.demo import demo_results
from fangkong.people.seeding import seed_district
from fangkong.screening import selectors
from fangkong.screening.demo import demo_screening
from fangkong.screening.models import TraceTask
from fangkong.testing import ingest
from fangkong.testing.demo import demo_round


@pytest.fixture(scope="module")
def made(django_db_setup, django_db_blocker, tmp_path_factory):
    store = tmp_path_factory.mktemp("analytics")
    with (
        override_settings(ANALYTICS="duckdb", ANALYTICS_DIR=str(store), ANALYTICS_THREADS=1),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        seed_district(residents=2000, seed=3)
        demo_round(seed=2)
        demo_results()
        yield demo_screening(if_empty=True)
        transaction.set_rollback(True)
    ingest.forget_cached()


@pytest.fixture
def demo(made, db):
    return made


def test_the_demo_finds_contacts_of_a_case_from_the_lab_results(demo):
    assert demo.created and demo.case is not None
    run = demo.run
    assert run.status == "done", run.error
    assert run.contacts >= 5 and run.tasks_created >= 5
    matched = TraceTask.objects.filter(match_run=run)
    assert {t.category for t in matched} <= {"close", "secondary"}
    assert all(t.evidence for t in matched)
    assert demo.counts["scans"] > run.contacts  # some scans were too far apart to match


def test_one_task_is_overdue_and_escalated(demo):
    escalated = TraceTask.objects.filter(escalated_at__isnull=False)
    assert escalated.count() == 1
    assert Notification.objects.filter(kind="screening.overdue").exists()
    assert TraceTask.objects.active().exclude(escalated_at__isnull=False).exists()  # due later


def test_the_campaign_is_half_done(demo):
    code = demo.campaign.campaign_areas.get().area_code
    cover = selectors.coverage_of_area(demo.campaign, code)
    assert 0 < cover.done < cover.households
    assert cover.open_visited > 0
    assert TraceTask.objects.filter(source="campaign").exists()


def test_a_second_run_does_nothing(demo):
    assert demo_screening(if_empty=True).created is False
