"""Lab results, recalls, the round report, throughput and the advisor over JSON.

`POST /labs/results` is idempotent by content: the same result for the same tube
again changes nothing, so a lab system may resend a batch whenever it is unsure.
Each refused item is named by its index in the batch and its field; the others go in.
"""

import datetime as dt

from django.http import Http404
from django.utils import timezone
from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile

from fangkong.areas.models import CODE_LENGTH, Level
from fangkong.core.api import MAX_PAGE, JsonId, JsonInt, PageOut, errors, page_out, require
from fangkong.core.errors import DomainError
from fangkong.core.paging import paginate
from fangkong.core.shortcuts import get_scoped_or_404
from fangkong.labs.permissions import (
    RECALLED_PEOPLE,
    can_manage_recalls,
    can_read_recalls,
    can_read_round_report,
    can_read_turnaround,
    can_rule_out_cases,
    can_upload_results,
)
from fangkong.people.permissions import can_read_residents
from fangkong.testing.models import SamplingSite, TestingRound
from fangkong.testing.permissions import can_read_coverage, can_sample

from . import selectors, services
from .conf import labs_conf
from .files import clean_row
from .models import RecallReason, RecallStatus, ResampleVia

router = Router(tags=["labs"])


class ResultIn(Schema):
    tube: str = Field(max_length=40, description="the tube's barcode")
    result: str = Field(
        max_length=20, description="negative, positive or invalid (阴性, 阳性, 无效 also read)"
    )
    tested_at: str = Field(
        max_length=40, description="ISO 8601; without an offset, the deployment's local time"
    )
    lab: str = Field("", max_length=100, description="if given, must be this account's lab")
    reason: str = Field("", max_length=500, description="needed only to correct a stored result")


class ResultsIn(Schema):
    results: list[ResultIn] = Field(max_length=100_000)


class ResultItemError(Schema):
    index: int = Field(description="position of the item in `results`, from 0")
    field: str
    code: str = Field(
        description="unknown_tube, differs, repeated, invalid, missing, future, too_old, other_lab"
    )
    message: str
    message_zh: str


class ResultsOut(Schema):
    upload: int
    rows: int
    created: int
    unchanged: int = Field(description="already stored with the same result: nothing changed")
    corrected: int
    rejected: int
    recalls_raised: int
    recalls_closed: int
    cases: int
    errors: list[ResultItemError] = Field(description="the first 1,000 refused items")


@router.post("/results", response={200: ResultsOut, **errors(403, 413, 422)})
def results_upload(request, payload: ResultsIn):
    """Store a batch of tube results from a lab system (role lab; tubes in its jurisdiction)."""
    require(can_upload_results(request.auth))
    if len(payload.results) > labs_conf().max_batch:
        raise DomainError(
            f"每批最多{labs_conf().max_batch}条", f"at most {labs_conf().max_batch} results a batch"
        )
    actor, now = request.auth, timezone.now()
    names = services.lab_names(actor)
    rows = (
        clean_row(
            i,
            {
                "tube": r.tube,
                "result": r.result,
                "tested_at": r.tested_at,
                "lab": r.lab,
                "reason": r.reason,
            },
            lab_names=names,
            now=now,
            label=(f"第{i}项", f"item {i}"),
        )
        for i, r in enumerate(payload.results)
    )
    upload, outcome = services.results_batch_store(actor=actor, rows=rows)
    return {
        "upload": upload.pk,
        **{k: v for k, v in outcome.counts().items() if k not in ("recalls", "closed")},
        "recalls_raised": outcome.recalls,
        "recalls_closed": outcome.closed,
        "errors": [
            {"index": e.row, "field": e.column, "code": e.code, "message": e.en, "message_zh": e.zh}
            for e in outcome.errors
        ],
    }


# Recalls ---------------------------------------------------------------------------


class RecallFilters(Schema):
    round: int | None = Field(None, ge=1, le=2**63 - 1)
    area: str = Field("", pattern=r"^\d{0,18}$", description="area code; its subtree")
    status: str = Field("", pattern=r"^(|open|closed|negative|positive|cancelled)$")
    page: int = Field(1, ge=1, le=MAX_PAGE)


class RecallPersonOut(Schema):
    id: int
    name: str
    id_number_masked: str
    phone_masked: str
    address: str


