"""Residents over JSON: scoped search and detail, masked numbers, audited reveal, writes.

Creates are idempotent by the ID number itself (one resident per document), so no
`Idempotency-Key` header is needed: a retried create answers 200 `unchanged`.
"""

import datetime as dt
import enum
from typing import Annotated

from django.db import IntegrityError
from django.http import HttpResponse
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from ninja import Path as PathParam

from fangkong.areas.models import Area, Household, Level
from fangkong.areas.services import household_get_or_create
from fangkong.core.api import MAX_PAGE, PageOut, errors, page_out, require
from fangkong.core.errors import DomainError
from fangkong.core.idnumbers import IdType
from fangkong.core.shortcuts import get_scoped_or_404
from fangkong.core.text import clean
from fangkong.people.permissions import (
    HEALTH_TAGS,
    can_edit_residents,
    can_import_roster,
    can_read_residents,
    can_search_residents,
)

from . import codes, selectors, services
from .forms import MAX_ROSTER_BYTES
from .models import ImportJob, Residency, Resident, Tag
from .roster.importing import roster_import_submit
from .services import Outcome

router = Router(tags=["residents"])

# Tags travel as stable lower-case names, never as the bits they are stored in.
TagName = enum.StrEnum("TagName", [t.name.lower() for t in Tag])


def tag_names(flags: int) -> list[str]:
    return [t.name.lower() for t in Tag if flags & t]


def tag_flags(names) -> int:
    return sum(int(Tag[str(n).upper()]) for n in set(names))


# The key-population lists: the tags, and ages (70+, 70+ living alone).
TagListName = enum.StrEnum("TagListName", sorted(selectors.TAG_KEYS))


class ResidentFilters(Schema):
    q: str = Field("", max_length=100, description="name, pinyin, initials, ID or phone digits")
    area: str = Field("", pattern=r"^\d{0,18}$", description="area code; its subtree")
    household: int | None = Field(None, ge=1, le=2**63 - 1)
    tag: list[TagListName] = Field(
        default_factory=list, max_length=12, description="residents with every one of these"
    )
    page: int = Field(1, ge=1, le=MAX_PAGE)


class AddressOut(Schema):
    id: int
    building_code: str
    unit: str
    room: str
    address: str


class ResidentOut(Schema):
    id: int
    name: str
    sex: str = Field(description="M, F, or empty when the document does not say")
    birth_year: int | None
    age: int | None
    id_type: IdType
    id_number_masked: str
    phone_masked: str
    household: AddressOut
    area_code: str
    residency: Residency
    tags: list[TagName]


class ResidentDetailOut(ResidentOut):
    language: str
    treatment: str
    note: str
    created_at: dt.datetime
    updated_at: dt.datetime


class WriteOut(Schema):
    outcome: Outcome = Field(description="created (201), updated or unchanged (200)")
    resident: ResidentDetailOut


class HouseholdIn(Schema):
    building: str = Field(max_length=18, description="the building's area code")
    unit: str = Field("", max_length=20)
    room: str = Field(max_length=20)


class ResidentIn(Schema):
    name: str = Field(max_length=200)
    id_type: IdType = IdType.MAINLAND
    id_number: str = Field(max_length=64)
    phone: str = Field("", max_length=40, description="kept when empty")
    residency: Residency = Residency.PERMANENT
    tags: list[TagName] = Field(default_factory=list, max_length=len(Tag))
    language: str = Field("", max_length=50)
    treatment: str = Field("", max_length=100)
    note: str = Field("", max_length=200, description="kept when empty")
    household: HouseholdIn


class ResidentUpdateIn(ResidentIn):
    id_number: str = Field(max_length=64, description="must be the resident's own; cannot change")
    reason: str = Field("", max_length=500, description="kept in the audit log")


class ResidentPatchIn(Schema):
    name: str | None = Field(None, max_length=200)
    id_type: IdType | None = None
    id_number: str | None = Field(None, max_length=64)
    phone: str | None = Field(None, max_length=40)
    residency: Residency | None = None
    tags: list[TagName] | None = Field(None, max_length=len(Tag))
    language: str | None = Field(None, max_length=50)
    treatment: str | None = Field(None, max_length=100)
    note: str | None = Field(None, max_length=200)
    household: HouseholdIn | None = None
    reason: str = Field("", max_length=500)


class RevealIn(Schema):
    reason: str = Field(
        "", max_length=500, description="why the full numbers are needed: required (400 without)"
    )


class RevealOut(Schema):
    id: int
    id_number: str
    phone: str


def _may_read(user) -> bool:
    # A resident reads their own household; `for_user` cuts them to it.
    return can_search_residents(user)


def _scoped(request, resident_id: int) -> Resident:
    return get_scoped_or_404(
        Resident.objects.select_related("household__building__parent"),
        request.auth,
        pk=resident_id,
    )


