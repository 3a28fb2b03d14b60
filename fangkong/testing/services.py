"""Every write the testing domain allows: rounds, sites, channels, uploads, exemptions,
door-to-door tasks. Keyword-only, `actor=`, atomic, audited."""

import datetime as dt
from collections.abc import Iterable

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from fangkong.areas.models import Area, Household, Level, ZoneKind, common_ancestor_code
from fangkong.areas.selectors import ZoneMap
from fangkong.core.actors import user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict, DomainError
from fangkong.core.guards import require as _require
from fangkong.core.guards import require_area as _require_area
from fangkong.core.guards import required_reason as _reason
from fangkong.core.scoping import minimal_prefixes
from fangkong.people.models import Resident, Tag
from fangkong.testing.permissions import (
    can_close_home_task,
    can_exempt,
    can_manage_sites,
    can_plan_home_sampling,
    can_run_round,
    can_sample,
)

from . import ingest
from .conf import ingest_conf
from .ingest import zone_kind_at
from .models import (
    BuildingCoverage,
    Channel,
    EventStatus,
    Exemption,
    ExemptReason,
    FirstSample,
    HomeSamplingTask,
    RoundArea,
    RoundStatus,
    Sample,
    SamplingSite,
    SiteStatus,
    TaskKind,
    TaskStatus,
    TestingRound,
    Via,
)
from .policies import HOME_TASK_DEADLINE, POOL_SIZES
from .selectors import overlap

MAX_POOL = ingest.MAX_POOL


class Busy(DomainError):
    """The database could not take the upload in time; the device should retry."""

    code = "busy"


def _check_pools(pools: dict[str, int]) -> None:
    for name, size in pools.items():
        if not isinstance(size, int) or not 1 <= size <= MAX_POOL:
            raise DomainError(
                f"混采人数应在1到{MAX_POOL}之间",
                f"pool size must be between 1 and {MAX_POOL}",
                field=name,
            )


def _forget_cached() -> None:
    """This process's cached rounds and channels are stale now, and after commit."""
    ingest.forget_cached()
    transaction.on_commit(ingest.forget_cached)


# Rounds ---------------------------------------------------------------------------


@transaction.atomic
def round_launch(
    *,
    actor,
    name: str,
    areas: Iterable[Area],
    deadline: dt.datetime,
    starts_at: dt.datetime | None = None,
    pool_sealed: int | None = None,
    pool_controlled: int | None = None,
    pool_prevention: int | None = None,
    note: str = "",
) -> TestingRound:
    """Launch a round over areas. Expected counts per building are taken now (launch).

    Pool sizes not given come from the `testing.pool_sizes` policy in force at the start,
    for the round's areas; the round keeps the sizes and the policy's version."""
    _require(can_run_round(actor))
    name = (name or "").strip()
    if not name:
        raise DomainError("轮次名称为空", "the round needs a name", field="name")
    areas = list(areas)
    if not areas:
        raise DomainError("请选择检测范围", "choose the areas the round covers", field="areas")
    for area in areas:
        _require_area(actor, area.code)
    starts_at = starts_at or timezone.now()
    if deadline <= starts_at:
        raise DomainError(
            "截止时间须晚于开始时间", "the deadline must be after the start", field="deadline"
        )
    codes = minimal_prefixes(a.code for a in areas)
    rule = POOL_SIZES.at(starts_at, common_ancestor_code(codes))
    given = {"sealed": pool_sealed, "controlled": pool_controlled, "prevention": pool_prevention}
    pools = {
        f"pool_{zone}": size if size is not None else getattr(rule.value, zone)
        for zone, size in given.items()
    }
    _check_pools(pools)
    rnd = TestingRound.objects.create(
        name=name[:100],
        starts_at=starts_at,
        deadline=deadline,
        note=note,
        launched_by=user_of(actor),
        pool_policy_version=rule.version,
        **pools,
    )
    RoundArea.objects.bulk_create(
        RoundArea(round=rnd, area=a, area_code=a.code) for a in areas if a.code in codes
    )
    buildings = _coverage_snapshot(rnd, codes)
    _forget_cached()
    audit_record(
        actor=actor,
        event="testing.round_launch",
        target=rnd,
        area_code=codes[0] if len(codes) == 1 else "",
        detail={
            "areas": codes,
            "deadline": deadline.isoformat(),
            "buildings": buildings,
            **pools,
            "pool_policy_version": rule.version,
        },
    )
    return rnd