class RecallOut(Schema):
    id: int
    round: int
    tube: str = Field(description="the pooled tube's barcode")
    resident: RecallPersonOut | None = Field(
        description="null: a sample that matched no resident, or a role that does not see "
        "who is recalled (a lab)"
    )
    area_code: str = Field(description="the building (the community, for a lab)")
    reason: RecallReason
    status: RecallStatus
    raised_at: dt.datetime
    via: ResampleVia = Field(description="empty until the resample is arranged")
    site: int | None
    resample_tube: str | None
    closed_at: dt.datetime | None
    close_reason: str


def recall_out(r, user) -> dict:
    """A recall as `user` may see it: a role that does not see who is recalled (a lab) gets
    the tube and the status, the community, no person (core.sight)."""
    person = r.resident
    if not RECALLED_PEOPLE(user):
        return {
            **_recall_fields(r),
            "resident": None,
            "area_code": r.area_code[: CODE_LENGTH[Level.COMMUNITY]],
        }
    return {**_recall_fields(r), "resident": None if person is None else _person_out(person)}


def _person_out(person) -> dict:
    return {
        "id": person.pk,
        "name": person.name,
        "id_number_masked": person.id_masked,
        "phone_masked": person.phone_masked,
        "address": str(person.household),
    }


def _recall_fields(r) -> dict:
    return {
        "id": r.pk,
        "round": r.round_id,
        "tube": r.tube.barcode,
        "area_code": r.area_code,
        "reason": r.reason,
        "status": r.status,
        "raised_at": r.raised_at,
        "via": r.via,
        "site": r.site_id,
        "resample_tube": r.resample_tube.barcode if r.resample_tube_id else None,
        "closed_at": r.closed_at,
        "close_reason": r.close_reason,
    }


@router.get("/recalls", response={200: PageOut[RecallOut], **errors(403, 404, 422)})
def recall_list(request, filters: Query[RecallFilters]):
    """Recalls of the caller's jurisdiction (a community worker sees their community's)."""
    require(can_read_recalls(request.auth))
    rnd = _round(request, filters.round) if filters.round else None
    recalls = selectors.recalls_for(request.auth, rnd=rnd, area=filters.area, status=filters.status)
    page = paginate(recalls, filters.page, 50)
    return page_out(page, [recall_out(r, request.auth) for r in page.items])


class ArrangeIn(Schema):
    recalls: list[JsonId] = Field(min_length=1, max_length=500)
    via: ResampleVia
    site: JsonInt | None = Field(None, ge=1, le=2**63 - 1)


class RecallCountOut(Schema):
    count: int


@router.post("/recalls/arrange", response={200: RecallCountOut, **errors(403, 404, 422)})
def recall_arrange(request, payload: ArrangeIn):
    """Arrange resamples at home (a door-to-door task is made) or at a site."""
    require(can_manage_recalls(request.auth))
    recalls = list(
        selectors.recalls_for(request.auth).filter(pk__in=payload.recalls).select_related("round")
    )
    if len(recalls) != len(set(payload.recalls)):
        raise DomainError("有召回不存在或不在您的辖区内", "a recall is not found", field="recalls")
    site = (
        get_scoped_or_404(SamplingSite.objects, request.auth, pk=payload.site)
        if payload.site
        else None
    )
    count = services.recalls_arrange(
        actor=request.auth, recalls=recalls, via=payload.via, site=site
    )
    return {"count": count}


class RecallCancelIn(Schema):
    reason: str = Field(max_length=500)


@router.post("/recalls/{recall_id}/cancel", response={200: RecallOut, **errors(403, 404, 422)})
def recall_cancel(request, recall_id: int, payload: RecallCancelIn):
    """Close a recall without a resample (moved away, tested in hospital); reason required."""
    require(can_manage_recalls(request.auth))
    recall = get_scoped_or_404(selectors.recalls_for(request.auth), request.auth, pk=recall_id)
    services.recall_cancel(actor=request.auth, recall=recall, reason=payload.reason)
    return recall_out(recall, request.auth)


# Report, turnaround, throughput, advisor -------------------------------------------------


def _round(request, round_id: int) -> TestingRound:
    return get_scoped_or_404(TestingRound.objects, request.auth, pk=round_id)