def resident_out(r: Resident, user) -> dict:
    """One resident as `user` may see them: tags only for the roles that see them."""
    building = r.household.building
    return {
        "id": r.pk,
        "name": r.name,
        "sex": r.sex,
        "birth_year": r.birth_date and r.birth_date.year,
        "age": r.age,
        "id_type": r.id_type,
        "id_number_masked": r.id_masked,
        "phone_masked": r.phone_masked,
        "household": {
            "id": r.household_id,
            "building_code": building.code,
            "unit": r.household.unit,
            "room": r.household.room,
            "address": str(r.household),
        },
        "area_code": r.area_code,
        "residency": r.residency,
        "tags": tag_names(r.tags) if HEALTH_TAGS(user) else [],
    }


def resident_detail_out(r: Resident, user) -> dict:
    # The treatment (dialysis …) is health data too.
    extra = ("language", "treatment", "note", "created_at", "updated_at")
    out = {**resident_out(r, user), **{f: getattr(r, f) for f in extra}}
    if not HEALTH_TAGS(user):
        out["treatment"] = ""
    return out


def _household(user, where: HouseholdIn) -> Household:
    """The household at an address in a building of the caller's jurisdiction."""
    code = clean(where.building)
    building = Area.objects.for_user(user).filter(code=code, level=Level.BUILDING).first()
    if building is None:
        raise DomainError(
            f"楼栋{code}不存在或不在您的辖区内",
            f"building {code} does not exist or is outside your jurisdiction",
            field="household.building",
        )
    try:
        household, _ = household_get_or_create(
            actor=user, building=building, unit=clean(where.unit), room=clean(where.room)
        )
    except DomainError as exc:
        exc.field = f"household.{exc.field}"  # where it sits in this request's body
        raise
    return household


def _validate(payload: ResidentIn) -> services.ResidentData:
    fields = payload.dict(exclude={"household", "reason", "tags"})
    return services.resident_validate(**fields, tags=tag_flags(payload.tags))


@router.get("/", response={200: PageOut[ResidentOut], **errors(400, 403, 422, 429)})
def resident_list(request, filters: Query[ResidentFilters]):
    """Residents of the caller's jurisdiction, 20 a page, numbers masked.

    `q` finds a number by its last 4 characters, or whole (exactly) for roles that may
    reveal numbers, each such search audited; 5 to 17 trailing digits are refused (400).
    Searches are limited per user (429 with `Retry-After`)."""
    page = services.resident_search(
        actor=request.auth,
        q=filters.q,
        area=filters.area,
        household=filters.household,
        tags=[str(t) for t in filters.tag],
        page=filters.page,
    )
    return page_out(page, [resident_out(r, request.auth) for r in page.items])


# Key populations ---------------------------------------------------------


class TagCountOut(Schema):
    key: TagListName
    label: str
    count: int = Field(description="from the per-building statistics")


class TagCountQuery(Schema):
    area: str = Field("", pattern=r"^\d{0,18}$", description="empty: all your jurisdiction")


@router.get("/tags", response={200: list[TagCountOut], **errors(403, 404, 422)})
def tag_count_list(request, query: Query[TagCountQuery]):
    """How many of each key population live under an area; list them with `?tag=`."""
    require(can_read_residents(request.auth) and HEALTH_TAGS(request.auth))
    area = get_scoped_or_404(Area.objects, request.auth, code=query.area) if query.area else None
    return [vars(c) for c in selectors.tag_counts(request.auth, area)]


@router.get("/{resident_id}", response={200: ResidentDetailOut, **errors(403, 404, 422)})
def resident_detail(request, resident_id: int):
    require(_may_read(request.auth))
    return resident_detail_out(_scoped(request, resident_id), request.auth)


@router.post("/{resident_id}/reveal", response={200: RevealOut, **errors(400, 403, 404, 422)})
def resident_reveal(
    request, resident_id: int, response: HttpResponse, payload: RevealIn | None = None
):
    """The full ID and phone numbers, for roles that may see them, with a reason (400 on
    `reason` without one). Every call is audited with its reason."""
    require(can_read_residents(request.auth))
    resident = _scoped(request, resident_id)
    reason = payload.reason if payload else ""
    numbers = services.resident_reveal(actor=request.auth, resident=resident, reason=reason)
    response["Cache-Control"] = "no-store"
    return {"id": resident.pk, **numbers}


@router.post("/", response={201: WriteOut, 200: WriteOut, **errors(400, 403, 409, 422)})
def resident_create(request, payload: ResidentIn):
    """Register a resident. A known ID number updates that resident instead (200)."""
    require(can_edit_residents(request.auth))
    data = _validate(payload)
    household = _household(request.auth, payload.household)
    try:
        resident, outcome = services.resident_register(
            actor=request.auth, household=household, data=data
        )
    except IntegrityError:
        # Two first registrations of one person raced; the loser now finds the winner.
        resident, outcome = services.resident_register(
            actor=request.auth, household=household, data=data
        )
    body = {
        "outcome": outcome,
        "resident": resident_detail_out(_scoped(request, resident.pk), request.auth),
    }
    return Status(201 if outcome == Outcome.CREATED else 200, body)


