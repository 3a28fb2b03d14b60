"""Throughput and the queue estimate on a constructed timeline; turnaround and overdue
tubes; the advisor from a round's results; who may see them."""

import datetime as dt

import pytest
from django.urls import reverse

from fangkong.accounts.tests.helpers import api_as, error_of
from fangkong.labs import selectors, services
from fangkong.labs.models import ResultTally, TubeResult
from fangkong.testing.models import BuildingCoverage, SamplingSite

from .helpers import T0, make_site, make_tube, row

NOW = T0 + dt.timedelta(hours=2)


@pytest.fixture
def timeline(tree, rnd, channel):
    """Channel 1 of site A: a tube of 10 from T0 (sealed), one of 10 from NOW−30 min
    (sealed), an open tube of 4 from NOW−5 min. Compound A: 100 expected, 30 sampled,
    2 exempt."""
    make_tube(rnd, channel, "F1", unknown=10, at=T0)
    make_tube(rnd, channel, "F2", unknown=10, at=NOW - dt.timedelta(minutes=30))
    make_tube(rnd, channel, "F3", unknown=4, at=NOW - dt.timedelta(minutes=5), sealed_after=None)
    BuildingCoverage.objects.create(
        round=rnd, area_code=tree.building_a1.code, expected=100, sampled=30, exempt=2
    )
    services.sampling_tally_refresh(settle=dt.timedelta(0))
    return rnd


def test_throughput_of_a_channel_on_a_timeline(worker_a, timeline):
    (site,) = selectors.throughput(timeline, worker_a, now=NOW)
    (flow,) = site.channels
    assert (flow.tubes, flow.people, flow.last_hour) == (3, 24, 14)
    assert flow.per_hour == 12.0  # 24 people over the 2 hours since the first tube's hour
    assert flow.open_tube.barcode == "F3"


def test_the_queue_estimate_drains_the_unsampled_at_the_last_hours_rate(worker_a, timeline):
    (site,) = selectors.throughput(timeline, worker_a, now=NOW)
    assert site.remaining == 68  # 100 − 30 − 2
    assert site.hours_to_clear == round(68 / 14, 1)
    assert site.channels_needed(hours_left=2) == 3  # 68 / (14 × 2) → 3 channels
    assert site.channels_needed(hours_left=14) == 1


def test_two_sites_of_one_area_share_its_backlog_by_their_rates(tree, rnd, worker_a, timeline):
    second = make_site(tree.compound_a, "二号点")[1][0]
    make_tube(rnd, second, "G1", unknown=7, at=NOW - dt.timedelta(minutes=20))
    services.sampling_tally_refresh(settle=dt.timedelta(0))
    flows = {f.site.name: f for f in selectors.throughput(timeline, worker_a, now=NOW)}
    assert flows["采样点"].remaining + flows["二号点"].remaining == 68
    assert flows["采样点"].remaining == round(68 * 14 / 21)


def test_a_channel_that_stopped_counts_the_hours_it_worked(tree, rnd, worker_a, channel):
    make_tube(rnd, channel, "K1", unknown=10, at=T0)
    make_tube(rnd, channel, "K2", unknown=10, at=T0 + dt.timedelta(minutes=90))
    services.sampling_tally_refresh(settle=dt.timedelta(0))
    (site,) = selectors.throughput(rnd, worker_a, now=T0 + dt.timedelta(hours=5))
    assert site.channels[0].per_hour == 10.0  # 20 people in the hours 08:00–10:00
    assert site.channels[0].open_tube is None


def test_a_site_idle_for_an_hour_has_no_estimate(tree, rnd, worker_a, channel):
    make_tube(rnd, channel, "H1", unknown=10, at=NOW - dt.timedelta(hours=3))
    BuildingCoverage.objects.create(round=rnd, area_code=tree.building_a1.code, expected=5)
    services.sampling_tally_refresh(settle=dt.timedelta(0))
    (site,) = selectors.throughput(rnd, worker_a, now=NOW)
    assert site.last_hour == 0 and site.hours_to_clear is None


def test_throughput_shows_only_the_users_sites(tree, rnd, worker_b, channel, channel_b, timeline):
    names = [f.site.name for f in selectors.throughput(rnd, worker_b, now=NOW)]
    assert names == ["西山采样点"]


def test_overdue_tubes_are_sealed_longer_than_the_limit_without_a_result(
    tree, rnd, channel, lab, monkeypatch
):
    monkeypatch.setenv("FANGKONG_LABS_OVERDUE_HOURS", "12")
    make_tube(rnd, channel, "O13", unknown=1, at=NOW - dt.timedelta(hours=13, minutes=10))
    make_tube(rnd, channel, "O11", unknown=1, at=NOW - dt.timedelta(hours=11))
    make_tube(rnd, channel, "R13", unknown=1, at=NOW - dt.timedelta(hours=14))
    make_tube(rnd, channel, "U20", unknown=1, at=NOW - dt.timedelta(hours=20), sealed_after=None)
    make_tube(rnd, channel, "L13", unknown=1, at=NOW - dt.timedelta(hours=15))
    services.results_import(actor=lab, rows=[row("R13", "negative")])
    assert services.overdue_refresh(now=NOW) == 2  # O13 and L13
    services.results_import(actor=lab, rows=[row("L13", "negative")])  # came since
    prefixes = [tree.district.code]
    assert [o.tube.barcode for o in selectors.overdue_tubes(rnd, prefixes)] == ["O13"]
    assert not selectors.overdue_tubes(rnd, [tree.community_b.code]).exists()
    assert services.overdue_refresh(now=NOW) == 1