def _coverage_snapshot(rnd: TestingRound, codes: list[str]) -> int:
    """One coverage row per building of the round: expected = residents now.

    The residents come from the people app's per-building statistics (kept current by
    its services), so launching over a district of 10 million reads ~50,000 rows.
    """
    from fangkong.areas.models import BuildingStats

    area, stats, cover = (
        Area._meta.db_table,
        BuildingStats._meta.db_table,
        BuildingCoverage._meta.db_table,
    )
    where = " OR ".join(["a.code LIKE %s"] * len(codes))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {cover} (round_id, area_code, expected, sampled, exempt) "
            f"SELECT %s, a.code, COALESCE(s.residents, 0), 0, 0 FROM {area} a "
            f"LEFT JOIN {stats} s ON s.building_id = a.id "
            f"WHERE a.level = %s AND ({where})",
            [rnd.pk, int(Level.BUILDING), *[f"{c}%" for c in codes]],
        )
        return cursor.rowcount


@transaction.atomic
def round_edit(
    *,
    actor,
    round: TestingRound,
    reason: str,
    deadline: dt.datetime | None = None,
    pool_sealed: int | None = None,
    pool_controlled: int | None = None,
    pool_prevention: int | None = None,
) -> TestingRound:
    """Change the deadline or the pool-size rule of a round under way."""
    _require(can_run_round(actor))
    reason = _reason(reason)
    rnd = TestingRound.objects.select_for_update().get(pk=round.pk)
    if not rnd.is_active:
        raise DomainError("该轮次已结束", "this round is closed")
    changes = {}
    pools = {
        k: v
        for k, v in {
            "pool_sealed": pool_sealed,
            "pool_controlled": pool_controlled,
            "pool_prevention": pool_prevention,
        }.items()
        if v is not None
    }
    _check_pools(pools)
    if deadline is not None:
        if deadline <= rnd.starts_at:
            raise DomainError(
                "截止时间须晚于开始时间", "the deadline must be after the start", field="deadline"
            )
        pools["deadline"] = deadline
    for fname, value in pools.items():
        before = getattr(rnd, fname)
        if before != value:
            changes[fname] = [str(before), str(value)]
            setattr(rnd, fname, value)
    if changes:
        rnd.save(update_fields=list(changes))
        _forget_cached()
        audit_record(
            actor=actor, event="testing.round_edit", target=rnd, reason=reason, detail=changes
        )
    return rnd


@transaction.atomic
def round_close(*, actor, round: TestingRound, reason: str) -> TestingRound:
    """Close a round. Samples taken before now that arrive later are still accepted."""
    _require(can_run_round(actor))
    reason = _reason(reason)
    rnd = TestingRound.objects.select_for_update().get(pk=round.pk)
    if not rnd.is_active:
        raise DomainError("该轮次已结束", "this round is closed")
    rnd.status, rnd.closed_at, rnd.closed_by, rnd.close_reason = (
        RoundStatus.CLOSED,
        timezone.now(),
        actor,
        reason,
    )
    rnd.save(update_fields=["status", "closed_at", "closed_by", "close_reason"])
    audit_record(actor=actor, event="testing.round_close", target=rnd, reason=reason)
    _forget_cached()
    return rnd


# Sites and channels --------------------------------------------------------------


