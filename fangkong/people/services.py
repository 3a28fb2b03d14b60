"""Every write the people domain allows."""

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q

from fangkong.areas.models import Area, Household, Level
from fangkong.areas.services import building_stats_store
from fangkong.core import idnumbers, pii, ratelimit
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict, DomainError, PermissionDenied
from fangkong.core.guards import authorize, require, required_reason
from fangkong.core.idnumbers import IdNumberError
from fangkong.core.paging import Page
from fangkong.core.phones import normalize_phone
from fangkong.core.text import clean_name
from fangkong.people.permissions import can_edit_residents, can_reveal_pii, can_search_residents

from . import selectors
from .models import Residency, Resident, Tag, id_hash, years_ago
from .pinyin import pinyin_keys


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


# Fields compared to decide whether a second registration changes anything.
COMPARED = ("name", "household_id", "residency", "tags", "language", "treatment", "phone_hash")


@dataclass
class ResidentData:
    """What a registration carries, already validated by `resident_validate`."""

    name: str
    doc: idnumbers.IdDocument
    phone: str
    residency: str
    tags: int
    language: str = ""
    treatment: str = ""
    note: str = ""


def resident_validate(
    *,
    name: str,
    id_type: str,
    id_number: str,
    phone: str = "",
    residency: str = Residency.PERMANENT,
    tags: int = 0,
    language: str = "",
    treatment: str = "",
    note: str = "",
) -> ResidentData:
    """Check and normalise a registration; DomainError names the bad field."""
    name = clean_name(name)
    if not name:
        raise DomainError("姓名为空", "name is empty", field="name")
    if len(name) > 100:
        raise DomainError("姓名过长", "name is too long", field="name")
    try:
        doc = idnumbers.parse(id_type, id_number)
    except IdNumberError as exc:
        raise DomainError(exc.zh, exc.en, field="id_number") from None
    try:
        phone = normalize_phone(phone)
    except IdNumberError as exc:
        raise DomainError(exc.zh, exc.en, field="phone") from None
    if residency not in Residency.values:
        raise DomainError("居住类型无效", "residency is not valid", field="residency")
    if tags & ~sum(Tag):
        raise DomainError("标签无效", "unknown tag", field="tags")
    return ResidentData(
        name=name,
        doc=doc,
        phone=phone,
        residency=residency,
        tags=int(tags),
        language=language.strip()[:50],
        treatment=treatment.strip()[:100],
        note=note.strip()[:200],
    )


def resident_apply(resident: Resident, data: ResidentData, household: Household) -> list[str]:
    """Copy `data` onto `resident` (unsaved); return the names of fields that changed."""
    before = {f: getattr(resident, f) for f in COMPARED} if resident.pk else {}
    resident.name = data.name
    resident.name_pinyin, resident.name_initials = pinyin_keys(data.name)
    if not resident.pk:
        resident.set_id_number(data.doc)
    resident.sex = data.doc.sex or resident.sex
    resident.birth_date = data.doc.birth_date or resident.birth_date
    resident.household_id = household.pk
    resident.area_code = household.area_code
    resident.residency = data.residency
    resident.tags = data.tags
    resident.language = data.language
    resident.treatment = data.treatment
    if data.note:
        resident.note = data.note
    if data.phone and pii.lookup_hash("phone", data.phone) != resident.phone_hash:
        resident.set_phone(data.phone)
    if not resident.pk:
        return list(COMPARED)
    return [f for f in COMPARED if before[f] != getattr(resident, f)]


def _check_household(actor, household: Household) -> None:
    authorize(actor, can_edit_residents)
    if not actor.may_see_area(household.area_code):
        raise PermissionDenied("该户不在您的辖区内", "this household is outside your jurisdiction")


@transaction.atomic
def resident_register(
    *, actor, household: Household, data: ResidentData
) -> tuple[Resident, Outcome]:
    """Register a person at a household. A known ID number updates, never duplicates."""
    _check_household(actor, household)
    key = id_hash(data.doc.type, data.doc.number)
    resident = Resident.objects.select_for_update().filter(id_hash=key).first() or Resident()
    if resident.pk and not actor.may_see_area(resident.area_code):
        # Otherwise anyone could pull a person (and their record) out of another community.
        raise Conflict(
            "此人已登记在您辖区外的住户，须由其所在社区或上级办理迁移",
            "this person is registered outside your jurisdiction; "
            "their community or a higher office must move them",
            field="id_number",
        )
    old_area = resident.area_code
    changed = resident_apply(resident, data, household)
    if not changed:
        return resident, Outcome.UNCHANGED
    outcome = Outcome.UPDATED if resident.pk else Outcome.CREATED
    resident.save()
    audit_record(
        actor=actor,
        event="people.resident_create" if outcome == Outcome.CREATED else "people.resident_update",
        target=resident,
        area_code=resident.area_code,
        detail={"fields": changed, "from_area": old_area} if old_area else {"fields": changed},
    )
    building_stats_refresh({resident.area_code, old_area} - {""})
    return resident, outcome


