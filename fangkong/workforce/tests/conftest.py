"""The workforce's test world: the shared district with map points, organs, skills, and
a few workers; personas for an organ's liaison and a team leader."""

import datetime as dt
import itertools
import uuid

import pytest

from fangkong.core.actors import SYSTEM
from fangkong.factories import make_user, new_id_number
from fangkong.workforce import services
from fangkong.workforce.models import AreaPoint, Organ, Skill

_phones = itertools.count(13900000000)
# Lingling: community A and B a few km apart; the district's point in between.
POINTS = {
    "district": (26.22, 111.62),
    "street": (26.22, 111.62),
    "community_a": (26.21, 111.60),
    "community_b": (26.24, 111.65),
}
SKILLS = [
    ("drive_c1", "driving", "驾驶C1", "Driving (C1)"),
    ("medical", "medical", "医护", "Medical"),
    ("sampling", "sampling", "采样证", "Sampling certificate"),
    ("english", "language", "英语", "English"),
    ("data_entry", "data_entry", "数据录入", "Data entry"),
]


def cid() -> str:
    return uuid.uuid4().hex


def phone() -> str:
    return str(next(_phones))


@pytest.fixture
def world(tree):
    for name, (lat, lon) in POINTS.items():
        area = getattr(tree, name)
        AreaPoint.objects.create(area=area, code=area.code, lat=lat, lon=lon)
    for code, kind, zh, en in SKILLS:
        Skill.objects.create(code=code, kind=kind, name_zh=zh, name_en=en)
    return tree


@pytest.fixture
def health(world):
    return Organ.objects.create(name="区卫健局")


@pytest.fixture
def education(world):
    return Organ.objects.create(name="区教育局")


def make_worker(
    community,
    name="王五",
    *,
    organ=None,
    skills=(),
    party=False,
    password="",
    nights=False,
    day_from=dt.time(7),
    day_until=dt.time(22),
    days=127,
    actor=SYSTEM,
    birth=dt.date(1985, 3, 4),
):
    data = services.worker_validate(
        name=name,
        id_number=new_id_number(birth),
        phone=phone(),
        home_community=community.code,
        organ=organ.pk if organ else None,
        party_member=party,
        skills=skills,
        nights=nights,
        day_from=day_from,
        day_until=day_until,
        days=days,
    )
    return services.worker_register(actor=actor, data=data, password=password)


@pytest.fixture
def cadre(world, health):
    """A cadre of the health bureau living in community A, with a login."""
    return make_worker(
        world.community_a,
        "赵六",
        organ=health,
        skills=["medical"],
        party=True,
        password="Wk7-pw-cadre1",
    )


@pytest.fixture
def cadre_b(world, education):
    """A cadre of the education bureau living in community B, with a login."""
    return make_worker(world.community_b, "钱七", organ=education, password="Wk7-pw-cadre2")


@pytest.fixture
def liaison(world, health):
    """The health bureau's liaison: a worker-role user linked to the organ."""
    user = make_user("liaison", "worker")
    services.liaison_link(actor=SYSTEM, user=user, organ=health)
    return user