@transaction.atomic
def site_create(
    *,
    actor,
    area: Area,
    name: str,
    address: str = "",
    opens_at: dt.time | None = None,
    closes_at: dt.time | None = None,
    channels: int = 1,
) -> SamplingSite:
    _require(can_manage_sites(actor))
    _require_area(actor, area.code)
    name = (name or "").strip()
    if not name:
        raise DomainError("采样点名称为空", "the site needs a name", field="name")
    if area.level == Level.DISTRICT:
        raise DomainError(
            "采样点应属于街道或以下区域",
            "a site belongs to a street or an area below",
            field="area",
        )
    if not 0 <= channels <= 50:
        raise DomainError("通道数应在0到50之间", "between 0 and 50 channels", field="channels")
    if SamplingSite.objects.filter(area=area, name=name).exists():
        raise Conflict(f"采样点“{name}”已存在", f"a site named {name} exists here", field="name")
    site = SamplingSite.objects.create(
        area=area,
        name=name[:100],
        address=(address or "").strip()[:200],
        opens_at=opens_at,
        closes_at=closes_at,
    )
    for number in range(1, channels + 1):
        Channel.objects.create(site=site, name=str(number))
    _forget_cached()
    audit_record(
        actor=actor,
        event="testing.site_create",
        target=site,
        area_code=site.area_code,
        detail={"channels": channels},
    )
    return site


def _status(status: str) -> str:
    if status not in SiteStatus.values:
        raise DomainError("状态无效", "unknown status", field="status")
    return status


@transaction.atomic
def site_set_status(*, actor, site: SamplingSite, status: str, reason: str = "") -> SamplingSite:
    """Open, pause or close a site. Devices stop offering it; uploads already taken
    there are still accepted (the swabs exist)."""
    _require(can_manage_sites(actor))
    _require_area(actor, site.area_code)
    status = _status(status)
    if site.status == status:
        return site
    before, site.status = site.status, status
    site.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        event="testing.site_status",
        target=site,
        area_code=site.area_code,
        reason=(reason or "").strip(),
        detail={"from": before, "to": status},
    )
    return site


@transaction.atomic
def channel_add(*, actor, site: SamplingSite, name: str = "") -> Channel:
    _require(can_manage_sites(actor))
    _require_area(actor, site.area_code)
    name = (name or "").strip()
    if not name:
        numbers = [int(n) for n in site.channels.values_list("name", flat=True) if n.isdigit()]
        name = str(max(numbers, default=0) + 1)
    if site.channels.filter(name=name).exists():
        raise Conflict(f"通道“{name}”已存在", f"channel {name} exists", field="name")
    channel = Channel.objects.create(site=site, name=name[:50])
    _forget_cached()
    audit_record(actor=actor, event="testing.channel_add", target=channel, area_code=site.area_code)
    return channel


@transaction.atomic
def channel_set_status(*, actor, channel: Channel, status: str) -> Channel:
    _require(can_manage_sites(actor))
    _require_area(actor, channel.area_code)
    status = _status(status)
    if channel.status != status:
        before, channel.status = channel.status, status
        channel.save(update_fields=["status"])
        audit_record(
            actor=actor,
            event="testing.channel_status",
            target=channel,
            area_code=channel.area_code,
            detail={"from": before, "to": status},
        )
    return channel


# Uploads ---------------------------------------------------------------------------


def samples_upload(
    *, actor, device_id: str, events: list[ingest.Event], device_time: dt.datetime | None = None
) -> list[ingest.Result]:
    """Store an upload from a sampling device; one result per event (see the ingest package).

    Not audited row by row: every stored sample names its device and sampler, and every
    refusal is kept as an UploadEvent. On PostgreSQL the transaction carries a
    statement and a lock timeout, so a swamped database answers Busy (503) quickly.
    """
    _require(can_sample(actor))
    conf = ingest_conf()
    if len(events) > conf.max_events:
        raise DomainError(
            f"一次最多上传{conf.max_events}条",
            f"at most {conf.max_events} events in one upload",
            field="events",
        )
    try:
        with transaction.atomic():
            return ingest.ingest(
                actor=actor,
                device_id=device_id,
                events=events,
                timeouts=(conf.statement_ms, conf.lock_ms),
                device_time=device_time,
            )
    except OperationalError as exc:  # timeouts, deadlocks, a lost connection
        raise Busy("服务器繁忙，请稍后重试", "the server is busy; retry later") from exc
    except IntegrityError:
        # Two uploads raced on the same new row in a way the statements could not
        # absorb; the retry sees the winner's rows and answers as a replay.
        raise Busy("请重试", "please retry") from None