@transaction.atomic
def resident_update(
    *, actor, resident: Resident, household: Household, data: ResidentData, reason: str = ""
) -> Outcome:
    """Change a known resident. The ID number itself cannot change (it is the identity)."""
    _check_household(actor, household)
    if id_hash(data.doc.type, data.doc.number) != resident.id_hash:
        raise DomainError(
            "证件号码不能修改；如登记有误请新建并注销旧记录",
            "the document number cannot change; register anew and retire the wrong record",
            field="id_number",
        )
    old_area = resident.area_code
    changed = resident_apply(resident, data, household)
    if not changed:
        return Outcome.UNCHANGED
    resident.save()
    audit_record(
        actor=actor,
        event="people.resident_update",
        target=resident,
        area_code=resident.area_code,
        reason=reason,
        detail={"fields": changed, "from_area": old_area},
    )
    building_stats_refresh({resident.area_code, old_area})
    return Outcome.UPDATED


def resident_reveal(*, actor, resident: Resident, reason: str) -> dict[str, str]:
    """The full ID and phone numbers, for a role that may see them, with a reason on
    record (DomainError on `reason` without one); always audited."""
    if not can_reveal_pii(actor):
        raise PermissionDenied("您的角色不能查看完整证件号", "your role may not see full numbers")
    reason = required_reason(reason)
    audit_record(
        actor=actor,
        event="people.resident_reveal",
        target=resident,
        area_code=resident.area_code,
        reason=reason,
    )
    return {"id_number": resident.id_number(), "phone": resident.phone()}


def resident_search(
    *, actor, q: str = "", area: str = "", household: int | None = None, page: int = 1
) -> Page:
    """One page of the residents `actor` may see that match the search box `q`.

    Pages and the API search only through here. A number is searched by its last four
    characters, or whole (exact, by its keyed hash) by the roles that may reveal numbers;
    every whole-number search is audited, whatever it finds. Every search with a term
    counts against the user's limit (settings.SEARCH_RATE_LIMIT per
    SEARCH_RATE_WINDOW_S), refused ones included: a script probing numbers is stopped
    there. Raises DomainError for a partial number, PermissionDenied for a whole number
    the role may not look up, RateLimited past the limit.
    """
    require(can_search_residents(actor))
    if q.strip():
        ratelimit.hit(
            f"resident.search:{actor.pk}",
            limit=settings.SEARCH_RATE_LIMIT,
            window_s=settings.SEARCH_RATE_WINDOW_S,
            what=("查找居民", "resident searches"),
        )
    term = selectors.search_term(q)
    if term.is_whole_number and not can_reveal_pii(actor):
        raise PermissionDenied(
            "您的角色只能按号码末4位查找",
            "your role may search a number only by its last 4 characters",
            field="q",
        )
    found = selectors.resident_search_page(actor, term, area=area, household=household, page=page)
    if term.is_whole_number:
        audit_record(
            actor=actor,
            event="people.resident_search_number",
            target=found.items[0] if len(found.items) == 1 else None,
            target_label=term.masked,
            area_code=found.items[0].area_code if len(found.items) == 1 else "",
            detail={"as": list(term.whole_number), "found": [r.pk for r in found.items]},
        )
    return found


def building_stats_refresh(codes: Iterable[str]) -> None:
    """Recount residents and households of the given buildings (one GROUP BY a chunk)."""
    codes = sorted(set(c for c in codes if c))
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        building_stats_store(_counts(Q(area_code__in=chunk)), chunk)


def building_stats_refresh_under(prefix: str) -> None:
    """Recount every building under an area code (after a seed, or nightly for ages)."""
    codes = Area.objects.filter(code__startswith=prefix, level=Level.BUILDING)
    building_stats_store(
        _counts(Q(area_code__startswith=prefix)), codes.values_list("code", flat=True)
    )


def _counts(where: Q) -> dict[str, dict[str, int]]:
    aged_cut = years_ago(70)
    rows: dict[str, dict[str, int]] = {}
    for row in (
        Resident.objects.filter(where)
        .values("area_code")
        .annotate(
            residents=Count("id"),
            aged_70=Count("id", filter=Q(birth_date__lte=aged_cut)),
            bedridden=Count("id", filter=Q(tags__hasflag=int(Tag.BEDRIDDEN))),
            living_alone=Count("id", filter=Q(tags__hasflag=int(Tag.LIVING_ALONE))),
            tenants=Count("id", filter=Q(residency=Residency.TENANT)),
        )
        .order_by()
    ):
        rows[row.pop("area_code")] = row
    for row in (
        Household.objects.filter(where).values("area_code").annotate(n=Count("id")).order_by()
    ):
        rows.setdefault(row["area_code"], {})["households"] = row["n"]
    return rows
