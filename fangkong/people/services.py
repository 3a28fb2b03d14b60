"""Every write the people domain allows."""

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.areas.models import CODE_LENGTH, Area, Household, Level, common_ancestor_code
from fangkong.areas.services import building_stats_store
from fangkong.core import idnumbers, pii, ratelimit
from fangkong.core.actors import user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import Conflict, DomainError, PermissionDenied
from fangkong.core.guards import authorize, require, required_reason
from fangkong.core.idnumbers import IdNumberError
from fangkong.core.notifications import Recipient, notify
from fangkong.core.paging import Page
from fangkong.core.phones import normalize_phone
from fangkong.core.text import clean_name
from fangkong.people.permissions import (
    HEALTH_TAGS,
    can_approve_handover,
    can_edit_residents,
    can_reveal_pii,
    can_search_residents,
)

from . import selectors
from .models import (
    HandOver,
    HandOverStatus,
    Residency,
    Resident,
    Tag,
    id_hash,
    years_ago,
)
from .pinyin import pinyin_keys


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


# Fields compared to decide whether a second registration changes anything.
COMPARED = ("name", "household_id", "residency", "tags", "language", "treatment", "phone_hash")


class HeldElsewhere(Conflict):
    """The ID number is registered outside the actor's jurisdiction. Says only that (no
    name, no place); the actor may ask for a hand-over (`handover_request`)."""

    code = "held_elsewhere"

    def __init__(self):
        super().__init__(
            "此人已登记在其他社区；可申请迁入，由共同上级审批",
            "this person is registered in another community; ask for a hand-over, "
            "which the office above both approves",
            field="id_number",
        )


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
        raise HeldElsewhere()
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


def resident_edit(
    *, actor, resident: Resident, household: Household, tags: int, phone: str = "", reason=""
) -> Outcome:
    """What a worker changes on a resident's page: the address, the tags and the phone
    (empty keeps it); the rest of the record stays. Audited as `people.resident_update`."""
    data = resident_validate(
        name=resident.name,
        id_type=resident.id_type,
        id_number=resident.id_number(),
        phone=phone,
        residency=resident.residency,
        tags=tags,
        language=resident.language,
        treatment=resident.treatment,
    )
    return resident_update(
        actor=actor, resident=resident, household=household, data=data, reason=reason
    )


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
    *,
    actor,
    q: str = "",
    area: str = "",
    household: int | None = None,
    tags=(),
    page: int = 1,
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
    if tags and not HEALTH_TAGS(actor):
        # Listing those who carry a tag tells the tag (core.sight).
        raise PermissionDenied(
            "您的角色不能按健康标签查找", "your role may not list residents by tag", field="tag"
        )
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
    found = selectors.resident_search_page(
        actor, term, area=area, household=household, tags=tags, page=page
    )
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
            tenants=Count("id", filter=Q(residency=Residency.TENANT)),
            aged_70_alone=Count(
                "id",
                filter=Q(birth_date__lte=aged_cut, tags__hasflag=int(Tag.LIVING_ALONE)),
            ),
            # One column a tag: bedridden, living_alone, disabled, ...
            **{tag.name.lower(): Count("id", filter=Q(tags__hasflag=int(tag))) for tag in Tag},
        )
        .order_by()
    ):
        rows[row.pop("area_code")] = row
    for row in (
        Household.objects.filter(where).values("area_code").annotate(n=Count("id")).order_by()
    ):
        rows.setdefault(row["area_code"], {})["households"] = row["n"]
    return rows


# Hand-overs between communities -------------------------------------------------------


def _community_of(code: str) -> str:
    return code[: CODE_LENGTH[Level.COMMUNITY]]


def _handover_audit(
    actor, handover: HandOver, *, event: str, reason: str, detail: dict | None = None
) -> None:
    """One record on each side: the holding community's log and the receiving one's."""
    for code in dict.fromkeys([handover.from_code, handover.to_code]):
        audit_record(
            actor=actor,
            event=event,
            target=handover.resident,
            area_code=code,
            reason=reason,
            detail={
                "handover": handover.pk,
                "from": handover.from_code,
                "to": handover.to_code,
                **(detail or {}),
            },
        )


