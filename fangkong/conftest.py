"""Personas every app's tests share (see fangkong/factories.py for the district), and
the pinned clock every test runs on."""

import datetime as dt

import pytest
import time_machine

from fangkong import factories

# Every test but the browser's runs on this clock, so none depends on the day it runs:
# 18:00 in Shanghai, the afternoon of a testing day. Time moves on from it (tick), so
# durations still pass; a test that needs an exact instant moves the `clock` itself.
# The clock is set before the test's fixtures (module-scoped ones included) are made.
# Browser tests keep the real clock, which Chromium shares.
PINNED_NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if item.get_closest_marker("e2e") is None:
        item.stash[_TRAVEL] = travel = time_machine.travel(PINNED_NOW, tick=True)
        item.stash[_COORDINATES] = travel.start()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    travel = item.stash.get(_TRAVEL, None)
    if travel is not None:
        travel.stop()


_TRAVEL = pytest.StashKey[time_machine.travel]()
_COORDINATES = pytest.StashKey[time_machine.Traveller]()


@pytest.fixture
def clock(request):
    """The test's clock: `clock.move_to(when, tick=False)`, `clock.shift(seconds)`."""
    coordinates = request.node.stash.get(_COORDINATES, None)
    if coordinates is None:
        pytest.fail("browser tests run on the real clock")
    return coordinates


@pytest.fixture
def tree(db):
    return factories.build_tree()


@pytest.fixture
def command_user(tree):
    return factories.make_user("command", "command", tree.district)


@pytest.fixture
def street_user(tree):
    return factories.make_user("street", "street", tree.street)


@pytest.fixture
def worker_a(tree):
    """A community worker of community A."""
    return factories.make_user("worker_a", "community", tree.community_a)


@pytest.fixture
def worker_b(tree):
    """A community worker of community B."""
    return factories.make_user("worker_b", "community", tree.community_b)


@pytest.fixture
def volunteer(tree):
    return factories.make_user("volunteer", "worker", tree.community_a)


@pytest.fixture
def resident_a(tree):
    return factories.make_resident(tree.household_a1, "张三丰")


@pytest.fixture
def resident_b(tree):
    return factories.make_resident(tree.household_b1, "李四")


@pytest.fixture
def client_for(client):
    """`client_for(user)` logs the test client in as `user`."""

    def login(user):
        client.force_login(user)
        return client

    return login
