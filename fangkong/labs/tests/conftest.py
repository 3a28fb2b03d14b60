"""A round under way with a site in each community and a positive pool in each."""

import pytest

from fangkong.labs import services

from .helpers import make_lab, make_round, make_site, make_tube, people, row


@pytest.fixture
def lab(tree):
    return make_lab(tree)


@pytest.fixture
def rnd(tree):
    return make_round(tree)


@pytest.fixture
def channel(tree):
    return make_site(tree.compound_a)[1][0]


@pytest.fixture
def channel_b(tree):
    return make_site(tree.compound_b, "西山采样点")[1][0]


@pytest.fixture
def recalled(tree, rnd, channel, channel_b, lab):
    """Positive pools: PA1 (3 people of building A1), PB1 (2 people of building B1)."""
    a = people(tree.household_a1, 3, "甲")
    b = people(tree.household_b1, 2, "乙")
    make_tube(rnd, channel, "PA1", a)
    make_tube(rnd, channel_b, "PB1", b)
    services.results_import(actor=lab, rows=[row("PA1", "positive"), row("PB1", "positive")])
    return a, b
