"""The demo round (`fangkong demo_round`, run by `make demo`) over a small seeded district.

One district of 2,000 residents is seeded and its round started for the module (on
SQLite or PostgreSQL, whichever the suite runs on), and rolled back at the end.
"""

import datetime as dt
import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.areas.models import Area, Household, Level, ZoneDesignation, ZoneKind
from fangkong.core.models import AuditEvent
from fangkong.people.models import Resident, Tag
from fangkong.people.seeding import seed_district
from fangkong.people.seeding.data import DISTRICT_CODE
from fangkong.testing import ingest
from fangkong.testing.demo import Clock, demo_round, open_spans, sealed_area_code
from fangkong.testing.models import (
    Exemption,
    ExemptReason,
    HomeSamplingTask,
    Sample,
    SampleFlag,
    SamplingSite,
    TaskKind,
    TaskStatus,
    TestingRound,
    Tube,
    UploadEvent,
    Via,
)
from fangkong.testing.selectors import coverage_of_area

RESIDENTS = 2000


@pytest.fixture(scope="module")
def made(django_db_setup, django_db_blocker):
    """The seeded district with its demo round, shared by the module, rolled back after."""
    with django_db_blocker.unblock(), transaction.atomic():
        seed_district(residents=RESIDENTS, seed=7)
        yield demo_round(seed=11)
        transaction.set_rollback(True)
    ingest.forget_cached()


@pytest.fixture
def demo(made, db):
    return made


@pytest.fixture
def rnd(demo):
    return demo.round


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _community(username: str) -> Area:
    return _user(username).areas.get()


def test_the_round_is_under_way_over_the_whole_district(rnd):
    rnd = TestingRound.objects.get(pk=rnd.pk)
    assert rnd.name == "第1轮区域全员核酸"
    assert rnd.is_active
    assert list(rnd.round_areas.values_list("area_code", flat=True)) == [DISTRICT_CODE]
    now = timezone.now()
    assert rnd.starts_at < now < rnd.deadline
    # 22:00 today, or three hours on when that is less than two hours away.
    local = timezone.localtime(rnd.deadline)
    assert local.time() == dt.time(22, 0) or rnd.deadline - now <= dt.timedelta(hours=3)
    assert (rnd.pool_sealed, rnd.pool_controlled, rnd.pool_prevention) == (1, 10, 20)
    assert rnd.launched_by == _user("command")


def test_coverage_is_about_half_and_varies_by_community(rnd):
    district = coverage_of_area(rnd, DISTRICT_CODE)
    assert district.expected == RESIDENTS
    assert 30 <= district.percent <= 70
    communities = Area.objects.filter(level=Level.COMMUNITY).order_by("code")
    percents = {c.code: coverage_of_area(rnd, c.code).percent for c in communities}
    a = _community("community_a").code
    assert percents[a] == max(percents.values())
    assert len(set(percents.values())) == len(percents)


def test_nothing_the_devices_sent_was_refused(demo, rnd):
    assert demo.counts["refused"] == 0
    assert not UploadEvent.objects.filter(round=rnd).rejected().exists()
    assert Sample.objects.filter(round=rnd).count() == demo.counts["samples"]


def test_zones_with_reasons_make_the_pool_sizes_differ(rnd):
    a = _community("community_a")
    zones = {z.kind: z for z in ZoneDesignation.objects.active()}
    assert zones.keys() == {ZoneKind.SEALED, ZoneKind.CONTROLLED}
    assert zones[ZoneKind.CONTROLLED].area == a
    sealed = zones[ZoneKind.SEALED].area
    assert sealed.code.startswith(a.code) and sealed.level in (Level.COMPOUND, Level.BUILDING)
    assert all(z.reason and z.declared_by == _user("command") for z in zones.values())
    assert all(z.starts_at < rnd.starts_at for z in zones.values())
    site_pools = Counter(
        (t.area_code == a.code, t.pool_size) for t in Tube.objects.filter(round=rnd, via=Via.SITE)
    )
    assert {pool for (_, pool) in site_pools} == {10, 20}
    assert all(pool == 10 for (in_a, pool) in site_pools if in_a)
    assert all(pool == 20 for (in_a, pool) in site_pools if not in_a)
    # The sealed area is sampled at the door, one person a tube; nobody there at a site.
    home = Tube.objects.filter(round=rnd, via=Via.HOME, area_code__startswith=sealed.code)
    assert home.exists() and all(t.pool_size == 1 for t in home)
    assert not Sample.objects.filter(
        round=rnd, via=Via.SITE, area_code__startswith=sealed.code
    ).exists()