# Exemptions ------------------------------------------------------------------------


def _lives_in(rnd: TestingRound, code: str) -> bool:
    return any(code.startswith(a) for a in rnd.round_areas.values_list("area_code", flat=True))


def _counter(rnd_id: int, code: str, *, exempt: int) -> None:
    BuildingCoverage.objects.filter(round_id=rnd_id, area_code=code).update(
        exempt=F("exempt") + exempt
    )


@transaction.atomic
def exemption_grant(
    *, actor, round: TestingRound, resident: Resident, reason: str, note: str = ""
) -> Exemption:
    """Record that a person is not expected in a round (away, in hospital, isolated)."""
    _require(can_exempt(actor))
    _require_area(actor, resident.area_code)
    if reason not in ExemptReason.values:
        raise DomainError("免采原因无效", "unknown reason for exemption", field="reason")
    note = (note or "").strip()
    if not round.is_active:
        raise DomainError("该轮次已结束", "this round is closed")
    if not _lives_in(round, resident.area_code):
        raise DomainError(
            "该居民不在本轮检测范围内", "this resident lives outside the round's areas"
        )
    if FirstSample.objects.filter(round=round, resident=resident).exists():
        raise Conflict("该居民本轮已采样", "this resident has been sampled in this round")
    if Exemption.objects.current().filter(round=round, resident=resident).exists():
        raise Conflict("该居民本轮已免采", "this resident is already exempt in this round")
    try:
        with transaction.atomic():
            exemption = Exemption.objects.create(
                round=round,
                resident=resident,
                area_code=resident.area_code,
                reason=reason,
                note=note,
                granted_by=user_of(actor),
            )
    except IntegrityError:
        raise Conflict(
            "该居民本轮已免采", "this resident is already exempt in this round"
        ) from None
    _counter(round.pk, resident.area_code, exempt=1)
    audit_record(
        actor=actor,
        event="testing.exemption_grant",
        target=resident,
        area_code=resident.area_code,
        reason=f"{ExemptReason(reason).label}: {note}" if note else str(ExemptReason(reason).label),
        detail={"round": round.pk, "exemption": exemption.pk, "reason": reason},
    )
    return exemption


@transaction.atomic
def exemption_end(*, actor, exemption: Exemption, reason: str) -> Exemption:
    """End an exemption (the person is back): they are expected again."""
    _require(can_exempt(actor))
    _require_area(actor, exemption.area_code)
    reason = _reason(reason)
    ex = Exemption.objects.select_for_update().get(pk=exemption.pk)
    if ex.ended_at is not None:
        raise DomainError("该免采已结束", "this exemption has already ended")
    ex.ended_at, ex.ended_by, ex.end_reason = timezone.now(), actor, reason
    ex.save(update_fields=["ended_at", "ended_by", "end_reason"])
    _counter(ex.round_id, ex.area_code, exempt=-1)
    audit_record(
        actor=actor,
        event="testing.exemption_end",
        target=ex.resident,
        area_code=ex.area_code,
        reason=reason,
        detail={"round": ex.round_id, "exemption": ex.pk},
    )
    return ex


# Door-to-door ----------------------------------------------------------------------


def sealed_buildings(codes: list[str]) -> list[str]:
    """Buildings under `codes` whose zone in force (the most specific active one) is SEALED."""
    zones = ZoneMap()
    sealed_roots = zones.codes_of(ZoneKind.SEALED)
    roots = overlap(codes, minimal_prefixes(sealed_roots))
    found = []
    buildings = Area.objects.filter(level=Level.BUILDING)
    for root in roots:
        for code in buildings.filter(code__startswith=root).values_list("code", flat=True):
            if zones.kind_at(code) == ZoneKind.SEALED:
                found.append(code)
    return sorted(set(found))


