"""Relief personas on the shared district (fangkong/factories.py): a resident of
community A with an account, a volunteer and a grid worker of A, a community worker of
B; a need helper."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from fangkong.core.messaging import MemoryBackend
from fangkong.factories import make_user
from fangkong.relief import services

SHANGHAI_DAY = dt.date(2026, 11, 23)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture(autouse=True)
def _outbox():
    MemoryBackend.outbox.clear()
    yield
    MemoryBackend.outbox.clear()


@pytest.fixture
def asker(resident_a):
    """The account of 张三丰 (household A1)."""
    return make_user("res_a", "resident", resident=resident_a)


@pytest.fixture
def asker_b(resident_b):
    return make_user("res_b", "resident", resident=resident_b)


@pytest.fixture
def grid_a(tree):
    from fangkong.areas.services import grid_create
    from fangkong.core.actors import SYSTEM

    keeper = make_user("grid_a", "grid")
    grid_create(
        actor=SYSTEM,
        community=tree.community_a,
        name="一网格",
        keeper=keeper,
        buildings=[tree.building_a1, tree.building_a2],
    )
    return keeper


@pytest.fixture
def hotline(tree, street_user):
    """The street's hotline: its lead, and two counsellors (of communities A and B)."""
    lead = make_user("hl_lead", "community", tree.street)
    c1 = make_user("counsellor1", "worker", tree.community_a)
    c2 = make_user("counsellor2", "worker", tree.community_b)
    services.hotline_staff_add(actor=street_user, user=lead, area=tree.street, role="lead")
    services.hotline_staff_add(actor=street_user, user=c1, area=tree.street)
    services.hotline_staff_add(actor=street_user, user=c2, area=tree.street)
    return lead, c1, c2


@pytest.fixture
def held(settings):
    """Policies and categories held in memory, as a server process holds them."""
    from fangkong.core.policies import forget_cached
    from fangkong.relief import categories

    forget_cached()
    categories.forget()
    settings.POLICY_CACHE_SECONDS = 60
    yield
    forget_cached()
    categories.forget()


def ask(user, category="medicine", **kwargs):
    kwargs.setdefault("client_id", uuid.uuid4().hex)
    return services.request_register(actor=user, category=category, **kwargs)
