"""Relief in the demo district, made through the relief services as the people on the
ground would (after `fangkong seed`; `fangkong demo_relief`, run by `make demo`):

- two supply points in community A (one kept by the demo volunteer) and one in B, with
  arrivals and a donation; fever medicine low, so its keeper was warned;
- needs across the categories from households of communities A and B: the demo
  resident's own (an open medicine purchase and a delivered grocery order), others
  registered by community A's worker on residents' behalf; a dispatched batch (the
  grocery orders of one building to the volunteer); some delivered with the
  resident's code; a few overdue (an essential medicine two hours old, a gas cylinder
  five hours old, a dialysis transport) that the SLA watch has escalated;
- check-in schedules for the vulnerable of community A's first compound, most done
  today, one missed (its follow-up task in the queue); a dialysis patient's transports
  for the week; a round of care packages;
- the hotline: a lead (`hotline_lead`) and a counsellor on shift (`counsellor`), whose
  logins are added to .demo-logins; calls logged, one followed up, one high risk.

The times of a few needs are moved back after they are made (registration and deadline
together, as if asked hours ago), the only writes outside a service: the demo needs
overdue needs now, whatever the hour of `make demo`.
"""

import datetime as dt
import random
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from fangkong.accounts.services import user_create
from fangkong.areas.models import Area, Household, Level
from fangkong.core.actors import SYSTEM
from fangkong.core.errors import DomainError
from fangkong.core.roles import Role
from fangkong.people.seeding.users import DemoLogin, logins_read, logins_write
from fangkong.people.selectors import care_candidates

from . import services
from .models import CareSchedule, DispatchTeam, ReliefRequest, Status, Stock

OPEN_ASKS = [
    ("groceries", "normal", "米、面、鸡蛋"),
    ("medicine", "urgent", "降压药（苯磺酸氨氯地平）两盒"),
    ("gas_cylinder", "urgent", "煤气用完了，需要换一罐"),
    ("utility_topup", "normal", "电卡充值100元"),
    ("meals", "normal", "独居老人午餐"),
    ("study", "normal", "初三复习资料"),
    ("mobility_aids", "normal", "需要一副拐杖"),
    ("pets", "normal", "猫粮"),
    ("counselling", "normal", "封控后情绪低落"),
    ("transport_prenatal", "urgent", "孕32周产检"),
    ("prescription", "urgent", "胰岛素续方"),
    ("other", "normal", "水管漏水，需要联系物业"),
]


@dataclass
class DemoResult:
    created: bool
    counts: dict[str, int] = field(default_factory=dict)
    logins: list[str] = field(default_factory=list)


def _password() -> str:
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


def _user(username: str):
    return get_user_model().objects.filter(username=username).first()


def _backdate(need: ReliefRequest, hours: float) -> None:
    ReliefRequest.objects.filter(pk=need.pk).update(
        registered_at=F("registered_at") - dt.timedelta(hours=hours),
        deadline=F("deadline") - dt.timedelta(hours=hours),
    )
    need.events.update(at=F("at") - dt.timedelta(hours=hours))


def _households(community: Area, n: int, rng: random.Random) -> list[Household]:
    rows = list(
        Household.objects.filter(area_code__startswith=community.code).order_by("id")[: n * 4]
    )
    rng.shuffle(rows)
    return rows[:n]


def demo_relief(*, if_empty: bool = True, seed: int | None = None, logins_file: Path | None = None):
    if if_empty and ReliefRequest.objects.exists():
        return DemoResult(False)
    worker_a, volunteer = _user("community_a"), _user("volunteer")
    if worker_a is None or volunteer is None:
        raise DomainError(
            "请先生成演示区（fangkong seed）", "seed the demo district first (fangkong seed)"
        )
    rng = random.Random(seed if seed is not None else 10)
    result = DemoResult(True)
    with transaction.atomic():
        _run(result, rng, worker_a, volunteer)
    _write_logins(result, logins_file or settings.PROJECT_DIR / ".demo-logins")
    return result


