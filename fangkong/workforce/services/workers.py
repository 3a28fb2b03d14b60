"""Workers: the registry (organs, skills, map points, liaisons), registration, the
full numbers, status changes (sick, quarantined, released)."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.accounts.services import user_create
from fangkong.areas.models import Area, Level, ancestor_codes
from fangkong.core import idnumbers
from fangkong.core.actors import System, is_system, user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict, DomainError, PermissionDenied
from fangkong.core.guards import authorize, required_reason
from fangkong.core.idnumbers import IdNumberError, IdType
from fangkong.core.phones import normalize_phone
from fangkong.core.roles import Role
from fangkong.core.text import clean_name
from fangkong.people.selectors import resident_by_id_hash

from ..jurisdiction import liaison_organ_id, require_liaison_or_office, require_worker_in_reach
from ..models import (
    ALL_DAYS,
    QUARANTINE,
    AreaPoint,
    EnrollmentVia,
    Organ,
    OrganLiaison,
    Skill,
    StatusChange,
    Worker,
    WorkerKind,
    WorkerStatus,
    worker_id_hash,
)
from ..permissions import (
    can_enrol,
    can_manage_registry,
    can_read_workers,
    can_report_in,
    can_reveal_worker_pii,
    can_set_status,
)

# The registry ----------------------------------------------------------------------------


@transaction.atomic
def organ_create(*, actor, name: str) -> Organ:
    authorize(actor, can_manage_registry)
    name = clean_name(name)
    if not name:
        raise DomainError("单位名称为空", "the organ's name is empty", field="name")
    organ, created = Organ.objects.get_or_create(name=name)
    if created:
        audit_record(actor=actor, event="workforce.organ_create", target=organ)
    return organ


@transaction.atomic
def skill_create(*, actor, code: str, kind: str, name_zh: str, name_en: str) -> Skill:
    authorize(actor, can_manage_registry)
    skill, created = Skill.objects.get_or_create(
        code=code, defaults={"kind": kind, "name_zh": name_zh, "name_en": name_en}
    )
    if created:
        audit_record(actor=actor, event="workforce.skill_create", target=skill)
    return skill


@transaction.atomic
def area_point_set(*, actor, area: Area, lat: float, lon: float) -> AreaPoint:
    """Where an area lies on the map (for distances); workers there move with it."""
    authorize(actor, can_manage_registry)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise DomainError("坐标超出范围", "coordinates out of range", field="lat")
    point, _ = AreaPoint.objects.update_or_create(
        area=area, defaults={"code": area.code, "lat": lat, "lon": lon}
    )
    Worker.objects.filter(area_code=area.code).update(lat=lat, lon=lon)
    audit_record(
        actor=actor,
        event="workforce.point_set",
        target=area,
        area_code=area.code,
        detail={"lat": lat, "lon": lon},
    )
    return point


def point_for(code: str) -> tuple[float, float] | None:
    """The map point of an area, or of its nearest ancestor that has one."""
    points = dict(
        (p.code, (p.lat, p.lon)) for p in AreaPoint.objects.filter(code__in=ancestor_codes(code))
    )
    for c in sorted(points, key=len, reverse=True):
        return points[c]
    return None


@transaction.atomic
def liaison_link(*, actor, user: User, organ: Organ) -> OrganLiaison:
    """Make a worker-role user the liaison of an organ."""
    authorize(actor, can_manage_registry)
    if user.role != Role.WORKER:
        raise DomainError(
            "联络员须为下沉干部/志愿者账号", "a liaison must be a worker account", field="user"
        )
    link, _ = OrganLiaison.objects.update_or_create(user=user, defaults={"organ": organ})
    audit_record(
        actor=actor,
        event="workforce.liaison_link",
        target=link,
        detail={"user": user.username, "organ": organ.name},
    )
    return link


# Registration -----------------------------------------------------------------------------


@dataclass
class WorkerData:
    """A registration, validated by `worker_validate`."""

    name: str
    doc: idnumbers.IdDocument
    phone: str
    home_community: Area
    organ: Organ | None = None
    party_member: bool = False
    skills: list[Skill] = field(default_factory=list)
    days: int = ALL_DAYS
    day_from: dt.time = dt.time(7, 0)
    day_until: dt.time = dt.time(22, 0)
    nights: bool = False

    @property
    def kind(self) -> str:
        return WorkerKind.CADRE if self.organ is not None else WorkerKind.VOLUNTEER


def _community(code: str, field_name: str) -> Area:
    area = Area.objects.filter(code=(code or "").strip(), level=Level.COMMUNITY).first()
    if area is None:
        raise DomainError(
            f"社区{code or '（空）'}不存在",
            f"there is no community {code or '(empty)'}",
            field=field_name,
        )
    return area


def skills_by_code(codes) -> list[Skill]:
    codes = sorted({c.strip() for c in codes if c and c.strip()})
    found = list(Skill.objects.filter(code__in=codes))
    missing = sorted(set(codes) - {s.code for s in found})
    if missing:
        raise DomainError(
            f"技能{'、'.join(missing)}不在技能表中",
            f"unknown skill(s): {', '.join(missing)}",
            field="skills",
        )
    return found


class WorkerInvalid(DomainError):
    """Every bad field of a registration at once: `problems`, one DomainError a field
    (the message joins them; `field` is the first's)."""

    def __init__(self, problems: list[DomainError]):
        super().__init__(
            "；".join(p.zh for p in problems),
            "; ".join(p.en for p in problems),
            field=problems[0].field,
        )
        self.problems = problems


class _Problems:
    """Collects each field's DomainError instead of stopping at the first."""

    def __init__(self) -> None:
        self.found: list[DomainError] = []

    def check(self, read: Callable[..., Any], *args: Any) -> Any:
        try:
            return read(*args)
        except DomainError as exc:
            self.found.append(exc)
            return None


def _name(name: str) -> str:
    name = clean_name(name)
    if not name:
        raise DomainError("姓名为空", "name is empty", field="name")
    if len(name) > 100:
        raise DomainError("姓名过长", "name is too long", field="name")
    return name


def _document(id_type: str, id_number: str) -> idnumbers.IdDocument:
    try:
        return idnumbers.parse(id_type, id_number)
    except IdNumberError as exc:
        raise DomainError(exc.zh, exc.en, field="id_number") from None


def _phone(phone: str) -> str:
    try:
        phone = normalize_phone(phone)
    except IdNumberError as exc:
        raise DomainError(exc.zh, exc.en, field="phone") from None
    if not phone:
        raise DomainError("手机号为空", "phone is empty", field="phone")
    return phone


def _organ(organ: int | None) -> Organ | None:
    if not organ:
        return None
    found = Organ.objects.filter(pk=organ, active=True).first()
    if found is None:
        raise DomainError("派出单位不存在", "no such organ", field="organ")
    return found


def _days(days: int) -> int:
    if not 0 < days <= ALL_DAYS:
        raise DomainError("请至少选择一天", "choose at least one day", field="days")
    return int(days)


def _hours(day_from: dt.time, day_until: dt.time) -> None:
    if day_until <= day_from:
        raise DomainError(
            "可服务时段的结束须晚于开始", "the hours must end after they start", field="day_until"
        )


def worker_validate(
    *,
    name: str,
    id_number: str,
    phone: str,
    home_community: str,
    id_type: str = IdType.MAINLAND,
    organ: int | None = None,
    party_member: bool = False,
    skills=(),
    days: int = ALL_DAYS,
    day_from: dt.time | None = None,
    day_until: dt.time | None = None,
    nights: bool = False,
) -> WorkerData:
    """Check and normalise a registration; WorkerInvalid (a DomainError) names every bad
    field, not just the first."""
    problems = _Problems()
    # Wall-clock hours in the deployment's zone: an offset a client sends says nothing.
    day_from = (day_from or dt.time(7, 0)).replace(tzinfo=None)
    day_until = (day_until or dt.time(22, 0)).replace(tzinfo=None)
    data: dict[str, Any] = {
        "name": problems.check(_name, name),
        "doc": problems.check(_document, id_type, id_number),
        "phone": problems.check(_phone, phone),
        "organ": problems.check(_organ, organ),
        "days": problems.check(_days, days),
        "home_community": problems.check(_community, home_community, "home_community"),
        "skills": problems.check(skills_by_code, skills),
    }
    problems.check(_hours, day_from, day_until)
    if problems.found:
        raise WorkerInvalid(problems.found)
    return WorkerData(
        **data,
        party_member=bool(party_member),
        day_from=day_from,
        day_until=day_until,
        nights=bool(nights),
    )


COMPARED = (
    "name",
    "phone_hash",
    "organ_id",
    "party_member",
    "home_code",
    "days",
    "day_from",
    "day_until",
    "nights",
)


def _apply(worker: Worker, data: WorkerData) -> list[str]:
    """Copy `data` onto `worker`; the names of the fields that changed (skills too)."""
    from fangkong.core import pii

    before = {f: getattr(worker, f) for f in COMPARED} if worker.pk else {}
    worker.name = data.name
    worker.kind = data.kind
    if not worker.pk:
        worker.set_id_number(data.doc)
    if pii.lookup_hash("phone", data.phone) != worker.phone_hash:
        worker.set_phone(data.phone)
    worker.organ = data.organ
    worker.party_member = data.party_member
    moved = worker.home_code != data.home_community.code
    worker.home_community = data.home_community
    worker.home_code = data.home_community.code
    if not worker.pk or (moved and not worker.enrollments.open().exists()):
        worker.area_code = worker.home_code
        worker.lat, worker.lon = point_for(worker.area_code) or (None, None)
    worker.days, worker.day_from, worker.day_until = data.days, data.day_from, data.day_until
    worker.nights = data.nights
    changed = [f for f in COMPARED if before.get(f, object()) != getattr(worker, f)]
    if worker.pk:
        if {s.pk for s in worker.skills.all()} != {s.pk for s in data.skills}:
            changed.append("skills")
    elif data.skills:
        changed.append("skills")
    return changed


def _link_resident(worker: Worker) -> None:
    """A worker who is also a resident is linked to that record, never duplicated."""
    resident = resident_by_id_hash(worker.id_hash)
    worker.resident_id = resident.pk if resident is not None else None


def _save_worker(worker: Worker, data: WorkerData, changed: list[str]) -> None:
    if not worker.pk or worker.resident_id is None:
        _link_resident(worker)
    worker.save()
    if "skills" in changed:
        worker.skills.set(data.skills)


@transaction.atomic
def worker_register(
    *,
    actor,
    data: WorkerData,
    enrol_at: Area | None = None,
    password: str = "",
    client_id: str = "",
) -> Worker:
    """A new worker (themself on the public page, an office, an organ's liaison). One
    worker per ID number: a known number is refused, telling nothing of the record.
    `enrol_at`: a stranded worker reports in where they are at once. `password`: make
    the worker a login (user name: the phone number)."""
    authorize(actor, can_enrol)
    require_liaison_or_office(actor)
    organ = liaison_organ_id(actor)
    if organ is not None and (data.organ is None or data.organ.pk != organ):
        raise PermissionDenied(
            "联络员只能登记本单位人员", "a liaison registers the organ's own staff only"
        )
    if not is_system(actor) and actor.role != Role.WORKER:
        # An office registers the people who live, or are stranded, in its areas.
        authorize(actor, area=(enrol_at or data.home_community).code)
    key = worker_id_hash(data.doc.type, data.doc.number)
    known = Worker.objects.select_for_update().filter(id_hash=key).first()
    if known is not None and password and _may_claim(known, data):
        # Enrolled by their organ: the worker takes their login with the same phone.
        worker_account_create(actor=actor, worker=known, password=password)
        return known
    if known is not None:
        raise Conflict(
            "该证件号已登记为下沉干部/志愿者；请直接登录，或联系派出单位",
            "this ID number is registered already; log in, or ask your organ",
            field="id_number",
        )
    worker = Worker()
    changed = _apply(worker, data)
    _save_worker(worker, data, changed)
    if password:
        worker_account_create(actor=actor, worker=worker, password=password)
    audit_record(
        actor=actor,
        event="workforce.worker_create",
        target=worker,
        area_code=worker.home_code,
        detail={
            "organ": data.organ.name if data.organ else "",
            "resident": bool(worker.resident_id),
        },
    )
    if enrol_at is not None:
        from .enrolment import enrollment_open

        enrollment_open(
            actor=actor,
            worker=worker,
            community=enrol_at,
            via=EnrollmentVia.REGISTRATION,
            client_id=client_id or f"register:{worker.pk}",
        )
    return worker


@transaction.atomic
def worker_update(*, actor, worker: Worker, data: WorkerData, reason: str = "") -> list[str]:
    """Change a worker's details (the ID number is the identity and never changes)."""
    authorize(actor, can_enrol)
    require_worker_in_reach(actor, worker)
    if worker_id_hash(data.doc.type, data.doc.number) != worker.id_hash:
        raise DomainError(
            "证件号码不能修改", "the document number cannot change", field="id_number"
        )
    changed = _apply(worker, data)
    if changed:
        _save_worker(worker, data, changed)
        audit_record(
            actor=actor,
            event="workforce.worker_update",
            target=worker,
            area_code=worker.area_code,
            reason=reason,
            detail={"fields": changed},
        )
    return changed


def _may_claim(worker: Worker, data: WorkerData) -> bool:
    """A worker enrolled by others, with no login yet, registering with the phone number
    on their record, gets a login to it (nothing else of the record changes)."""
    from fangkong.core import pii

    return worker.user_id is None and worker.phone_hash == pii.lookup_hash("phone", data.phone)


def worker_account_create(*, actor, worker: Worker, password: str) -> User:
    """A login of role WORKER for the worker; the user name is their phone number. The
    password meets the project's rules (accounts.services.password_check)."""
    if worker.user_id:
        raise Conflict("该人员已有账号", "this worker has a login already", field="password")
    username = worker.phone()
    if User.objects.filter(username=username).exists():
        raise Conflict(
            "该手机号已有账号，请直接登录",
            "an account with this phone number exists; log in",
            field="phone",
        )
    # An organ's liaison (a worker) may not grant roles; the login is made in the name of
    # the registration it comes with.
    maker = (
        System(f"liaison:{actor.username}") if getattr(actor, "role", "") == Role.WORKER else actor
    )
    user = user_create(
        actor=maker,
        username=username,
        password=password,
        role=Role.WORKER,
        display_name=worker.name,
        areas=[worker.home_community],
    )
    worker.user = user
    worker.save(update_fields=["user"])
    return user


@transaction.atomic
def worker_reveal(*, actor, worker: Worker, reason: str) -> dict[str, str]:
    """A worker's full ID and phone numbers, with a reason; always audited."""
    authorize(actor, can_reveal_worker_pii)
    reason = required_reason(reason)
    require_worker_in_reach(actor, worker)
    audit_record(
        actor=actor,
        event="workforce.worker_reveal",
        target=worker,
        area_code=worker.area_code,
        reason=reason,
    )
    return {"id_number": worker.id_number(), "phone": worker.phone()}


# Status: sick, quarantined, released -------------------------------------------------------


@transaction.atomic
def worker_set_status(
    *,
    actor,
    worker: Worker,
    status: str,
    reason: str,
    until: dt.datetime | None = None,
) -> StatusChange:
    """Record a worker unavailable (sick, quarantined as a close or secondary contact,
    other) until a time, or available again; who and why are kept. Unavailable: their
    shifts from now until then open and replacements are proposed (substitution)."""
    reason = required_reason(reason)
    status = WorkerStatus(status)
    own = worker.user_id is not None and getattr(actor, "pk", None) == worker.user_id
    if own and not is_system(actor):
        # A worker reports themself sick or otherwise unavailable; quarantine and release
        # are recorded by an office.
        authorize(actor, can_report_in)
        if status not in (WorkerStatus.SICK, WorkerStatus.OTHER):
            raise PermissionDenied("隔离状态须由社区登记", "a community records quarantine")
    else:
        authorize(actor, can_set_status)
        require_worker_in_reach(actor, worker)
    now = timezone.now()
    if status != WorkerStatus.AVAILABLE:
        if until is None:
            raise DomainError("请填写结束时间", "give the end date", field="until")
        if until <= now:
            raise DomainError("结束时间须在将来", "the end must lie ahead", field="until")
    else:
        until = None
    before = worker.status
    worker.status, worker.status_until = status, until
    worker.save(update_fields=["status", "status_until"])
    change = _status_recorded(actor, worker, before, status, reason, until, now)
    if status != WorkerStatus.AVAILABLE and until is not None:  # (until is given then)
        from .duty import shifts_open_for

        shifts_open_for(actor=actor, worker=worker, until=until, reason=reason)
    return change


@transaction.atomic
def statuses_expire(*, actor, now: dt.datetime | None = None) -> int:
    """Workers whose unavailability has ended are available again (the watcher runs it)."""
    now = now or timezone.now()
    done = 0
    for worker in Worker.objects.exclude(status=WorkerStatus.AVAILABLE).filter(
        status_until__lte=now
    ):
        # Claimed one by one: two watchers never release the same worker twice.
        claimed = Worker.objects.filter(pk=worker.pk, status=worker.status).update(
            status=WorkerStatus.AVAILABLE, status_until=None
        )
        if not claimed:
            continue
        reason = "到期自动恢复 / ended as recorded"
        _status_recorded(actor, worker, worker.status, WorkerStatus.AVAILABLE, reason, None, now)
        done += 1
    return done


def _status_recorded(actor, worker, before, status, reason, until, now) -> StatusChange:
    """The status change on record (who, why, until when) and in the audit log."""
    change = StatusChange.objects.create(
        worker=worker,
        status=status,
        reason=reason,
        until=until,
        by=user_of(actor),
        by_name=actor.username,
        at=now,
    )
    audit_record(
        actor=actor,
        event="workforce.worker_status_set",
        target=worker,
        area_code=worker.area_code,
        reason=reason,
        detail={
            "from": before,
            "to": status,
            "until": until.isoformat() if until else None,
            "quarantine": status in QUARANTINE,
        },
    )
    return change


def workers_visible(actor):
    """The workers the actor may see (the services' and views' one entry)."""
    authorize(actor, can_read_workers)
    return Worker.objects.for_user(actor)
