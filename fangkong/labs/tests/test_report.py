"""The round report on a constructed round: by area, by day, in .xlsx, and who may see it."""

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from fangkong.accounts.tests.helpers import api_as, error_of
from fangkong.core.models import AuditEvent
from fangkong.labs import selectors, services
from fangkong.testing.models import BuildingCoverage, HomeSamplingTask, TaskKind, TaskStatus

from .helpers import T0, make_tube, people, row


@pytest.fixture
def round_day(tree, rnd, channel, channel_b, lab):
    """A: PA1 positive (3 of A1), NA2 negative (2 of A2), a negative resample of one A1
    person; a door-to-door task done in A2. B: PB1 negative (2 of B1), TB2 (1 of B1) with
    no result yet."""
    a1 = people(tree.household_a1, 3, "甲")
    a2 = people(tree.household_a2, 2, "乙")
    b1 = people(tree.household_b1, 3, "丙")
    make_tube(rnd, channel, "PA1", a1)
    make_tube(rnd, channel, "NA2", a2)
    make_tube(rnd, channel_b, "PB1", b1[:2])
    make_tube(rnd, channel_b, "TB2", b1[2:])
    services.results_import(
        actor=lab, rows=[row("PA1", "positive"), row("NA2", "negative"), row("PB1", "negative")]
    )
    later = timezone.now() + dt.timedelta(minutes=1)
    make_tube(rnd, channel, "S1", a1[:1], at=later, pool_size=1, first=False)
    services.results_import(actor=lab, rows=[row("S1", "negative")])
    HomeSamplingTask.objects.create(
        round=rnd,
        kind=TaskKind.BEDRIDDEN,
        household=tree.household_a2,
        resident=a2[0],
        area_code=tree.household_a2.area_code,
        status=TaskStatus.DONE,
        closed_at=T0,
    )
    BuildingCoverage.objects.filter(round=rnd, area_code=tree.building_a1.code).update(expected=10)
    services.sampling_tally_refresh(settle=dt.timedelta(0))
    return rnd


def _counts(report, code):
    return next(r.counts for r in report.rows if r.code == code)


def test_the_report_by_community(tree, round_day):
    report = selectors.round_report(round_day, tree.street)
    a = _counts(report, tree.community_a.code)
    assert a["expected"] == 10 and a["sampled"] == 5 and a["tubes"] == 3
    assert (a["results"], a["positives"], a["invalid"]) == (3, 1, 0)
    assert (a["recalls_open"], a["recalls_closed"], a["cases"], a["home_done"]) == (2, 1, 0, 1)
    b = _counts(report, tree.community_b.code)
    assert (b["sampled"], b["tubes"], b["results"], b["positives"], b["recalls_open"]) == (
        3,
        2,
        1,
        0,
        0,
    )
    assert report.total["sampled"] == 8 and report.total["tubes"] == 5


def test_drilling_down_gives_each_building_its_own_tubes_and_results(tree, round_day):
    """The site belongs to the compound, but a tube counts where its first person lives:
    no row "at this level" holds the tubes while the buildings show none."""
    report = selectors.round_report(round_day, tree.compound_a)
    a1 = _counts(report, tree.building_a1.code)
    assert (a1["sampled"], a1["recalls_open"], a1["recalls_closed"]) == (3, 2, 1)
    assert (a1["tubes"], a1["results"], a1["positives"]) == (2, 2, 1)  # PA1 and S1
    a2 = _counts(report, tree.building_a2.code)
    assert (a2["tubes"], a2["results"], a2["positives"]) == (1, 1, 0)  # NA2
    assert all(r.drill for r in report.rows)


def test_the_report_by_day(tree, round_day):
    days = dict(selectors.round_report(round_day, tree.street).days)
    sampled_day = timezone.localdate(T0)
    assert days[sampled_day]["sampled"] == 8
    assert days[sampled_day]["home_done"] == 1
    today = days[timezone.localdate()]
    assert today["results"] == 4 and today["positives"] == 1
    assert today["recalls_raised"] == 3 and today["recalls_closed"] == 1


def test_the_tally_refresh_counts_each_row_once(tree, round_day):
    assert services.sampling_tally_refresh(settle=dt.timedelta(0)) == 0
    assert selectors.round_report(round_day, tree.street).total["sampled"] == 8


def test_the_tally_waits_for_ids_to_settle(tree, rnd, channel):
    make_tube(rnd, channel, "X1", people(tree.household_a1, 1))
    assert services.sampling_tally_refresh() == 0  # only notes the newest ids
    assert services.sampling_tally_refresh(settle=dt.timedelta(0)) == 3  # marker, tube, sample


def test_the_report_page_and_its_drill_down(tree, client_for, worker_a, round_day):
    client = client_for(worker_a)
    page = client.get(reverse("labs:report", args=[round_day.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert tree.compound_a.name in body and f"?area={tree.compound_a.code}" in body
    assert tree.community_b.name not in body


def test_a_worker_cannot_open_another_communitys_report(tree, client_for, worker_a, round_day):
    page = client_for(worker_a).get(
        reverse("labs:report", args=[round_day.pk]), {"area": tree.community_b.code}
    )
    assert page.status_code == 404


def test_the_xlsx_export_holds_the_numbers_and_is_audited(tree, client_for, street_user, round_day):
    response = client_for(street_user).get(
        reverse("labs:report", args=[round_day.pk]), {"area": tree.street.code, "format": "xlsx"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    by_area = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    a = next(r for r in by_area if r[0] == tree.community_a.code)
    assert a[1] == tree.community_a.name and a[2:] == [10, 5, 3, 3, 1, 0, 2, 1, 0, 1]
    total = by_area[-1]
    assert total[0] == tree.street.code and total[3] == 8
    by_day = [list(r) for r in book.worksheets[1].iter_rows(values_only=True)]
    assert len(by_day) >= 2
    event = AuditEvent.objects.get(event="labs.report_export")
    assert event.actor == street_user and event.area_code == tree.street.code


def test_a_volunteer_may_not_read_the_report(client_for, volunteer, round_day):
    assert client_for(volunteer).get(reverse("labs:report", args=[round_day.pk])).status_code == 403


def test_api_report_is_scoped(tree, worker_a, worker_b, round_day):
    mine = api_as(worker_a).get(f"/labs/rounds/{round_day.pk}/report")
    assert mine.status_code == 200
    body = mine.json()
    assert body["area"] == tree.community_a.code and body["total"]["recalls_open"] == 2
    attack = api_as(worker_b).get(
        f"/labs/rounds/{round_day.pk}/report", {"area": tree.community_a.code}
    )
    assert attack.status_code == 400 and error_of(attack)["field"] == "area"
    theirs = api_as(worker_b).get(f"/labs/rounds/{round_day.pk}/report").json()
    assert theirs["total"]["recalls_open"] == 0 and theirs["total"]["sampled"] == 3


def test_api_report_of_an_unknown_round_is_not_found(worker_a, round_day):
    response = api_as(worker_a).get(f"/labs/rounds/{round_day.pk + 99}/report")
    assert response.status_code == 404