def test_turnaround_by_lab_and_site_comes_from_the_stored_seconds(tree, rnd, channel, lab):
    make_tube(rnd, channel, "A1", unknown=1, at=NOW - dt.timedelta(hours=5))
    make_tube(rnd, channel, "A2", unknown=1, at=NOW - dt.timedelta(hours=3))
    make_tube(rnd, channel, "A3", unknown=1, at=NOW, sealed_after=None)  # from its last sample
    services.results_import(
        actor=lab, rows=[row("A1", "negative"), row("A2", "positive"), row("A3", "negative")]
    )
    seconds = list(TubeResult.objects.values_list("turnaround_s", flat=True))
    assert None not in seconds
    total = selectors.turnaround_total(rnd, [tree.district.code])
    assert (total.results, total.timed, total.seconds) == (3, 3, sum(seconds))
    ((name, by_lab),) = selectors.turnaround_by_lab(rnd, [tree.district.code])
    assert name == "零陵区疾控中心" and by_lab.hours == total.hours
    by_site = selectors.turnaround_by_site(rnd, [channel.site])
    assert by_site[channel.site.pk].seconds == sum(seconds)


def test_the_advisor_reads_the_rounds_pooled_results(tree, rnd, lab):
    ResultTally.objects.create(
        round=rnd,
        area_code=tree.compound_a.code,
        day=T0.date(),
        lab=lab,
        pool_size=10,
        results=1010,
        positives=10,
        invalid=10,
    )
    advice = selectors.pool_advice(rnd, [tree.district.code], today=T0.date())
    assert advice.advice.by_size == {10: (1000, 10)}
    assert advice.advice.prevalence == pytest.approx(1 - 0.99 ** (1 / 10))
    assert advice.advice.recommended == 20  # p ≈ 0.001: bigger pools pay
    assert advice.since == T0.date() - dt.timedelta(days=2)


def test_the_advisor_falls_back_to_the_whole_round(tree, rnd, lab):
    ResultTally.objects.create(
        round=rnd,
        area_code=tree.compound_a.code,
        day=T0.date() - dt.timedelta(days=9),
        lab=lab,
        pool_size=10,
        results=100,
        positives=98,
    )
    advice = selectors.pool_advice(rnd, [tree.district.code], today=T0.date())
    assert advice.since is None and advice.advice.recommended == 1


def test_the_flow_page(client_for, command_user, timeline):
    page = client_for(command_user).get(reverse("labs:flow", args=[timeline.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "采样点" in body and "F3" in body


def test_api_throughput_is_scoped(tree, rnd, worker_a, worker_b, channel_b, timeline):
    mine = api_as(worker_a).get(f"/labs/rounds/{rnd.pk}/throughput")
    assert mine.status_code == 200
    (site,) = mine.json()
    assert site["people"] == 24 and site["channels"][0]["open_tube"] == "F3"
    theirs = api_as(worker_b).get(f"/labs/rounds/{rnd.pk}/throughput").json()
    assert [s["name"] for s in theirs] == ["西山采样点"]
    site_a = SamplingSite.objects.get(area=tree.compound_a)
    attack = api_as(worker_b).get(f"/labs/rounds/{rnd.pk}/throughput", {"site": site_a.pk})
    assert attack.status_code == 404 and error_of(attack)["code"] == "not_found"


def test_api_turnaround_and_advisor(tree, rnd, channel, lab, command_user):
    make_tube(rnd, channel, "Q1", unknown=10, at=NOW - dt.timedelta(hours=30))
    make_tube(rnd, channel, "Q2", unknown=10, at=NOW - dt.timedelta(hours=3))
    services.results_import(actor=lab, rows=[row("Q2", "positive")])
    services.overdue_refresh(now=NOW)
    api = api_as(command_user)
    body = api.get(f"/labs/rounds/{rnd.pk}/turnaround").json()
    assert body["total"]["results"] == 1 and body["overdue_count"] == 1
    assert body["overdue"][0]["barcode"] == "Q1" and body["labs"][0]["lab"] == "零陵区疾控中心"
    advice = api.get("/labs/advisor", {"round": rnd.pk}).json()
    assert advice["pools"] == 1 and advice["positive_pools"] == 1
    assert [r["pool_size"] for r in advice["table"]] == [1, 5, 10, 20]
    assert advice["recommended"] == 1  # one pool, positive: p = 1


def test_api_a_lab_reads_turnaround_but_not_throughput(rnd, lab):
    api = api_as(lab)
    assert api.get(f"/labs/rounds/{rnd.pk}/turnaround").status_code == 200
    assert api.get(f"/labs/rounds/{rnd.pk}/throughput").status_code == 403
