"""Reporting in (报到): a worker at a community, by its printed code or by choice; the
community confirms or declines."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from fangkong.areas.models import Area, Level
from fangkong.core import signing
from fangkong.core.actors import user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict, DomainError, NotFound
from fangkong.core.guards import authorize, required_reason
from fangkong.core.notifications import Recipient, notify

from ..jurisdiction import worker_of
from ..models import OPEN_ENROLLMENT, Enrollment, EnrollmentStatus, EnrollmentVia, Worker
from ..permissions import can_confirm_enrollment, can_report_in
from ..policies import DUTY
from .workers import point_for

CODE_KIND = "community"


def community_code(*, actor, community: Area) -> str:
    """The community's report-in code to print (signed, offline-verifiable, expiring)."""
    authorize(actor, can_confirm_enrollment, area=community.code)
    if community.level != Level.COMMUNITY:
        raise DomainError("只有社区有报到码", "only a community has a report-in code")
    days = DUTY.at(area_code=community.code).value.report_in_code_days
    return signing.sign(
        CODE_KIND,
        signing.opaque_id(CODE_KIND, community.pk),
        valid_days=days,
        claims={"n": community.name},
    )


def community_of_code(text: str) -> Area:
    """The community a valid report-in code names; CodeError (bilingual) otherwise."""
    code = signing.verify(text, kind=CODE_KIND)
    community = Area.objects.filter(
        pk=signing.id_of(CODE_KIND, code.subject), level=Level.COMMUNITY
    ).first()
    if community is None:
        raise NotFound("码中的社区不存在", "the code's community does not exist", field="code")
    return community


def _mine(actor) -> Worker:
    worker = worker_of(actor)
    if worker is None:
        raise NotFound(
            "您的账号未关联下沉干部/志愿者登记", "your login is not linked to a worker record"
        )
    return worker


def enrollment_open(
    *, actor, worker: Worker, community: Area, via: str, client_id: str, at=None
) -> tuple[Enrollment, bool]:
    """Open a report-in (the callers authorize). A replay of `client_id` answers the
    stored one; reporting in where one is already open changes nothing; elsewhere, the
    open one is left."""
    stored = Enrollment.objects.filter(client_id=client_id).first()
    if stored is not None:
        if stored.worker_id != worker.pk:
            raise Conflict("客户端编号已被占用", "client_id is taken", field="client_id")
        return stored, False
    current = (
        Enrollment.objects.select_for_update()
        .filter(worker=worker, status__in=OPEN_ENROLLMENT)
        .first()
    )
    if current is not None and current.community_id == community.pk:
        return current, False
    now = timezone.now()
    if current is not None:
        current.status, current.decided_at = EnrollmentStatus.LEFT, now
        current.reason = f"改到{community.name}报到"[:200]
        current.save(update_fields=["status", "decided_at", "reason"])
    try:
        with transaction.atomic():
            enrollment = Enrollment.objects.create(
                worker=worker,
                community=community,
                area_code=community.code,
                organ_id=worker.organ_id,
                via=via,
                client_id=client_id,
                reported_at=at or now,
            )
    except IntegrityError:
        # The same client id arrived twice at once: the other request stored it.
        stored = Enrollment.objects.filter(client_id=client_id, worker=worker).first()
        if stored is None:
            raise
        return stored, False
    worker.area_code = community.code
    worker.lat, worker.lon = point_for(community.code) or (worker.lat, worker.lon)
    worker.save(update_fields=["area_code", "lat", "lon"])
    audit_record(
        actor=actor,
        event="workforce.enrollment_open",
        target=enrollment,
        area_code=community.code,
        detail={"via": via, "left": current.area_code if current else ""},
    )
    return enrollment, True


@transaction.atomic
def report_in(
    *, actor, client_id: str, community: Area | None = None, code: str = "", at=None
) -> tuple[Enrollment, bool]:
    """A worker reports in at a community: by its scanned code or by choosing it."""
    authorize(actor, can_report_in)
    if not client_id:
        raise DomainError("缺少客户端编号", "client_id is required", field="client_id")
    if code:
        community, via = community_of_code(code), EnrollmentVia.SCAN
    elif community is not None:
        via = EnrollmentVia.CHOICE
        if community.level != Level.COMMUNITY:
            raise DomainError("请选择社区", "choose a community", field="community")
    else:
        raise DomainError("请扫码或选择社区", "scan a code or choose a community", field="code")
    return enrollment_open(
        actor=actor, worker=_mine(actor), community=community, via=via, client_id=client_id, at=at
    )


@transaction.atomic
def enrollment_decide(
    *, actor, enrollment: Enrollment, confirm: bool, reason: str = ""
) -> Enrollment:
    """The community confirms a report-in, or declines it with a reason."""
    authorize(actor, can_confirm_enrollment, area=enrollment.area_code)
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if enrollment.status != EnrollmentStatus.PENDING:
        if confirm and enrollment.status == EnrollmentStatus.CONFIRMED:
            return enrollment
        raise Conflict("该报到已处理", "this report-in has been decided", field="status")
    if not confirm:
        reason = required_reason(reason)
    enrollment.status = EnrollmentStatus.CONFIRMED if confirm else EnrollmentStatus.DECLINED
    enrollment.decided_at, enrollment.decided_by = timezone.now(), user_of(actor)
    enrollment.reason = reason[:200]
    enrollment.save(update_fields=["status", "decided_at", "decided_by", "reason"])
    worker = enrollment.worker
    if not confirm:
        worker.area_code = worker.home_code
        worker.lat, worker.lon = point_for(worker.home_code) or (worker.lat, worker.lon)
        worker.save(update_fields=["area_code", "lat", "lon"])
    audit_record(
        actor=actor,
        event="workforce.enrollment_confirm" if confirm else "workforce.enrollment_decline",
        target=enrollment,
        area_code=enrollment.area_code,
        reason=reason,
    )
    if worker.user_id:
        name = enrollment.community.name
        notify(
            recipients=[Recipient(worker.user)],
            kind="workforce.enrollment",
            text_zh=f"{name}已确认您的报到" if confirm else f"{name}未接收您的报到：{reason}",
            text_en=f"{name} confirmed your report-in"
            if confirm
            else f"{name} declined your report-in: {reason}",
            url="/workforce/me/",
        )
    return enrollment


@transaction.atomic
def enrollments_confirm_all(*, actor, community: Area) -> int:
    """Confirm every waiting report-in at a community (a morning's flood, one tap)."""
    authorize(actor, can_confirm_enrollment, area=community.code)
    waiting = Enrollment.objects.filter(area_code=community.code, status=EnrollmentStatus.PENDING)
    now = timezone.now()
    n = waiting.update(status=EnrollmentStatus.CONFIRMED, decided_at=now, decided_by=user_of(actor))
    if n:
        audit_record(
            actor=actor,
            event="workforce.enrollment_confirm_all",
            target=community,
            area_code=community.code,
            detail={"confirmed": n},
        )
    return n


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time()))
    return start, start + dt.timedelta(days=1)
