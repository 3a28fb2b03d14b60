"""The pinned clock every test runs on, and the browser tests' setup: Playwright drives
Debian's Chromium (its own download cannot work here)."""

import datetime as dt
import os

import pytest
import time_machine

# Every test runs on this clock, so none depends on the day it runs: 18:00 in Shanghai,
# the afternoon of a testing day. Time moves on from it (tick), so durations still pass;
# a test that needs an exact instant moves the `clock` itself. The clock is set before
# the test's fixtures (module-scoped ones included) are made. The live server of a
# browser test runs in this process and shares the clock; the browser's own clock is
# set to the same instant (`phone_page`).
PINNED_NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
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
    return request.node.stash[_COORDINATES]


CHROMIUM = os.environ.get("FANGKONG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def phone_page(browser, live_server):
    """A page in a phone-sized window (360 × 740, touch), Chinese first."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        base_url=live_server.url,
    )
    # CI machines run the suite beside other work: waits are generous, a real hang still fails.
    context.set_default_timeout(60_000)
    page = context.new_page()
    # The page's clock starts where the server's is (the pinned clock) and runs on.
    from django.utils import timezone

    page.clock.install(time=timezone.now())
    yield page
    context.close()
