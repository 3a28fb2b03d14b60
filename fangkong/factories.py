"""Test data builders shared by every app's tests: a small district and its people.

The district is 431102 (Lingling, Yongzhou). Two communities, A and B, under one
street; each has a compound with two buildings. Personas hold real jurisdictions.
"""

import datetime as dt
import itertools
from dataclasses import dataclass

from fangkong.accounts.models import User
from fangkong.areas.models import Area, Household, Level
from fangkong.core.idnumbers import IdType, make_mainland
from fangkong.core.roles import Role
from fangkong.people.models import Residency, Resident
from fangkong.people.services import ResidentData, building_stats_refresh, resident_apply

REGION = "431102"
_sequence = itertools.count(100)


@dataclass
class Tree:
    district: Area
    street: Area
    community_a: Area
    community_b: Area
    compound_a: Area
    compound_b: Area
    building_a1: Area
    building_a2: Area
    building_b1: Area
    household_a1: Household
    household_a2: Household
    household_b1: Household


def area(code: str, name: str, parent: Area | None = None) -> Area:
    level = {6: 1, 9: 2, 12: 3, 15: 4, 18: 5}[len(code)]
    return Area.objects.create(code=code, name=name, level=Level(level), parent=parent)


def build_tree() -> Tree:
    district = area(REGION, "零陵区")
    street = area(f"{REGION}001", "南津街道", district)
    community_a = area(f"{REGION}001001", "东风社区", street)
    community_b = area(f"{REGION}001002", "西山社区", street)
    compound_a = area(f"{community_a.code}001", "幸福小区", community_a)
    compound_b = area(f"{community_b.code}001", "和平小区", community_b)
    building_a1 = area(f"{compound_a.code}001", "1号楼", compound_a)
    building_a2 = area(f"{compound_a.code}002", "2号楼", compound_a)
    building_b1 = area(f"{compound_b.code}001", "1号楼", compound_b)
    return Tree(
        district,
        street,
        community_a,
        community_b,
        compound_a,
        compound_b,
        building_a1,
        building_a2,
        building_b1,
        Household.objects.create(building=building_a1, unit="1", room="101"),
        Household.objects.create(building=building_a2, unit="2", room="202"),
        Household.objects.create(building=building_b1, unit="1", room="301"),
    )


def make_user(username: str, role: str, *areas: Area, resident: Resident | None = None) -> User:
    user = User.objects.create_user(username=username, password="pw", role=Role(role))
    if areas:
        user.areas.set(areas)
    if resident is not None:
        user.resident = resident
        user.save(update_fields=["resident"])
    return user


def new_id_number(birth: dt.date = dt.date(1980, 5, 17), region: str = REGION) -> str:
    return make_mainland(region, birth, next(_sequence) % 1000)


def make_resident(
    household: Household,
    name: str = "张三丰",
    *,
    birth: dt.date = dt.date(1980, 5, 17),
    id_number: str | None = None,
    phone: str = "13800138000",
    tags: int = 0,
    residency: str = Residency.PERMANENT,
) -> Resident:
    """A resident written directly (no actor, no audit): for arranging tests only."""
    from fangkong.core import idnumbers

    doc = idnumbers.parse(IdType.MAINLAND, id_number or new_id_number(birth))
    resident = Resident()
    resident_apply(
        resident,
        ResidentData(name=name, doc=doc, phone=phone, residency=residency, tags=tags),
        household,
    )
    resident.save()
    building_stats_refresh([household.area_code])
    return resident
