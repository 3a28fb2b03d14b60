"""Demo users, one or more for every role, holding real jurisdictions in the district.

Passwords are random, made at seed time and kept only in a git-ignored file at the
repository root (`.demo-logins`), which `fangkong demo_logins` prints.

There is no Worker model yet, so a dispatched cadre's government organ is written in
the user's display name ("李敏（区卫健局）").
"""

import json
import os
import random
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from django.contrib.auth.hashers import make_password

from fangkong.accounts.models import User
from fangkong.accounts.services import password_check, user_create
from fangkong.areas.models import Area, Level
from fangkong.areas.services import grid_create
from fangkong.core.actors import SYSTEM
from fangkong.core.roles import Role
from fangkong.people.models import Resident, years_ago

from . import data
from .population import GIVEN, SURNAMES
from .tree import Plan

GRID_BUILDINGS = 6


@dataclass
class DemoLogin:
    username: str
    password: str


def _person(rng: random.Random) -> str:
    sex = rng.choice("MF")
    return SURNAMES.pick(rng) + rng.choice(GIVEN["mid", sex])


def _password() -> str:
    # Letters and digits only, easy to type from the console; 10 characters ≈ 59 bits.
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


def demo_users_create(plan: Plan, rng: random.Random) -> list[DemoLogin]:
    """Make the demo users; return their logins (the only copy of the passwords)."""
    street_plan = plan.district.children[0]
    community_a_plan, community_b_plan = street_plan.children[:2]
    codes = [plan.district.code, street_plan.code, community_a_plan.code, community_b_plan.code]
    areas = {a.code: a for a in Area.objects.filter(code__in=codes)}
    district, street = areas[plan.district.code], areas[street_plan.code]
    community_a, community_b = areas[community_a_plan.code], areas[community_b_plan.code]
    buildings_a = list(
        Area.objects.filter(code__startswith=community_a.code, level=Level.BUILDING).order_by(
            "code"
        )
    )
    grid_buildings = buildings_a[:GRID_BUILDINGS]
    led = buildings_a[-1] if len(buildings_a) > GRID_BUILDINGS else buildings_a[0]

    logins: list[DemoLogin] = []

    def make(username, role, display_name, areas=()):
        # Made without a password; all are hashed together at the end (see below).
        user = user_create(
            actor=SYSTEM,
            username=username,
            password=None,
            role=role,
            areas=list(areas),
            display_name=display_name,
        )
        logins.append(DemoLogin(username, _password()))
        return user

    make("command", Role.COMMAND, f"{district.name}疫情防控指挥部", [district])
    make("street", Role.STREET, f"{street.name}办事处 {_person(rng)}", [street])
    make("community_a", Role.COMMUNITY, f"{_person(rng)}（{community_a.name}）", [community_a])
    make("community_b", Role.COMMUNITY, f"{_person(rng)}（{community_b.name}）", [community_b])
    grid_keeper = make("grid", Role.GRID, f"{_person(rng)}（{community_a.name}网格员）")
    grid_create(
        actor=SYSTEM,
        community=community_a,
        name="第一网格",
        keeper=grid_keeper,
        buildings=grid_buildings,
    )
    compound = Area.objects.get(code=led.code[:15])
    make("building", Role.BUILDING, f"{_person(rng)}（{compound.name}{led.name}楼栋长）", [led])
    for i, (key, organ) in enumerate(data.ORGANS):
        community = (community_a, community_b)[i % 2]
        make(
            f"cadre_{key}",
            Role.WORKER,
            f"{_person(rng)}（{organ}，下沉{community.name}）",
            [community],
        )
    make("volunteer", Role.WORKER, f"{_person(rng)}（志愿者，{community_a.name}）", [community_a])
    make("sampler", Role.SAMPLER, f"{_person(rng)}（{community_a.name}采样点）", [community_a])
    make("lab", Role.LAB, "永州市第三方医学检验实验室", [district])
    make("inspector", Role.INSPECTOR, f"{_person(rng)}（区督查组）", [district])
    me = (
        Resident.objects.within(community_a)
        .filter(birth_date__lte=years_ago(18), id_type="ID")
        .order_by("id")
        .first()
    )
    resident = make("resident", Role.RESIDENT, me.name)
    resident.resident = me
    resident.save(update_fields=["resident"])
    _set_passwords(logins)
    return logins


def _set_passwords(logins: list[DemoLogin]) -> None:
    """Hash the passwords a thread a core: the hasher takes a good part of a second each
    and lets go of the GIL meanwhile."""
    users = User.objects.in_bulk([x.username for x in logins], field_name="username")
    for login in logins:  # random, but held to the same rules as any password
        password_check(login.password, users[login.username])
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        hashes = list(pool.map(make_password, [x.password for x in logins]))
    for login, hashed in zip(logins, hashes, strict=True):
        User.objects.filter(username=login.username).update(password=hashed)


def logins_write(path: Path, logins: list[DemoLogin]) -> None:
    """Write the passwords, readable by the owner only."""
    text = json.dumps(
        {"district": data.DISTRICT_CODE, "logins": [asdict(x) for x in logins]},
        ensure_ascii=False,
        indent=1,
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")


def logins_read(path: Path) -> dict[str, str]:
    """username -> password, from the file the seed wrote ({} if there is none)."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return {x["username"]: x["password"] for x in payload.get("logins", [])}


def demo_table(passwords: dict[str, str]) -> list[tuple[str, str, str, str, str]]:
    """(username, role, display name, jurisdiction, password) of every demo user there is."""
    users = User.objects.filter(username__in=passwords).prefetch_related("areas", "kept_grids")
    by_name = {u.username: u for u in users}
    rows = []
    for username, password in passwords.items():
        user = by_name.get(username)
        if user is None:
            continue
        held = [a.name for a in user.areas.all()] + [g.name for g in user.kept_grids.all()]
        if user.resident_id:
            held.append(str(user.resident.household))
        rows.append(
            (username, str(user.get_role_display()), user.display_name, "、".join(held), password)
        )
    return rows