class LabsAreaQuery(Schema):
    area: str = Field("", pattern=r"^\d{0,18}$", description="default: your jurisdiction")


class ReportRowOut(Schema):
    code: str
    name: str
    counts: dict[str, int]


class ReportDayOut(Schema):
    day: dt.date
    counts: dict[str, int]


class ReportOut(Schema):
    round: int
    area: str
    area_name: str
    total: dict[str, int] = Field(
        description="expected, sampled, tubes, results, positives, invalid, recalls_open, "
        "recalls_closed, cases, home_done"
    )
    rows: list[ReportRowOut] = Field(
        description="one per child area; they add up to the total (a tube counts where its "
        "first person lives)"
    )
    days: list[ReportDayOut] = Field(description="by local day")


def _area(request, code: str):
    area = selectors.report_root(request.auth, code)
    if area is None:
        raise DomainError("请指定您辖区内的区域", "name an area of your jurisdiction", field="area")
    return area


@router.get("/rounds/{round_id}/report", response={200: ReportOut, **errors(403, 404, 422)})
def round_report(request, round_id: int, query: Query[LabsAreaQuery]):
    """The round report under an area: by child area and by day."""
    require(can_read_round_report(request.auth))
    report = selectors.round_report(_round(request, round_id), _area(request, query.area))
    return {
        "round": round_id,
        "area": report.area.code,
        "area_name": report.area.name,
        "total": report.total,
        "rows": [{"code": r.code, "name": r.name, "counts": r.counts} for r in report.rows],
        "days": [{"day": d, "counts": c} for d, c in report.days],
    }


class TurnaroundOut(Schema):
    results: int
    timed: int
    mean_hours: float | None


class LabTurnaroundOut(TurnaroundOut):
    lab: str


class OverdueOut(Schema):
    barcode: str
    site: str
    sealed_at: dt.datetime


class TurnaroundReportOut(Schema):
    overdue_hours: int
    total: TurnaroundOut
    labs: list[LabTurnaroundOut]
    overdue_count: int
    overdue: list[OverdueOut] = Field(
        description="the 100 oldest overdue tubes, as `labs_refresh` last found them"
    )


def _ta(t) -> dict:
    return {"results": t.results, "timed": t.timed, "mean_hours": t.hours}


@router.get(
    "/rounds/{round_id}/turnaround", response={200: TurnaroundReportOut, **errors(403, 404, 422)}
)
def turnaround(request, round_id: int, query: Query[LabsAreaQuery]):
    """Result turnaround (seal → result received) by lab, and overdue tubes."""
    require(can_read_turnaround(request.auth))
    rnd = _round(request, round_id)
    prefixes = [_area(request, query.area).code] if query.area else request.auth.scope_prefixes()
    overdue = selectors.overdue_tubes(rnd, prefixes)
    return {
        "overdue_hours": labs_conf().overdue_hours,
        "total": _ta(selectors.turnaround_total(rnd, prefixes)),
        "labs": [{"lab": name, **_ta(t)} for name, t in selectors.turnaround_by_lab(rnd, prefixes)],
        "overdue_count": overdue.count(),
        "overdue": [
            {
                "barcode": o.tube.barcode,
                "site": o.tube.site.name if o.tube.site else "",
                "sealed_at": o.sealed_at,
            }
            for o in overdue[:100]
        ],
    }


class ChannelFlowOut(Schema):
    id: int
    name: str
    tubes: int
    people: int
    people_last_hour: int
    people_per_hour: float = Field(description="over the round")
    open_tube: str | None
    open_tube_samples: int | None


class SiteFlowOut(Schema):
    id: int
    name: str
    area_code: str
    tubes: int
    people: int
    people_last_hour: int
    people_per_hour: float
    remaining: int = Field(description="this site's share of its area's not-yet-sampled")
    hours_to_clear: float | None = Field(description="remaining / last hour's rate")
    channels_needed: int | None = Field(description="to clear by the round's deadline")
    turnaround_hours: float | None
    channels: list[ChannelFlowOut]


class ThroughputQuery(Schema):
    site: int | None = Field(None, ge=1, le=2**63 - 1)


