"""Every figure of the round report adds up: the rows to the total at every level, the
days to the total, on generated data with sites above the buildings (issue 8, §6)."""

import datetime as dt
import random

import pytest

from fangkong.factories import make_resident
from fangkong.labs import selectors, services
from fangkong.labs.selectors import REPORT_COLUMNS
from fangkong.testing.models import HomeSamplingTask, TaskKind, TaskStatus

from .helpers import T0, make_site, make_tube, row

pytestmark = pytest.mark.django_db

SUMMED_BY_DAY = ("sampled", "tubes", "results", "positives", "invalid", "cases", "home_done")


@pytest.fixture
def generated(tree, rnd, lab):
    rng = random.Random(8)
    households = [tree.household_a1, tree.household_a2, tree.household_b1]
    # Sites at a community, at a compound and at the street: above every building.
    channels = [
        make_site(tree.community_a, "社区点")[1][0],
        make_site(tree.compound_b, "小区点")[1][0],
        make_site(tree.street, "街道点")[1][0],
    ]
    rows, n = [], 0
    for day in range(3):
        for _ in range(12):
            n += 1
            size = rng.choice([1, 3, 5])
            members = [make_resident(rng.choice(households), f"人{n}-{i}") for i in range(size)]
            barcode = f"G{n:04d}"
            make_tube(
                rnd,
                rng.choice(channels),
                barcode,
                members,
                at=T0 - dt.timedelta(days=2 - day, minutes=n),
                pool_size=size,
            )
            if rng.random() < 0.85:
                rows.append(row(barcode, rng.choice(["negative"] * 8 + ["positive", "invalid"])))
    services.results_import(actor=lab, rows=rows)
    for person in list(tree.household_a2.residents.all())[:2]:
        HomeSamplingTask.objects.create(
            round=rnd,
            kind=TaskKind.BEDRIDDEN,
            household=tree.household_a2,
            resident=person,
            area_code=person.area_code,
            status=TaskStatus.DONE,
            closed_at=T0,
        )
    services.sampling_tally_refresh(settle=dt.timedelta(0))
    return rnd


def _assert_adds_up(report):
    for name in REPORT_COLUMNS:
        if not report.rows:  # a building: no rows below it
            break
        assert sum(r.counts[name] for r in report.rows) == report.total[name], name
    for name in SUMMED_BY_DAY:
        assert sum(c[name] for _, c in report.days) == report.total[name], name
    raised = sum(c["recalls_raised"] for _, c in report.days)
    closed = sum(c["recalls_closed"] for _, c in report.days)
    assert raised >= report.total["recalls_open"] + report.total["recalls_closed"]
    assert closed == report.total["recalls_closed"]
    for day, counts in report.days:
        assert counts["sampled"] == 0 or counts["tubes"] > 0, day  # no people without tubes


def test_the_report_adds_up_at_every_level(tree, generated):
    for area in (
        tree.street,
        tree.community_a,
        tree.community_b,
        tree.compound_a,
        tree.compound_b,
        tree.building_a1,
    ):
        report = selectors.round_report(generated, area)
        _assert_adds_up(report)
        assert all(r.drill for r in report.rows), area  # nothing lumped on "this level"
    street = selectors.round_report(generated, tree.street)
    assert street.total["tubes"] == 36 and street.total["results"] > 0
    assert street.total["positives"] > 0
    # The compounds hold the tubes, results and positives of their own residents.
    community = selectors.round_report(generated, tree.community_a)
    compound = next(r for r in community.rows if r.code == tree.compound_a.code)
    assert compound.counts["tubes"] > 0 and compound.counts["results"] > 0
    assert compound.counts["recalls_open"] == community.total["recalls_open"]


def test_the_report_adds_up_after_a_correction(tree, generated, lab):
    barcode = "G0001"
    from fangkong.labs.models import TubeResult

    stored = TubeResult.objects.filter(tube__barcode=barcode).first()
    if stored is None:
        services.results_import(actor=lab, rows=[row(barcode, "negative")])
    new = "positive" if stored is None or stored.result != "positive" else "negative"
    services.results_import(actor=lab, rows=[row(barcode, new, reason="复核")])
    _assert_adds_up(selectors.round_report(generated, tree.street))
