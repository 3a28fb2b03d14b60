"""The workforce of the demo district, made through the workforce's services as the
people on the ground would make it (`fangkong demo_workforce`, a step of `make demo`):

- map points for the district, its streets and communities (the area tree has none);
- the organs (区委办, 区卫健局 …) and the skills vocabulary;
- a few hundred workers (cadres of the organs and volunteers), most reported in at a
  community and confirmed by it; the seed's `volunteer` and `cadre_*` logins become
  workers too;
- in the seed's community A: teams of 1 + 2 and a temporary party branch; posts (a
  checkpoint round the clock, a sampling-order post, a delivery team) with shifts from
  yesterday to tomorrow, someone checked in now and one no-show flagged;
- open staffing requests across the district, a run allocation of them (confirmed),
  more requests left open, and an open call-out;
- demo logins, added to .demo-logins: `liaison_health` (区卫健局's liaison),
  `team_leader` (a team leader of community A) and the seed's `volunteer`.

Everything happens in one transaction: a failed run leaves nothing behind.
"""

import datetime as dt
import hashlib
import random
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.accounts.services import user_create
from fangkong.areas.models import Area, Level
from fangkong.core.actors import SYSTEM
from fangkong.core.errors import DomainError
from fangkong.core.idnumbers import make_mainland
from fangkong.core.roles import Role
from fangkong.people.seeding.data import DISTRICT_CODE, ORGANS
from fangkong.people.seeding.users import DemoLogin, logins_read, logins_write

from . import services
from .models import Organ, Shift, Skill, Worker
from .services.enrolment import enrollment_open