@router.get(
    "/rounds/{round_id}/throughput", response={200: list[SiteFlowOut], **errors(403, 404, 422)}
)
def throughput(request, round_id: int, query: Query[ThroughputQuery]):
    """People an hour, tubes, the open tube and the queue estimate per site and channel."""
    require(can_read_round_report(request.auth))
    rnd = _round(request, round_id)
    if query.site:
        get_scoped_or_404(SamplingSite.objects, request.auth, pk=query.site)
    now = timezone.now()
    hours_left = (rnd.deadline - now).total_seconds() / 3600
    services.sampling_tally_refresh()  # the tallies of channels, caught up
    return [
        {
            "id": f.site.pk,
            "name": f.site.name,
            "area_code": f.site.area_code,
            "tubes": f.tubes,
            "people": f.people,
            "people_last_hour": f.last_hour,
            "people_per_hour": f.per_hour,
            "remaining": f.remaining,
            "hours_to_clear": f.hours_to_clear,
            "channels_needed": f.channels_needed(hours_left),
            "turnaround_hours": f.turnaround.hours if f.turnaround else None,
            "channels": [
                {
                    "id": c.channel.pk,
                    "name": c.channel.name,
                    "tubes": c.tubes,
                    "people": c.people,
                    "people_last_hour": c.last_hour,
                    "people_per_hour": c.per_hour,
                    "open_tube": c.open_tube.barcode if c.open_tube else None,
                    "open_tube_samples": c.open_tube.sample_count if c.open_tube else None,
                }
                for c in f.channels
            ],
        }
        for f in selectors.throughput(rnd, request.auth, now=now, site_id=query.site)
    ]


class AdvisorQuery(Schema):
    round: int = Field(ge=1, le=2**63 - 1)
    area: str = Field("", pattern=r"^\d{0,18}$")


class PoolOut(Schema):
    pool_size: int
    expected_tests_per_person: float
    pools: int = Field(description="pools of this size with a result, read for p")
    positive_pools: int


class AdvisorOut(Schema):
    prevalence: float = Field(description="estimated individual prevalence p")
    since: dt.date | None = Field(description="first day read; null: the whole round")
    pools: int
    positive_pools: int
    people: int
    recommended: int
    table: list[PoolOut]


@router.get("/advisor", response={200: AdvisorOut, **errors(403, 404, 422)})
def pool_advisor(request, query: Query[AdvisorQuery]):
    """Dorfman's expected tests per person for each allowed pool size, and the best one."""
    require(can_read_round_report(request.auth))
    rnd = _round(request, query.round)
    prefixes = [_area(request, query.area).code] if query.area else request.auth.scope_prefixes()
    got = selectors.pool_advice(rnd, prefixes)
    a = got.advice
    return {
        "prevalence": a.prevalence,
        "since": got.since,
        "pools": a.pools,
        "positive_pools": a.positives,
        "people": a.people,
        "recommended": a.recommended,
        "table": [
            {
                "pool_size": k,
                "expected_tests_per_person": e,
                "pools": a.by_size.get(k, (0, 0))[0],
                "positive_pools": a.by_size.get(k, (0, 0))[1],
            }
            for k, e in a.table
        ],
    }


# Result files, as the upload page takes them ------------------------------------------------


class UploadStatusOut(Schema):
    id: int
    file_name: str
    status: str = Field(description="queued, running, done or failed")
    rows: int
    created: int
    unchanged: int
    corrected: int
    rejected: int
    recalls_raised: int
    recalls_closed: int
    cases: int
    error: str = Field(description="why a failed file failed")
    error_zh: str
    errors: list[dict] = Field(description="the first bad rows: row, column, code, zh, en")


def _upload_out(u) -> dict:
    return {
        "id": u.pk,
        "file_name": u.file_name,
        "status": u.status,
        "rows": u.rows,
        "created": u.created,
        "unchanged": u.unchanged,
        "corrected": u.corrected,
        "rejected": u.rejected,
        "recalls_raised": u.recalls,
        "recalls_closed": u.closed,
        "cases": u.cases,
        "error": u.error_en,
        "error_zh": u.error_zh,
        "errors": u.errors,
    }


@router.post("/results/file", response={200: UploadStatusOut, **errors(400, 403, 413, 422)})
def results_file(request, file: File[UploadedFile]):
    """A CSV or XLSX of results, as the upload page takes it: a small file is stored at
    once, a large one is queued (poll `GET /labs/uploads/{id}`)."""
    require(can_upload_results(request.auth))
    upload = services.results_upload_submit(
        actor=request.auth, file_name=file.name or "", data=file.read()
    )
    return _upload_out(upload)