@transaction.atomic
def home_task_deadline(round: TestingRound, area_code: str = "") -> dt.datetime:
    """When a task made now is due: the policy's hours from now, never past the round."""
    hours = HOME_TASK_DEADLINE.at(area_code=area_code).value.hours
    return min(timezone.now() + dt.timedelta(hours=hours), round.deadline)


def home_tasks_generate(*, actor, round: TestingRound, area: Area | None = None) -> dict[str, int]:
    """Make the door-to-door tasks of a round within the actor's jurisdiction (or `area`):
    every household of a sealed building, every bedridden resident elsewhere. Running it
    again adds only what is new (a building sealed since, a newly bedridden person)."""
    _require(can_plan_home_sampling(actor))
    if not round.is_active:
        raise DomainError("该轮次已结束", "this round is closed")
    scope = actor.scope_prefixes() if actor is not None else [""]
    if area is not None:
        _require_area(actor, area.code)
        scope = [area.code]
    codes = overlap(list(round.round_areas.values_list("area_code", flat=True)), scope)
    due = home_task_deadline(round, min(codes, default=""))
    sealed = sealed_buildings(codes)
    existing = HomeSamplingTask.objects.filter(round=round)
    have_households = set(
        existing.filter(resident__isnull=True).values_list("household_id", flat=True)
    )
    have_residents = set(
        existing.filter(resident__isnull=False).values_list("resident_id", flat=True)
    )
    tasks = [
        HomeSamplingTask(
            round=round,
            kind=TaskKind.SEALED_HOUSEHOLD,
            household_id=pk,
            area_code=code,
            due_at=due,
            created_by=user_of(actor),
        )
        for start in range(0, len(sealed), 500)
        for pk, code in Household.objects.filter(area_code__in=sealed[start : start + 500])
        .values_list("id", "area_code")
        .iterator()
        if pk not in have_households
    ]
    HomeSamplingTask.objects.bulk_create(tasks, ignore_conflicts=True)
    sealed_set = set(sealed)
    bedridden = []
    for code in codes:
        for rid, hid, home in (
            Resident.objects.within(code)
            .with_tag(Tag.BEDRIDDEN)
            .values_list("id", "household_id", "area_code")
            .iterator()
        ):
            if home not in sealed_set and rid not in have_residents:
                bedridden.append((rid, hid, home))
    done = set(
        FirstSample.objects.filter(
            round=round, resident_id__in=[b[0] for b in bedridden]
        ).values_list("resident_id", flat=True)
    ) | set(
        Exemption.objects.current()
        .filter(round=round, resident_id__in=[b[0] for b in bedridden])
        .values_list("resident_id", flat=True)
    )
    bedridden_tasks = [
        HomeSamplingTask(
            round=round,
            kind=TaskKind.BEDRIDDEN,
            household_id=hid,
            resident_id=rid,
            area_code=home,
            due_at=due,
            created_by=user_of(actor),
        )
        for rid, hid, home in bedridden
        if rid not in done
    ]
    HomeSamplingTask.objects.bulk_create(bedridden_tasks, ignore_conflicts=True)
    counts = {"sealed_households": len(tasks), "bedridden": len(bedridden_tasks)}
    audit_record(
        actor=actor,
        event="testing.home_tasks_generate",
        target=round,
        area_code=area.code if area is not None else "",
        detail={**counts, "areas": codes, "sealed_buildings": len(sealed)},
    )
    return counts