CENTRE = (26.22, 111.62)  # Lingling
MORE_ORGANS = ["区委办", "区公安分局", "区市场监管局", "区文旅广体局", "区城管局"]
SKILLS = [
    ("drive_c1", "driving", "驾驶（C1）", "Driving (C1)"),
    ("drive_b2", "driving", "驾驶（B2货车）", "Driving (B2, lorry)"),
    ("medical", "medical", "医护", "Medical"),
    ("sampling", "sampling", "核酸采样证", "Nucleic-acid sampling certificate"),
    ("english", "language", "英语", "English"),
    ("sign_language", "language", "手语", "Sign language"),
    ("data_entry", "data_entry", "数据录入", "Data entry"),
    ("counselling", "counselling", "心理疏导", "Counselling"),
    ("lifting", "lifting", "搬运", "Heavy lifting"),
    ("dialect", "dialect", "零陵话", "Lingling dialect"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐蒋邓欧阳"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
    "霞",
    "平",
    "刚",
    "丽",
    "华",
    "鹏",
    "辉",
    "玲",
    "斌",
    "俊",
    "婷",
    "宇",
    "浩",
    "凯",
    "琳",
]


def _point(code: str) -> tuple[float, float]:
    """A stable place near the district's centre for an area code."""
    h = hashlib.sha256(code.encode()).digest()
    spread = {6: 0.0, 9: 0.08, 12: 0.03}.get(len(code), 0.01)
    return (
        round(CENTRE[0] + (h[0] - 128) / 128 * spread, 5),
        round(CENTRE[1] + (h[1] - 128) / 128 * spread, 5),
    )


def _name(rng: random.Random) -> str:
    surname = "欧阳" if rng.random() < 0.02 else rng.choice(SURNAMES[:-2])
    return surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def demo_workforce(*, if_empty: bool = True, workers: int = 300) -> str:
    if if_empty and Worker.objects.exists():
        return "The workforce has workers already; nothing to do."
    district = Area.objects.filter(code=DISTRICT_CODE).first()
    if district is None:
        raise DomainError("请先生成演示辖区（fangkong seed）", "seed the demo district first")
    with transaction.atomic():
        summary, logins = _build(district, workers)
    path = Path(settings.PROJECT_DIR) / ".demo-logins"
    if path.exists() and logins:
        known = logins_read(path)
        known.update({x.username: x.password for x in logins})
        logins_write(path, [DemoLogin(u, p) for u, p in known.items()])
    return summary


def _build(district: Area, count: int) -> tuple[str, list[DemoLogin]]:
    rng = random.Random(20221123)
    now = timezone.now()
    areas = list(
        Area.objects.filter(code__startswith=district.code, level__lte=Level.COMMUNITY).order_by(
            "code"
        )
    )
    for area in areas:
        lat, lon = _point(area.code)
        services.area_point_set(actor=SYSTEM, area=area, lat=lat, lon=lon)
    communities = [a for a in areas if a.level == Level.COMMUNITY]
    community_a, community_b = communities[0], communities[1]
    organs = [
        services.organ_create(actor=SYSTEM, name=n)
        for n in MORE_ORGANS[:1] + [o for _, o in ORGANS] + MORE_ORGANS[1:]
    ]
    for code, kind, zh, en in SKILLS:
        services.skill_create(actor=SYSTEM, code=code, kind=kind, name_zh=zh, name_en=en)
    # Nobody knows sign language: its request shows a seat left empty, and why.
    skill_codes = [s[0] for s in SKILLS if s[0] != "sign_language"]

    # Workers: cadres of the organs (two in three) and volunteers; a third in community A.
    made: list[Worker] = []
    for i in range(count):
        home = community_a if i % 3 == 0 else rng.choice(communities)
        organ = rng.choice(organs) if i % 3 != 2 else None
        birth = dt.date(1965 + rng.randrange(37), 1 + rng.randrange(12), 1 + rng.randrange(28))
        data = services.worker_validate(
            name=_name(rng),
            id_number=make_mainland("431102", birth, 500 + i % 499),
            phone=f"139{74000000 + i:08d}",
            home_community=home.code,
            organ=organ.pk if organ else None,
            party_member=rng.random() < 0.45,
            skills=rng.sample(skill_codes, rng.choice((0, 1, 1, 2, 3))),
            nights=rng.random() < 0.4,
            day_from=dt.time(7),
            day_until=dt.time(22),
        )
        try:
            made.append(services.worker_register(actor=SYSTEM, data=data))
        except DomainError:
            continue  # an ID number drawn twice
    # Most report in at home (a few stranded elsewhere) and are confirmed.
    for i, w in enumerate(made):
        if i % 10 == 9:
            continue
        where = w.home_community if i % 17 else rng.choice(communities)
        enrollment_open(
            actor=SYSTEM,
            worker=w,
            community=where,
            via="choice",
            client_id=f"demo-{w.pk}",
            at=now - dt.timedelta(minutes=rng.randrange(600)),
        )
    for c in communities:
        services.enrollments_confirm_all(actor=SYSTEM, community=c)
    # A few report in this morning and wait.
    for w in made[9::50]:
        enrollment_open(
            actor=SYSTEM,
            worker=w,
            community=community_b,
            via="choice",
            client_id=f"demo-late-{w.pk}",
        )

    # Logins: the seed's volunteer becomes a worker; a liaison and a team leader.
    logins: list[DemoLogin] = []
    health = Organ.objects.get(name="区卫健局")
    pool_a = list(
        Worker.objects.filter(
            area_code=community_a.code, user__isnull=True, status="available"
        ).order_by("id")
    )
    leader_worker = next(x for x in pool_a if x.organ_id is not None)
    pool_a.remove(leader_worker)
    leader_worker.user = _login(
        "team_leader", f"{leader_worker.name}（第1组组长）", community_a, logins
    )
    leader_worker.save(update_fields=["user"])
    volunteer_worker = next(x for x in pool_a if x.organ_id is None)
    pool_a.remove(volunteer_worker)
    volunteer = User.objects.filter(username="volunteer", role=Role.WORKER).first()
    if volunteer is not None and not Worker.objects.filter(user=volunteer).exists():
        volunteer_worker.user = volunteer
        volunteer_worker.save(update_fields=["user"])
    liaison = _login("liaison_health", "区卫健局联络员", district, logins)
    services.liaison_link(actor=SYSTEM, user=liaison, organ=health)

    # Teams of 1 + 2 and a party branch in community A.
    teams = [
        services.team_create(
            actor=SYSTEM,
            community=community_a,
            name="第1组",
            leader=leader_worker,
            members=[volunteer_worker, pool_a.pop(0)],
        )
    ]
    for n in range(2, 6):
        trio, pool_a = pool_a[:3], pool_a[3:]
        if len(trio) == 3:
            teams.append(
                services.team_create(
                    actor=SYSTEM,
                    community=community_a,
                    name=f"第{n}组",
                    leader=trio[0],
                    members=trio[1:],
                )
            )
    party = list(
        Worker.objects.filter(area_code=community_a.code, party_member=True).order_by("id")[:8]
    )
    compound = (
        Area.objects.filter(parent=community_a, level=Level.COMPOUND).order_by("code").first()
        or community_a
    )
    if len(party) >= 2:
        services.branch_create(
            actor=SYSTEM,
            area=compound,
            name=f"{compound.name}临时党支部",
            secretary=party[0],
            members=party[1:],
        )

    # Requests across the district, an allocation of them, more left open.
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    skills = {s.code: s for s in Skill.objects.all()}

    def ask(area, n, kind, **kw):
        return services.request_file(
            actor=SYSTEM,
            area=area,
            count=n,
            post_kind=kind,
            first_day=tomorrow,
            last_day=tomorrow + dt.timedelta(days=kw.pop("days", 3)),
            hours_from=kw.pop("start", dt.time(8)),
            hours_until=kw.pop("end", dt.time(18)),
            **kw,
        )

    for i, c in enumerate(communities[:8]):
        ask(c, 4 + i % 3, "checkpoint")
        ask(c, 2, "sampling_order", required_skill=skills["sampling"])
    ask(
        community_b,
        3,
        "delivery",
        required_skill=skills["drive_b2"],
        preferred_skill=skills["lifting"],
    )
    ask(community_b, 2, "hotline", required_skill=skills["sign_language"])
    ask(community_a, 4, "checkpoint", start=dt.time(22), end=dt.time(6))
    run = services.allocation_run(actor=SYSTEM, area=district)
    services.allocation_confirm(actor=SYSTEM, run=run)
    for c in communities[:4]:
        ask(c, 5, "door_to_door", preferred_skill=skills["medical"])

    # Posts with shifts from yesterday to tomorrow; someone on duty now, one no-show.
    today = timezone.localdate()
    gate = services.post_create(
        actor=SYSTEM,
        area=compound,
        name=f"{compound.name}东门卡口",
        kind="checkpoint",
        pattern="3x8",
        team=teams[0],
    )
    site = services.post_create(
        actor=SYSTEM,
        area=community_a,
        name="社区核酸点排队引导",
        kind="sampling_order",
        pattern="day",
        heads=2,
    )
    delivery = services.post_create(
        actor=SYSTEM, area=community_a, name="物资配送队", kind="delivery", pattern="2x12", heads=2
    )
    # A rota from yesterday: the gate by its team (rota builder); the others from the
    # teams' members in turn.
    crew = [m.worker for t in teams for m in t.members.select_related("worker").order_by("id")]
    services.rota_build(actor=SYSTEM, posts=[gate], first_day=today - dt.timedelta(days=1), days=3)
    others = (site, delivery)
    k = 0
    for post in others:
        rows = []
        for start, end in services.pattern_slots(post, today - dt.timedelta(days=1), 3):
            rows.append((start, end, crew[k % len(crew)]))
            k += 1
        services.shifts_create(actor=SYSTEM, post=post, slots=rows)
    # Those on a shift now have checked in at its start (their phones' uploads) ...
    on_now = Shift.objects.filter(starts_at__lte=now, ends_at__gt=now, worker__isnull=False)
    checked_in = 0
    for shift in on_now.select_related("post", "worker"):
        event = services.DutyEvent(
            f"demo-in-{shift.pk}",
            "in",
            max(shift.starts_at, now - dt.timedelta(days=6)),
            code=services.post_code(actor=SYSTEM, post=shift.post),
        )
        [result] = services.attendance_upload(actor=SYSTEM, worker=shift.worker, events=[event])
        checked_in += result.status == "accepted"
    # ... but one, on an extra shift at the gate that began 20 minutes ago, has not.
    absent = next(
        w
        for w in Worker.objects.filter(
            area_code=community_a.code, status="available", user__isnull=True
        ).order_by("-id")
        if not Shift.objects.filter(worker=w).exists()
    )
    begun = now - dt.timedelta(minutes=20)
    services.shifts_create(
        actor=SYSTEM, post=gate, slots=[(begun, begun + dt.timedelta(hours=8), absent)]
    )
    no_shows = services.no_shows_flag(actor=SYSTEM)

    services.callout_post(
        actor=SYSTEM,
        area=community_a,
        place=f"{compound.name}3号楼（转运协助）",
        lat=_point(community_a.code)[0],
        lon=_point(community_a.code)[1],
        needed=4,
        note="需搬运物资，请就近响应",
    )
    _set_passwords(logins)
    summary = (
        f"Workforce: {len(made)} workers ({Worker.objects.filter(organ__isnull=False).count()} cadres), "
        f"{len(teams)} teams, 1 party branch; run {run.filled if run else 0}/{run.seats if run else 0} "
        f"seats placed; {checked_in} on duty now, {no_shows} no-show(s) flagged; 1 open call-out. "
        f"Logins: {', '.join(x.username for x in logins)} and the seed's volunteer."
    )
    return summary, logins


def _login(username: str, display: str, area: Area, logins: list[DemoLogin]) -> User:
    user = User.objects.filter(username=username).first() or user_create(
        actor=SYSTEM,
        username=username,
        password=None,
        role=Role.WORKER,
        areas=[area],
        display_name=display,
    )
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    logins.append(DemoLogin(username, "".join(secrets.choice(alphabet) for _ in range(10))))
    return user


def _set_passwords(logins: list[DemoLogin]) -> None:
    for login in logins:
        User.objects.filter(username=login.username).update(password=make_password(login.password))