def test_a_site_a_community_with_opening_hours_and_two_or_three_channels(rnd):
    sites = list(SamplingSite.objects.prefetch_related("channels"))
    communities = Area.objects.filter(level=Level.COMMUNITY)
    assert sorted(s.area_code for s in sites) == sorted(c.code for c in communities)
    for site in sites:
        assert site.opens_at < site.closes_at
        assert 2 <= len(site.channels.all()) <= 3
    a = _community("community_a")
    assert SamplingSite.objects.get(area=a).channels.count() == 3  # the third by channel_add


def test_tubes_are_sealed_but_for_the_last_of_a_channel_and_times_fall_in_opening_hours(rnd):
    now = timezone.now()
    for site in SamplingSite.objects.all():
        samples = Sample.objects.filter(round=rnd, site=site)
        for at in samples.values_list("at", flat=True):
            local = timezone.localtime(at).time()
            assert site.opens_at <= local <= site.closes_at
            assert rnd.starts_at <= at < now
    open_tubes = Tube.objects.filter(round=rnd, via=Via.SITE, sealed_at__isnull=True)
    assert open_tubes.count() <= SamplingSite.objects.count() * 3
    for tube in open_tubes:
        assert tube.sample_count < tube.pool_size
    full = Tube.objects.filter(round=rnd, via=Via.SITE, sealed_at__isnull=False)
    assert full.count() > 3 * open_tubes.count()


def test_repeats_an_unknown_visitor_and_an_overfull_tube_are_flagged(demo, rnd):
    samples = Sample.objects.filter(round=rnd)
    repeats = samples.flagged(SampleFlag.REPEAT_IN_ROUND)
    assert 2 <= repeats.count() <= 4
    for sample in repeats:  # each one's first sample is unflagged
        first = samples.filter(resident=sample.resident).exclude(pk=sample.pk).get()
        assert first.at < sample.at and not first.flags
    unknown = samples.flagged(SampleFlag.UNKNOWN_PERSON).get()
    assert unknown.resident is None and unknown.id_masked
    assert samples.flagged(SampleFlag.OVER_POOL).count() == 1
    assert not samples.flagged(SampleFlag.OUTSIDE_ROUND).exists()
    # A few ID numbers typed by hand (people without a smartphone) went in as residents.
    assert 1 <= demo.counts["typed"] <= 4 * 3 + 1


def test_exemptions_away_and_in_hospital_with_notes_and_audited(rnd):
    exemptions = list(Exemption.objects.filter(round=rnd).current())
    assert 6 <= len(exemptions) <= 12
    assert {ExemptReason.AWAY, ExemptReason.IN_HOSPITAL} <= {e.reason for e in exemptions}
    assert all(e.note for e in exemptions)
    a = _community("community_a")
    assert all(
        e.granted_by == _user("community_a") for e in exemptions if e.area_code.startswith(a.code)
    )
    audited = AuditEvent.objects.filter(event="testing.exemption_grant")
    assert audited.count() == len(exemptions) and all(e.reason for e in audited)
    exempt = {e.resident_id for e in exemptions}
    assert not Sample.objects.filter(round=rnd, resident_id__in=exempt).exists()


def test_door_to_door_tasks_for_the_sealed_households_and_the_bedridden(rnd):
    sealed = ZoneDesignation.objects.active().get(kind=ZoneKind.SEALED).area
    tasks = HomeSamplingTask.objects.filter(round=rnd)
    households = set(
        Household.objects.filter(area_code__startswith=sealed.code).values_list("id", flat=True)
    )
    sealed_tasks = tasks.filter(kind=TaskKind.SEALED_HOUSEHOLD)
    assert set(sealed_tasks.values_list("household_id", flat=True)) == households
    assert all(t.team_name for t in sealed_tasks)
    bedridden = tasks.filter(kind=TaskKind.BEDRIDDEN)
    assert bedridden.exists()
    assert all(t.resident.has_tag(Tag.BEDRIDDEN) for t in bedridden)
    done = tasks.filter(status=TaskStatus.DONE)
    assert 1 <= done.count() <= 5
    for task in done:
        assert task.tube is not None and task.tube.via == Via.HOME
        assert task.tube.samples.count() == 1
    bedridden_people = Resident.objects.with_tag(Tag.BEDRIDDEN)
    assert not Sample.objects.filter(
        round=rnd, via=Via.SITE, resident__in=bedridden_people
    ).exists()


