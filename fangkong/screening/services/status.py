"""Tracked people and their control statuses."""

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from fangkong.areas.models import Area
from fangkong.core import idnumbers, pii
from fangkong.core.actors import user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import DomainError
from fangkong.core.guards import authorize, required_reason
from fangkong.core.idnumbers import IdNumberError
from fangkong.core.phones import mask_phone, normalize_phone
from fangkong.core.text import clean_name
from fangkong.people import selectors as people

from ..models import ControlKind, ControlStatus, Person
from ..permissions import can_register_person, can_set_status
from ..policies import CONTACTS


def person_key(id_type: str, number: str) -> str:
    """The keyed hash of a checked document number: the same as the resident's
    `id_hash` and the venue-scan store's person key."""
    return pii.lookup_hash(f"ID:{id_type}", number)


def person_for_resident(resident) -> Person:
    """The tracked person of a resident, made on first need (not a write anyone sees:
    a copy of the roster's identity). Keeps `area_code` on the resident's building."""
    person = Person.objects.filter(person_key=resident.id_hash).first()
    if person is None:
        try:
            with transaction.atomic():
                return Person.objects.create(
                    resident_id=resident.pk,
                    person_key=resident.id_hash,
                    name=resident.name,
                    id_type=resident.id_type,
                    id_masked=resident.id_masked,
                    phone_masked=resident.phone_masked,
                    area_code=resident.area_code,
                )
        except IntegrityError:  # made a moment ago by another request
            person = Person.objects.get(person_key=resident.id_hash)
    changed: dict[str, object] = {}
    if person.resident_id != resident.pk:  # found first, on the roster now
        changed |= {"resident_id": resident.pk, "found": False}
    if person.area_code != resident.area_code:
        changed["area_code"] = resident.area_code
    if changed:
        for name, value in changed.items():
            setattr(person, name, value)
        person.save(update_fields=list(changed))
    return person


@dataclass
class Registration:
    person: Person
    # The number belongs to someone of another community: the caller learns only that.
    elsewhere: bool = False
    created: bool = False


def _document(id_type: str, number: str) -> idnumbers.IdDocument:
    try:
        return idnumbers.parse(id_type or idnumbers.IdType.MAINLAND, number)
    except IdNumberError as exc:
        raise DomainError(exc.zh, exc.en, field="id_number") from None


@transaction.atomic
def person_register(
    *,
    actor,
    id_type: str,
    id_number: str,
    name: str,
    area: Area,
    phone: str = "",
    note: str = "",
) -> Registration:
    """Register a person found at `area` (a visitor, a traveller): a resident of the
    actor's jurisdiction is their roster record; a resident or person kept elsewhere is
    theirs, and the actor learns only that (no name, no place); anyone else is a new
    person attached to `area`."""
    authorize(actor, can_register_person, area=area.code)
    doc = _document(id_type, id_number)
    name = clean_name(name)
    try:
        phone = normalize_phone(phone)
    except IdNumberError as exc:
        raise DomainError(exc.zh, exc.en, field="phone") from None
    key = person_key(doc.type, doc.number)
    resident = people.residents_by_keys([key]).first()
    if resident is not None:
        on_roster = person_for_resident(resident)
        return Registration(on_roster, elsewhere=not actor.may_see_area(resident.area_code))
    known = Person.objects.select_for_update().filter(person_key=key).first()
    if known is not None:
        return Registration(known, elsewhere=not actor.may_see_area(known.area_code))
    if not name:
        raise DomainError("姓名为空", "name is empty", field="name")
    person = Person.objects.create(
        person_key=key,
        name=name[:100],
        id_type=doc.type,
        id_cipher=pii.encrypt(doc.number),
        id_masked=doc.masked,
        phone_cipher=pii.encrypt(phone),
        phone_masked=mask_phone(phone) if phone else "",
        area_code=area.code,
        found=True,
        found_note=note.strip()[:200],
        created_by=user_of(actor),
    )
    audit_record(
        actor=actor,
        event="screening.person_register",
        target=person,
        target_label=f"{person.name} {person.id_masked}",
        area_code=area.code,
        detail={"found_at": area.code, "note": person.found_note},
    )
    return Registration(person, created=True)


def planned_span(kind: str, category: str, starts_at: dt.datetime, area_code: str):
    """(planned end, then kind, then days, policy version) of a status started now for a
    person of `category`, by the contact rules in force at `starts_at`."""
    if not category:
        return None, "", 0, None
    rule = CONTACTS.at(starts_at, area_code)
    measure = getattr(rule.value, category)
    if kind == measure.first:
        end = starts_at + dt.timedelta(days=measure.first_days) if measure.first_days else None
        return end, measure.then or "", measure.then_days if measure.then else 0, rule.version
    if kind == measure.then:
        return starts_at + dt.timedelta(days=measure.then_days), "", 0, rule.version
    return None, "", 0, rule.version


def status_change(
    *,
    actor,
    person: Person,
    kind: str,
    reason: str,
    category: str = "",
    planned_end: dt.datetime | None = None,
    task=None,
) -> ControlStatus:
    """End the current status and start `kind` (the caller has authorized)."""
    if kind not in ControlKind.values:
        raise DomainError("管控状态无效", "not a control status", field="kind")
    reason = required_reason(reason)
    person = Person.objects.select_for_update().get(pk=person.pk)
    now = timezone.now()
    current = ControlStatus.objects.current().filter(person=person).first()
    if current is not None:
        if current.kind == kind and not category:
            raise DomainError("状态未改变", "the status is already that", field="kind")
        current.ended_at = now
        current.save(update_fields=["ended_at"])
    end, then_kind, then_days, version = planned_span(kind, category, now, person.area_code)
    if planned_end is not None:
        if planned_end <= now:
            raise DomainError(
                "计划结束时间须晚于现在", "the planned end must be later", field="planned_end"
            )
        end = planned_end
    if kind in (ControlKind.NONE, ControlKind.RELEASED):
        end, then_kind, then_days = None, "", 0
    status = ControlStatus.objects.create(
        person=person,
        area_code=person.area_code,
        kind=kind,
        starts_at=now,
        planned_end=end,
        then_kind=then_kind,
        then_days=then_days,
        category=category,
        policy_version=version,
        reason=reason,
        set_by=user_of(actor),
        set_by_name=actor.username,
        task=task,
    )
    audit_record(
        actor=actor,
        event="screening.status_set",
        target=status,
        target_label=f"{person.name} {person.id_masked}",
        area_code=person.area_code,
        reason=reason,
        detail={
            "person": person.pk,
            "from": current.kind if current else ControlKind.NONE,
            "to": kind,
            "category": category,
            "planned_end": end.isoformat() if end else None,
            "policy_version": version,
            "task": getattr(task, "pk", None),
        },
    )
    return status


@transaction.atomic
def status_set(
    *,
    actor,
    person: Person,
    kind: str,
    reason: str,
    category: str = "",
    planned_end: dt.datetime | None = None,
) -> ControlStatus:
    """Change a person's control status, with a reason on record. With a contact
    `category`, the planned end (and the next step) come from the contact rules in force
    now, whose version the status keeps; a later change of the rules leaves it as is."""
    authorize(actor, can_set_status, area=person.area_code)
    return status_change(
        actor=actor,
        person=person,
        kind=kind,
        reason=reason,
        category=category,
        planned_end=planned_end,
    )