@transaction.atomic
def handover_request(
    *, actor, household: Household, id_type: str, id_number: str, reason: str
) -> HandOver:
    """Ask for a person registered in another community to move to `household` in the
    actor's own. The actor learns nothing of them until the office above both approves.
    Asking again for the same person joins the open request."""
    _check_household(actor, household)
    reason = required_reason(reason)
    try:
        doc = idnumbers.parse(id_type, id_number)
    except IdNumberError as exc:
        raise DomainError(exc.zh, exc.en, field="id_number") from None
    resident = (
        Resident.objects.select_for_update().filter(id_hash=id_hash(doc.type, doc.number)).first()
    )
    if resident is None:
        raise DomainError(
            "此证件号尚未登记，请直接登记",
            "nobody holds this number yet; register them",
            field="id_number",
        )
    if actor.may_see_area(resident.area_code):
        raise DomainError(
            "此人已在您的辖区内，请直接修改其住址",
            "this person is in your jurisdiction; change their address instead",
            field="id_number",
        )
    open_one = HandOver.objects.filter(resident=resident).pending().first()
    if open_one is not None:
        if open_one.to_household_id == household.pk:
            return open_one
        raise Conflict(
            "此人已有一份待审批的迁移申请",
            "a hand-over of this person is already waiting",
            field="id_number",
        )
    source, target = _community_of(resident.area_code), _community_of(household.area_code)
    handover = HandOver.objects.create(
        resident=resident,
        from_code=source,
        to_code=target,
        to_household=household,
        approver_code=common_ancestor_code([source, target]),
        reason=reason,
        requested_by=user_of(actor),
    )
    _handover_audit(actor, handover, event="people.handover_request", reason=reason)
    notify(
        recipients=[Recipient(u) for u in handover_approvers(handover)],
        kind="people.handover",
        text_zh="有一份居民迁移申请待您审批",
        text_en="A resident hand-over is waiting for your decision",
        url=reverse("people:handover", args=[handover.pk]),
    )
    return handover


def handover_approvers(handover: HandOver):
    """The users of the deciding office: who holds the common ancestor itself."""
    return User.objects.filter(
        areas__code=handover.approver_code,
        role__in=can_approve_handover.roles,
        is_active=True,
    ).distinct()


@transaction.atomic
def handover_decide(*, actor, handover: HandOver, approve: bool, reason: str = "") -> HandOver:
    """The office above both communities approves (the resident moves to the new
    address, with their record) or declines (a reason is required)."""
    authorize(actor, can_approve_handover, area=handover.approver_code or "\0")
    handover = HandOver.objects.select_for_update().get(pk=handover.pk)
    if not handover.is_pending:
        raise Conflict("该申请已处理", "this hand-over has been decided already")
    reason = (reason or "").strip() if approve else required_reason(reason)
    handover.status = HandOverStatus.APPROVED if approve else HandOverStatus.DECLINED
    handover.decided_by = user_of(actor)
    handover.decided_at = timezone.now()
    handover.decision_reason = reason
    handover.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    detail = {}
    if approve:
        resident = Resident.objects.select_for_update().get(pk=handover.resident_id)
        household = handover.to_household
        old_area = resident.area_code
        resident.household = household
        resident.area_code = household.area_code
        resident.save(update_fields=["household", "area_code", "updated_at"])
        building_stats_refresh({old_area, household.area_code})
        detail = {"from_area": old_area, "to_area": household.area_code}
    _handover_audit(
        actor,
        handover,
        event="people.handover_approve" if approve else "people.handover_decline",
        reason=reason,
        detail=detail,
    )
    if handover.requested_by_id:
        notify(
            recipients=[Recipient(handover.requested_by)],
            kind="people.handover",
            text_zh="您的居民迁移申请已" + ("批准" if approve else "驳回"),
            text_en="Your resident hand-over was " + ("approved" if approve else "declined"),
            url=reverse("people:handover", args=[handover.pk]),
        )
    return handover


@transaction.atomic
def handover_cancel(*, actor, handover: HandOver, reason: str = "") -> HandOver:
    """The asking side withdraws a request still waiting."""
    authorize(actor, can_edit_residents, area=handover.to_code)
    handover = HandOver.objects.select_for_update().get(pk=handover.pk)
    if not handover.is_pending:
        raise Conflict("该申请已处理", "this hand-over has been decided already")
    handover.status = HandOverStatus.CANCELLED
    handover.decided_by = user_of(actor)
    handover.decided_at = timezone.now()
    handover.decision_reason = (reason or "").strip()
    handover.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    _handover_audit(
        actor, handover, event="people.handover_cancel", reason=handover.decision_reason
    )
    return handover