def test_if_empty_does_nothing_the_second_time(rnd):
    counts = (TestingRound.objects.count(), Sample.objects.count(), Tube.objects.count())
    out = io.StringIO()
    call_command("demo_round", if_empty=True, stdout=out)
    assert "nothing to do" in out.getvalue()
    assert (TestingRound.objects.count(), Sample.objects.count(), Tube.objects.count()) == counts


def test_without_if_empty_a_second_round_keeps_the_sites(rnd):
    out = io.StringIO()
    call_command("demo_round", seed=5, stdout=out)
    assert "第2轮区域全员核酸" in out.getvalue()
    assert "refused events: 0" in out.getvalue()
    second = TestingRound.objects.exclude(pk=rnd.pk).get()
    assert SamplingSite.objects.count() == Area.objects.filter(level=Level.COMMUNITY).count()
    assert Tube.objects.filter(round=second).exists()


def test_the_demo_users_see_their_pages(rnd, client):
    a, b = _community("community_a"), _community("community_b")
    client.force_login(_user("sampler"))
    response = client.get(reverse("testing:sampler"))
    assert response.status_code == 200
    (config,) = response.context["config"]["rounds"]
    assert [s["area_code"] for s in config["sites"]] == [a.code]
    assert config["sites"][0]["pool_size"] == 10
    client.force_login(_user("community_a"))
    for url in (
        reverse("testing:round", args=[rnd.pk]),
        reverse("testing:coverage", args=[rnd.pk, a.code]),
        reverse("testing:tasks", args=[rnd.pk]),
    ):
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("testing:coverage", args=[rnd.pk, b.code])).status_code == 404


def test_the_resident_page_links_to_the_code_for_staff_and_to_the_household_for_residents(
    rnd, client
):
    me = _user("resident")
    client.force_login(_user("community_a"))
    page = client.get(reverse("people:detail", args=[me.resident_id])).content.decode()
    code_url = reverse("people:code", args=[me.resident_id])
    assert f'href="{code_url}"' in page
    assert client.get(code_url).status_code == 200
    client.force_login(me)
    page = client.get(reverse("people:detail", args=[me.resident_id])).content.decode()
    assert code_url not in page
    assert f'href="{reverse("people:mine")}"' in page


# The pieces, without the database -------------------------------------------------------


def _local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def test_open_spans_are_the_opening_hours_between_start_and_end():
    day = dt.date(2026, 11, 22)
    spans = open_spans(
        dt.time(7), dt.time(21), _local(day, 19), _local(day, 19) + dt.timedelta(hours=24)
    )
    assert spans == [
        (_local(day, 19), _local(day, 21)),
        (_local(day + dt.timedelta(days=1), 7), _local(day + dt.timedelta(days=1), 19)),
    ]


def test_clock_spreads_shares_over_the_spans_in_order():
    day = dt.date(2026, 11, 22)
    clock = Clock([(_local(day, 19), _local(day, 21)), (_local(day, 23), _local(day, 23, 30))])
    assert clock.at(0) == (0, _local(day, 19))
    assert clock.at(0.5) == (0, _local(day, 20, 15))
    assert clock.at(0.9) == (1, _local(day, 23, 15))
    assert clock.at(1) == (1, _local(day, 23, 30))


def test_the_sealed_area_is_a_small_compound_or_else_a_building():
    c = "431102001001"
    two = {f"{c}001001": 400, f"{c}001002": 300, f"{c}002001": 150}
    assert sealed_area_code(two) == f"{c}002"
    one = {f"{c}001001": 400, f"{c}001002": 0, f"{c}001003": 120}
    assert sealed_area_code(one) == f"{c}001003"
    big = {f"{c}001001": 100, f"{c}002001": 100}  # half the community: seal a building
    assert sealed_area_code(big) == f"{c}001001"