@transaction.atomic
def home_task_create(
    *, actor, round: TestingRound, resident: Resident, kind: str = TaskKind.ISOLATED, note: str = ""
) -> HomeSamplingTask:
    """A door-to-door task for one person (isolated at home, bedridden, or a recall's
    single-tube resample)."""
    _require(can_plan_home_sampling(actor))
    _require_area(actor, resident.area_code)
    if kind not in (TaskKind.ISOLATED, TaskKind.BEDRIDDEN, TaskKind.RESAMPLE):
        raise DomainError("任务类型无效", "unknown task kind", field="kind")
    if not round.is_active:
        raise DomainError("该轮次已结束", "this round is closed")
    if not _lives_in(round, resident.area_code):
        raise DomainError(
            "该居民不在本轮检测范围内", "this resident lives outside the round's areas"
        )
    task, made = HomeSamplingTask.objects.get_or_create(
        round=round,
        resident=resident,
        defaults={
            "kind": kind,
            "household_id": resident.household_id,
            "area_code": resident.area_code,
            "due_at": home_task_deadline(round, resident.area_code),
            "note": (note or "").strip(),
            "created_by": user_of(actor),
        },
    )
    if made:
        audit_record(
            actor=actor,
            event="testing.home_task_create",
            target=resident,
            area_code=resident.area_code,
            reason=task.note,
            detail={"round": round.pk, "task": task.pk, "kind": kind},
        )
    return task


@transaction.atomic
def home_tasks_assign(
    *,
    actor,
    tasks: Iterable[HomeSamplingTask],
    team=None,
    team_name: str = "",
    due_at: dt.datetime | None = None,
) -> int:
    """Give open tasks (usually a building's) to a person (the team's leader, a user who
    may close tasks there) with, if given, a new deadline; a team name may go beside."""
    _require(can_plan_home_sampling(actor))
    tasks = [t for t in tasks if t.status == TaskStatus.OPEN]
    for t in tasks:
        _require_area(actor, t.area_code)
    if team is None:
        raise DomainError("请选择负责人", "choose the person who does them", field="team")
    if not can_close_home_task(team):
        raise DomainError(
            "该用户不能执行入户采样", "this user cannot do door-to-door tasks", field="team"
        )
    ends = TestingRound.objects.filter(pk__in={t.round_id for t in tasks})
    if due_at is not None and tasks and due_at > max(ends.values_list("deadline", flat=True)):
        raise DomainError(
            "期限不能晚于本轮截止时间", "the deadline cannot be after the round's", field="due_at"
        )
    if not team.may_see_area(min(t.area_code for t in tasks) if tasks else ""):
        raise DomainError(
            "该小组负责人无权查看这些楼栋",
            "the team leader cannot see these buildings",
            field="team",
        )
    changes = {"team": team, "team_name": (team_name or "").strip()[:100]}
    if due_at is not None:
        changes["due_at"] = due_at
    updated = HomeSamplingTask.objects.filter(pk__in=[t.pk for t in tasks]).update(**changes)
    if updated:
        audit_record(
            actor=actor,
            event="testing.home_tasks_assign",
            target_label=team_name or str(team),
            area_code=min(t.area_code for t in tasks),
            detail={
                "tasks": [t.pk for t in tasks],
                "team": getattr(team, "pk", None),
                "due_at": due_at.isoformat() if due_at else None,
            },
        )
    return updated


def home_task_members(task: HomeSamplingTask) -> list[Resident]:
    """Who a task is for: its resident, or the household's residents (by id)."""
    if task.resident_id is not None:
        return [task.resident]
    return list(Resident.objects.filter(household_id=task.household_id).order_by("id"))


def home_task_due(task: HomeSamplingTask) -> list[Resident]:
    """The task's people not yet sampled in the round nor exempt from it."""
    members = home_task_members(task)
    ids = [m.pk for m in members]
    done = set(
        FirstSample.objects.filter(round_id=task.round_id, resident_id__in=ids).values_list(
            "resident_id", flat=True
        )
    ) | set(
        Exemption.objects.current()
        .filter(round_id=task.round_id, resident_id__in=ids)
        .values_list("resident_id", flat=True)
    )
    return [m for m in members if m.pk not in done]


def _task_tubes(task: HomeSamplingTask) -> set[str]:
    """Barcodes of the tubes this task's closings used."""
    return set(
        Sample.objects.filter(
            round_id=task.round_id, client_id__startswith=f"home:{task.pk}:"
        ).values_list("tube__barcode", flat=True)
    )