@router.get("/uploads/{upload_id}", response={200: UploadStatusOut, **errors(403, 404, 422)})
def upload_status(request, upload_id: int):
    """One results upload (file or batch) and its outcome."""
    require(can_upload_results(request.auth) or can_rule_out_cases(request.auth))
    upload = selectors.uploads_for(request.auth).filter(pk=upload_id).first()
    if upload is None:
        raise Http404
    return _upload_out(upload)


# A tube by barcode; a person's testing history --------------------------------------------


class TubeMemberOut(Schema):
    resident: int | None
    name: str
    id_number_masked: str
    address: str
    at: dt.datetime


class TubeResultOut(Schema):
    result: str
    tested_at: dt.datetime
    lab: str
    received_at: dt.datetime


class LabsTubeOut(Schema):
    barcode: str
    round: int
    via: str = Field(description="site or home")
    site: int | None
    site_name: str
    channel: int | None
    area_code: str
    pool_size: int
    samples: int = Field(description="every member of the tube")
    opened_at: dt.datetime | None
    sealed_at: dt.datetime | None
    result: TubeResultOut | None = Field(description="null while the lab has not answered")
    recalls: int
    members: list[TubeMemberOut] = Field(
        description="members living in your jurisdiction, for roles that may read residents "
        "(a lab or a sampler sees the count only)"
    )


@router.get("/tubes/{barcode}", response={200: LabsTubeOut, **errors(403, 404, 422)})
def tube_lookup(request, barcode: str):
    """A tube by its barcode: where and when it was sampled, its members and its result."""
    user = request.auth
    require(can_read_recalls(user) or can_read_turnaround(user) or can_sample(user))
    if len(barcode) > 40:
        raise Http404
    facts = selectors.tube_lookup(user, barcode)
    if facts is None:
        raise Http404
    tube, result = facts.tube, facts.result
    people = can_read_residents(user)
    return {
        "barcode": tube.barcode,
        "round": tube.round_id,
        "via": tube.via,
        "site": tube.site_id,
        "site_name": tube.site.name if tube.site_id else "",
        "channel": tube.channel_id,
        "area_code": tube.area_code,
        "pool_size": tube.pool_size,
        "samples": facts.members,
        "opened_at": tube.opened_at,
        "sealed_at": tube.sealed_at,
        "result": None
        if result is None
        else {
            "result": result.result,
            "tested_at": result.tested_at,
            "lab": result.lab_name,
            "received_at": result.received_at,
        },
        "recalls": facts.recalls,
        "members": [
            {
                "resident": s.resident_id,
                "name": s.resident.name if s.resident_id else "",
                "id_number_masked": s.resident.id_masked if s.resident_id else s.id_masked,
                "address": str(s.resident.household) if s.resident_id else "",
                "at": s.at,
            }
            for s in (facts.samples if people else [])
        ],
    }


class LabsTestOut(Schema):
    round: int
    round_name: str
    at: dt.datetime = Field(description="when the swab was taken")
    tube: str
    pool_size: int
    via: str
    site_name: str
    result: str = Field(description="negative, positive, invalid; empty while awaited")
    tested_at: dt.datetime | None
    recall: str = Field(description="the status of a recall of this sample, if any")


@router.get(
    "/residents/{resident_id}/tests", response={200: list[LabsTestOut], **errors(403, 404, 422)}
)
def person_history(request, resident_id: int):
    """A resident's testing history, newest first: rounds, tubes, results, recalls."""
    from fangkong.people.models import Resident

    user = request.auth
    require(can_read_residents(user) and (can_read_coverage(user) or can_read_recalls(user)))
    person = get_scoped_or_404(Resident.objects, user, pk=resident_id)
    return [
        {
            "round": f.sample.round_id,
            "round_name": f.sample.round.name,
            "at": f.sample.at,
            "tube": f.sample.tube.barcode,
            "pool_size": f.sample.tube.pool_size,
            "via": f.sample.via,
            "site_name": f.sample.site.name if f.sample.site_id else "",
            "result": f.result,
            "tested_at": f.tested_at,
            "recall": f.recall,
        }
        for f in selectors.person_history(person)
    ]
