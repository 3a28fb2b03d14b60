"""The shared district (fangkong/factories.py) with screening's own people: a grid
worker of building A1, a building leader of A2, residents in both communities, and a
campaign over the street."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from fangkong.areas.models import Grid, Household
from fangkong.factories import make_resident, make_user
from fangkong.screening import services
from fangkong.screening.services.status import person_for_resident

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at(hour: int, minute: int = 0, day: int = 23) -> dt.datetime:
    """A moment of 2026-11-<day> on the Shanghai clock."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def cid() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def grid_worker(tree):
    user = make_user("grid_a1", "grid")
    grid = Grid.objects.create(community=tree.community_a, name="一网格", keeper=user)
    grid.buildings.set([tree.building_a1])
    return user


@pytest.fixture
def building_leader(tree):
    return make_user("leader_a2", "building", tree.building_a2)


@pytest.fixture
def family_a(tree):
    """Two residents of household A1 (101)."""
    return [
        make_resident(tree.household_a1, "王大明", phone="13900000001"),
        make_resident(tree.household_a1, "王小明", phone="13900000002"),
    ]


@pytest.fixture
def person_a(resident_a):
    return person_for_resident(resident_a)


@pytest.fixture
def person_b(resident_b):
    return person_for_resident(resident_b)


@pytest.fixture
def task_a(worker_a, person_a):
    task, _made = services.task_create(
        actor=worker_a, person=person_a, category="close", reason="疾控来电"
    )
    return task


@pytest.fixture
def task_b(worker_b, person_b):
    task, _made = services.task_create(
        actor=worker_b, person=person_b, category="close", reason="疾控来电"
    )
    return task


@pytest.fixture
def campaign(tree, street_user):
    return services.campaign_launch(
        actor=street_user,
        name="第一轮摸排",
        areas=[tree.street],
        deadline=timezone.now() + dt.timedelta(days=1),
        risk_places="上海市浦东新区\n广州市白云区",
    )


@pytest.fixture
def more_households(tree):
    """Two more households in building A1 (three in all there)."""
    return [
        Household.objects.create(building=tree.building_a1, unit="1", room="102"),
        Household.objects.create(building=tree.building_a1, unit="1", room="201"),
    ]


@pytest.fixture
def case_a(tree, resident_a):
    """A confirmed case: resident A's single tube, sampled at 2026-11-22 09:00 Shanghai,
    positive the same evening (through the labs app's own service)."""
    from fangkong.labs import services as lab_services
    from fangkong.labs.files import ResultRow
    from fangkong.labs.models import PositiveCase
    from fangkong.labs.tests.helpers import make_lab, make_round, make_site, make_tube

    lab = make_lab(tree)
    rnd = make_round(tree, starts_at=at(8, 0, day=22))
    _site, (channel,) = make_site(tree.community_a)
    make_tube(rnd, channel, "T-CASE-1", [resident_a], at=at(9, 0, day=22), pool_size=1)
    lab_services.results_import(
        actor=lab, rows=[ResultRow(2, "T-CASE-1", "positive", at(20, 0, day=22))]
    )
    return PositiveCase.objects.get(resident=resident_a)


@pytest.fixture
def analytics(settings, tmp_path):
    """The analytics store and engine settings of one test: a fresh directory, DuckDB,
    one thread (the suite runs in two processes)."""
    settings.ANALYTICS = "duckdb"
    settings.ANALYTICS_DIR = str(tmp_path / "analytics")
    settings.ANALYTICS_THREADS = 1
    settings.ANALYTICS_MEMORY = "512MB"
    return tmp_path / "analytics"