def _update(request, resident: Resident, payload: ResidentUpdateIn) -> dict:
    data = _validate(payload)
    household = _household(request.auth, payload.household)
    outcome = services.resident_update(
        actor=request.auth,
        resident=resident,
        household=household,
        data=data,
        reason=payload.reason,
    )
    return {
        "outcome": outcome,
        "resident": resident_detail_out(_scoped(request, resident.pk), request.auth),
    }


@router.put("/{resident_id}", response={200: WriteOut, **errors(400, 403, 404, 422)})
def resident_replace(request, resident_id: int, payload: ResidentUpdateIn):
    """Replace a resident's record. The ID number must be the one on record."""
    require(can_edit_residents(request.auth))
    return _update(request, _scoped(request, resident_id), payload)


@router.patch("/{resident_id}", response={200: WriteOut, **errors(400, 403, 404, 422)})
def resident_patch(request, resident_id: int, payload: ResidentPatchIn):
    """Change some fields of a resident; the rest stay as they are."""
    require(can_edit_residents(request.auth))
    resident = _scoped(request, resident_id)
    current = {
        "name": resident.name,
        "id_type": resident.id_type,
        "id_number": resident.id_number(),
        "phone": resident.phone(),
        "residency": resident.residency,
        "tags": tag_names(resident.tags),
        "language": resident.language,
        "treatment": resident.treatment,
        "note": resident.note,
        "household": {
            "building": resident.household.building.code,
            "unit": resident.household.unit,
            "room": resident.household.room,
        },
    }
    # A field left out, or sent as null, keeps its value.
    merged = ResidentUpdateIn(**{**current, **payload.dict(exclude_unset=True, exclude_none=True)})
    return _update(request, resident, merged)


# Code stickers and roster imports: what the building and import pages do.

BuildingCode = Annotated[str, PathParam(pattern=r"^\d{6,18}$")]

PDF_RESPONSE = {
    "200": {
        "description": "the sticker sheet",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}


class PeopleStickersIn(Schema):
    only_no_smartphone: bool = Field(False, description="only residents without a smartphone")


@router.post(
    "/buildings/{code}/codes",
    response={**errors(400, 403, 404, 422)},
    openapi_extra={"responses": PDF_RESPONSE},
)
def building_stickers(request, code: BuildingCode, payload: PeopleStickersIn | None = None):
    """A PDF sheet of code stickers for one building of my jurisdiction, as the building
    page prints it; audited."""
    require(can_edit_residents(request.auth))
    building = get_scoped_or_404(Area.objects.filter(level=Level.BUILDING), request.auth, code=code)
    only = payload.only_no_smartphone if payload else False
    pdf = codes.codes_print(actor=request.auth, building=building, only_no_smartphone=only)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="codes-{building.code}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


class PeopleImportJobOut(Schema):
    id: int
    area: str
    file_name: str
    status: str
    total_rows: int
    processed_rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    warned: int
    error: str
    error_zh: str


def import_job_out(job: ImportJob) -> dict:
    return {
        "id": job.pk,
        "area": job.area.code,
        "file_name": job.file_name,
        "status": job.status,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "created": job.created,
        "updated": job.updated,
        "unchanged": job.unchanged,
        "rejected": job.rejected,
        "warned": job.warned,
        "error": job.error_en,
        "error_zh": job.error_zh,
    }


@router.post("/roster/imports", response={202: PeopleImportJobOut, **errors(400, 403, 404, 422)})
def roster_import(request, area: Form[str], file: File[UploadedFile]):
    """Import a roster (.xlsx or .csv) into a community or compound, as the import page
    does: a small file is read at once, a big one by the worker; poll the job."""
    require(can_import_roster(request.auth))
    if file.size and file.size > MAX_ROSTER_BYTES:
        raise DomainError(
            f"文件超过 {MAX_ROSTER_BYTES // 2**20} MB，请拆分",
            f"the file is larger than {MAX_ROSTER_BYTES // 2**20} MB; split it",
            field="file",
        )
    target = get_scoped_or_404(Area.objects, request.auth, code=area.strip())
    job = roster_import_submit(
        actor=request.auth, area=target, file_name=file.name or "roster", data=file.read()
    )
    return Status(202, import_job_out(job))


@router.get("/roster/imports/{job_id}", response={200: PeopleImportJobOut, **errors(403, 404)})
def roster_import_status(request, job_id: int):
    """An import's progress and counts (its rejected rows: the import page's report)."""
    require(can_import_roster(request.auth))
    job = get_scoped_or_404(ImportJob.objects.select_related("area"), request.auth, pk=job_id)
    return import_job_out(job)