def _run(result: DemoResult, rng: random.Random, worker_a, volunteer) -> None:
    n = result.counts
    community_a = worker_a.areas.filter(level=Level.COMMUNITY).first()
    worker_b = _user("community_b")
    community_b = worker_b.areas.filter(level=Level.COMMUNITY).first() if worker_b else None
    street = community_a.parent

    # Supply points and stock.
    point_a = services.supply_point_create(
        actor=worker_a,
        area=community_a,
        name=f"{community_a.name}物资点",
        address="社区服务中心一楼",
        keeper=volunteer,
    )
    point_a2 = services.supply_point_create(actor=worker_a, area=community_a, name="爱心超市临时点")
    for point, item, unit, qty, kind, source in [
        (point_a, "大米", "袋", 80, "arrival", "区商务局"),
        (point_a, "食用油", "桶", 40, "arrival", "区商务局"),
        (point_a, "蔬菜包", "份", 120, "donation", "本地农业合作社"),
        (point_a, "退烧药", "盒", 15, "arrival", "区卫健局"),
        (point_a, "口罩", "个", 500, "donation", "爱心企业"),
        (point_a2, "煤气罐", "罐", 6, "arrival", "燃气公司"),
        (point_a2, "牛奶", "箱", 30, "donation", "爱心企业"),
    ]:
        services.stock_receive(
            actor=worker_a,
            point=point,
            item=item,
            unit=unit,
            quantity=qty,
            kind=kind,
            source=source,
        )
    if community_b is not None:
        point_b = services.supply_point_create(
            actor=SYSTEM, area=community_b, name=f"{community_b.name}物资点"
        )
        services.stock_receive(
            actor=SYSTEM, point=point_b, item="大米", unit="袋", quantity=50, source="区商务局"
        )
    n["supply_points"] = 3 if community_b else 2

    # A team of community A.
    team_members = list(
        get_user_model()
        .objects.filter(role=Role.WORKER, areas=community_a)
        .exclude(pk=volunteer.pk)[:3]
    ) or [volunteer]
    team = services.team_create(
        actor=worker_a, community=community_a, name="第一配送组", members=team_members
    )

    # The demo resident's household.
    resident_user = _user("resident")
    if resident_user is not None and resident_user.resident_id:
        mine = services.request_register(
            actor=resident_user,
            category="medicine",
            detail="速效救心丸一瓶",
            client_id="demo-resident-1",
        ).request
        done = services.request_register(
            actor=resident_user,
            category="groceries",
            detail="蔬菜、鸡蛋",
            client_id="demo-resident-2",
        ).request
        services.request_dispatch(actor=worker_a, request=done, assignee=volunteer)
        services.request_pick_up(
            actor=volunteer,
            request=done,
            draws=[(Stock.objects.get(point=point_a, item="蔬菜包"), 1)],
        )
        services.request_deliver(actor=volunteer, request=done, code=done.confirm_code)
        _backdate(done, 20)
        n["resident_needs"] = 2 if mine else 1

    # Needs registered for residents of A (and B) by their workers.
    households = _households(community_a, 40, rng)
    made = []
    for i, household in enumerate(households[: len(OPEN_ASKS)]):
        category, urgency, detail = OPEN_ASKS[i]
        made.append(
            services.request_register(
                actor=worker_a,
                household=household,
                category=category,
                urgency=urgency,
                detail=detail,
                client_id=f"demo-a-{i}",
            ).request
        )
    if community_b is not None:
        for i, household in enumerate(_households(community_b, 6, rng)):
            category, urgency, detail = OPEN_ASKS[(i * 5) % len(OPEN_ASKS)]
            services.request_register(
                actor=worker_b,
                household=household,
                category=category,
                urgency=urgency,
                detail=detail,
                client_id=f"demo-b-{i}",
            )
    # Spread over the last hours; some delivered.
    for need in made:
        _backdate(need, rng.uniform(0.2, 3.0) if need.urgency != "normal" else rng.uniform(1, 20))
    for need in made[:4]:
        need.refresh_from_db()
        services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
        services.request_accept(actor=volunteer, request=need)
    for need in made[:2]:
        services.request_deliver(actor=volunteer, request=need, code=need.confirm_code)
    services.request_dispatch(actor=worker_a, request=made[4], team=team)

    # Overdue: an essential medicine, a gas cylinder, a dialysis transport.
    overdue_house = households[len(OPEN_ASKS) : len(OPEN_ASKS) + 3]
    for household, (category, urgency, detail, hours) in zip(
        overdue_house,
        [
            ("medicine", "critical", "心脏病药物已断，今早必须送到", 2),
            ("gas_cylinder", "urgent", "家中无法做饭", 5),
            ("transport_dialysis", "critical", "尿毒症患者今日透析", 1.5),
        ],
        strict=False,
    ):
        need = services.request_register(
            actor=worker_a,
            household=household,
            category=category,
            urgency=urgency,
            detail=detail,
            client_id=f"demo-overdue-{category}",
        ).request
        _backdate(need, hours)

    # A dispatched batch: the grocery orders of one building.
    building = households[-1].building
    batch_houses = list(Household.objects.filter(building=building).order_by("id")[:12])
    batch = [
        services.request_register(
            actor=worker_a,
            household=h,
            category="groceries",
            detail="团购蔬菜包",
            client_id=f"demo-batch-{h.pk}",
        ).request
        for h in batch_houses
    ]
    batch = [b for b in batch if b.status == Status.OPEN]
    if batch:
        services.requests_dispatch_batch(
            actor=worker_a, requests=batch, assignee=volunteer, note=f"{building.name}团购"
        )
    n["needs"] = ReliefRequest.objects.count()

    # Proactive care in the first compound of A.
    compound = (
        Area.objects.filter(parent=community_a, level=Level.COMPOUND).order_by("code").first()
    )
    if compound is None:
        raise DomainError("演示社区没有小区", "the demo community has no compound")
    counts = services.care_schedules_sync(actor=worker_a, area=compound)
    n["care_schedules"] = counts["created"]
    schedules = list(
        CareSchedule.objects.filter(area_code__startswith=compound.code).order_by("id")
    )
    for schedule in schedules[1:6]:
        services.checkin_record(
            actor=SYSTEM, schedule=schedule, outcome="well", note="电话联系，一切正常"
        )
    if schedules:
        missed = schedules[0]
        CareSchedule.objects.filter(pk=missed.pk).update(
            next_due_at=timezone.now() - dt.timedelta(hours=30)
        )
    dialysis = next(
        (c for c in care_candidates(community_a.code) if "regular_treatment" in c.tags), None
    )
    if dialysis is not None:
        services.treatment_plan_create(
            actor=worker_a,
            resident=dialysis.resident_id,
            category="transport_dialysis",
            weekdays=[0, 2, 4],
            pickup_time=dt.time(7, 0),
            destination="零陵区人民医院血透室",
        )
    services.care_packages_plan(
        actor=worker_a,
        area=compound,
        name="第一批爱心包",
        contents="米、油、蔬菜、口罩",
        planned_for=timezone.localdate(),
    )

    # The watch: escalations, the missed check-in, this week's transports.
    watched = services.sla_watch(actor=SYSTEM)
    n["escalated"] = watched.escalated
    n["missed_checkins"] = services.care_watch(actor=SYSTEM)
    n["transports"] = services.transports_schedule(actor=SYSTEM)

    # The hotline.
    lead = user_create(
        actor=SYSTEM,
        username="hotline_lead",
        password=None,
        role=Role.COMMUNITY,
        areas=[street],
        display_name=f"热线负责人（{street.name}）",
    )
    counsellor = user_create(
        actor=SYSTEM,
        username="counsellor",
        password=None,
        role=Role.WORKER,
        areas=[community_a],
        display_name="心理咨询志愿者",
    )
    result.logins += ["hotline_lead", "counsellor"]
    services.hotline_staff_add(actor=SYSTEM, user=lead, area=street, role="lead")
    services.hotline_staff_add(actor=SYSTEM, user=counsellor, area=street, role="counsellor")
    services.hotline_shift(actor=counsellor, on=True)
    first = services.ticket_open(
        actor=counsellor,
        area=street,
        topic="counselling",
        content="封控第十天，独居，晚上睡不着，担心老母亲的药",
        caller="刘女士",
    )
    services.ticket_note(
        actor=counsellor,
        ticket=first,
        text="已安抚，联系社区登记药品代购；明天回访",
        follow_up_at=timezone.now() + dt.timedelta(hours=16),
    )
    services.ticket_open(
        actor=lead, area=street, topic="help", content="询问核酸结果查询方式", caller=""
    )
    risky = services.ticket_open(
        actor=counsellor, area=street, topic="counselling", content="情绪激动，表达轻生念头"
    )
    services.ticket_set_risk(actor=counsellor, ticket=risky, risk="high", reason="表达轻生念头")
    n["hotline_tickets"] = 3
    n["teams"] = DispatchTeam.objects.count()


def _write_logins(result: DemoResult, path: Path) -> None:
    """Give the hotline demo users passwords and add them to the demo logins file."""
    if not result.logins:
        return
    known = logins_read(path)
    for username in result.logins:
        password = known.get(username) or _password()
        user = _user(username)
        user.set_password(password)
        user.save(update_fields=["password"])
        known[username] = password
    logins_write(path, [DemoLogin(u, p) for u, p in known.items()])