def home_task_close(
    *,
    actor,
    task: HomeSamplingTask,
    tube: str,
    residents: Iterable[Resident] | None = None,
    at: dt.datetime | None = None,
) -> HomeSamplingTask:
    """Record one tube of a task: its samples go in through the upload path.

    A tube takes at most the round's pool size for the area: a household in a sealed
    building (single tubes) is closed one tube a person, and the task stays open until
    everyone due is sampled or exempt. `residents` defaults to the next people due, as
    many as the tube takes. The samples' client ids are made from the task and the
    person, and a tube this task already used is a retry: closing again (a double tap,
    a lost answer) stores nothing twice.
    """
    _require(can_close_home_task(actor))
    _require_area(actor, task.area_code)
    tube = (tube or "").strip()
    if task.status == TaskStatus.CANCELLED:
        raise DomainError("该任务已取消", "this task was cancelled")
    if tube in _task_tubes(task):
        return task
    if task.status == TaskStatus.DONE:
        raise Conflict("该任务已完成", "this task is already done")
    rnd = task.round
    pool = rnd.pool_size_for(zone_kind_at(task.area_code))
    due = home_task_due(task)
    if residents is None:
        residents = due[:pool]
    else:
        residents = list(residents)
        allowed = {m.pk for m in home_task_members(task)}
        if any(r.pk not in allowed for r in residents):
            raise DomainError(
                "所选居民不属于该任务",
                "a chosen resident is not part of this task",
                field="residents",
            )
        if len(residents) > pool:
            raise DomainError(
                f"此处每管最多 {pool} 人，请分管采样",
                f"a tube here takes at most {pool}: use one tube for each {pool}",
                field="residents",
            )
    if not residents:
        raise DomainError("没有需要采样的居民", "nobody left to sample for this task")
    at = at or timezone.now()
    events = [
        ingest.Event(
            client_id=f"home:{task.pk}:{r.pk}",
            type="sample",
            at=at,
            round=rnd.pk,
            tube=tube,
            pool_size=pool,
            resident_id=r.pk,
            via=Via.HOME,
        )
        for r in residents
    ]
    with transaction.atomic():
        results = ingest.ingest(
            actor=actor, device_id=f"home-task-{task.pk}", events=events, home_area=task.area_code
        )
        refused = [r for r in results if r.status == EventStatus.REJECTED]
        if refused:
            first = refused[0]
            raise DomainError(first.message_zh, first.message, field="tube")
        from .models import Tube

        task.tube = Tube.objects.get(round_id=rnd.pk, barcode=tube)
        fields = ["tube"]
        if not home_task_due(task):
            task.status, task.closed_at, task.closed_by = TaskStatus.DONE, timezone.now(), actor
            fields += ["status", "closed_at", "closed_by"]
        task.save(update_fields=fields)
        audit_record(
            actor=actor,
            event="testing.home_task_close",
            target_label=f"task {task.pk}",
            area_code=task.area_code,
            detail={
                "round": rnd.pk,
                "task": task.pk,
                "tube": tube,
                "residents": [r.pk for r in residents],
                "done": task.status == TaskStatus.DONE,
            },
        )
    return task


@transaction.atomic
def home_task_cancel(*, actor, task: HomeSamplingTask, reason: str) -> HomeSamplingTask:
    _require(can_plan_home_sampling(actor))
    _require_area(actor, task.area_code)
    reason = _reason(reason)
    if task.status != TaskStatus.OPEN:
        raise DomainError("只能取消待办任务", "only a task still to do can be cancelled")
    task.status, task.closed_at, task.closed_by = TaskStatus.CANCELLED, timezone.now(), actor
    task.note = f"{task.note}\n{reason}".strip()
    task.save(update_fields=["status", "closed_at", "closed_by", "note"])
    audit_record(
        actor=actor,
        event="testing.home_task_cancel",
        target_label=f"task {task.pk}",
        area_code=task.area_code,
        reason=reason,
        detail={"round": task.round_id, "task": task.pk},
    )
    return task
