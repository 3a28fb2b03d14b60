"""A round under way over the shared district, a site with channels, a sampler."""

import datetime as dt
import itertools
import uuid

import pytest
from django.utils import timezone

from fangkong.factories import make_resident, make_user
from fangkong.people.codes import code_for
from fangkong.testing import ingest, services

START = timezone.make_aware(dt.datetime(2026, 11, 23, 8, 0))
_barcodes = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Ids repeat between tests (rolled back); the upload path's caches must not."""
    ingest.forget_cached()
    yield
    ingest.forget_cached()


def new_barcode() -> str:
    return f"T{next(_barcodes):08d}"


def cid() -> str:
    return uuid.uuid4().hex


def launch(actor, *areas, name="第一轮", hours=12):
    """A round over `areas` that started at 08:00."""
    return services.round_launch(
        actor=actor,
        name=name,
        areas=list(areas),
        starts_at=START,
        deadline=START + dt.timedelta(hours=hours),
    )


@pytest.fixture
def rnd(tree, command_user):
    """A round over the street (both communities), launched at 08:00."""
    return launch(command_user, tree.street)


@pytest.fixture
def site_a(tree, command_user):
    return services.site_create(
        actor=command_user, area=tree.community_a, name="东风广场", channels=2
    )


@pytest.fixture
def site_b(tree, command_user):
    return services.site_create(
        actor=command_user, area=tree.community_b, name="西山小学", channels=1
    )


@pytest.fixture
def sampler(tree):
    """A sampler of community A."""
    return make_user("sampler_a", "sampler", tree.community_a)


@pytest.fixture
def people_a(tree, resident_a):
    """Five residents of building A1 (the first is resident_a)."""
    more = [make_resident(tree.household_a1, f"居民{i}") for i in range(4)]
    return [resident_a, *more]


class Channel:
    """Makes the events one channel of a site would send."""

    def __init__(self, rnd, channel, start=START):
        self.rnd, self.channel, self.site = rnd, channel, channel.site
        self.clock = start

    def _tick(self, seconds=5):
        self.clock += dt.timedelta(seconds=seconds)
        return self.clock

    def event(self, type, tube, **extra) -> ingest.Event:
        return ingest.Event(
            client_id=cid(),
            type=type,
            at=self._tick(),
            round=self.rnd.pk,
            site=self.site.pk,
            channel=self.channel.pk,
            tube=tube,
            **extra,
        )

    def tube(self, residents, *, pool=10, barcode=None, seal=True) -> list[ingest.Event]:
        barcode = barcode or new_barcode()
        events = [self.event("tube_open", barcode, pool_size=pool)]
        events += [self.event("sample", barcode, code=code_for(r)) for r in residents]
        if seal:
            events.append(self.event("tube_seal", barcode))
        return events


@pytest.fixture
def channel_a(rnd, site_a):
    return Channel(rnd, site_a.channels.order_by("name")[0])


@pytest.fixture
def channel_a2(rnd, site_a):
    return Channel(rnd, site_a.channels.order_by("name")[1])


def upload(actor, events, device="phone-1"):
    return services.samples_upload(actor=actor, device_id=device, events=events)
