"""Reads of residents: scoped search by name, pinyin, initials and number digits."""

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Q

from fangkong.core import idnumbers, pii
from fangkong.core.idnumbers import IdNumberError, IdType
from fangkong.core.paging import Page, paginate
from fangkong.core.text import clean, clean_name

from .models import Resident, Tag, id_hash, years_ago

_DIGITS = re.compile(r"^\d{3,17}[\dX]?$")
_LETTERS = re.compile(r"^[a-z]+$")
# How many residents sharing four last digits are decrypted to match more digits.
TAIL_CANDIDATES = 2000


def resident_search(user, q: str = "", *, area: str = "", household: int | None = None):
    """Residents the user may see, matching `q`, under `area`, in `household`.

    Returns the queryset and, for five or more digits, the digits that the decrypted
    ID or phone number must end with (the stored tail holds only four).
    """
    residents = Resident.objects.for_user(user).select_related("household__building__parent")
    if area:
        residents = residents.within(area)
    if household:
        residents = residents.filter(household_id=household)
    where, digits = match_q(q)
    return residents.filter(where), digits


def match_q(raw: str) -> tuple[Q, str]:
    """What a search box means: a name, pinyin or initials, or digits of ID or phone."""
    q = clean(raw)
    if not q:
        return Q(), ""
    upper = q.upper()
    if _DIGITS.match(upper):
        return _digits_q(upper)
    lower = q.lower()
    if _LETTERS.match(lower):
        return Q(name_initials__startswith=lower) | Q(name_pinyin__startswith=lower), ""
    # `q` has lost its inner spaces; a foreign name keeps them as typed.
    typed = clean_name(raw)
    by_name = Q(name__startswith=q)
    if typed != q:
        by_name |= Q(name__startswith=typed)
    # A passport or permit number typed in full.
    for id_type in (IdType.PASSPORT, IdType.HK_MACAO):
        try:
            doc = idnumbers.parse(id_type, q)
        except IdNumberError:
            continue
        by_name |= Q(id_hash=id_hash(doc.type, doc.number))
    return by_name, ""


def _digits_q(q: str) -> tuple[Q, str]:
    if len(q) == 18:
        return Q(id_hash=id_hash(IdType.MAINLAND, q)), ""
    if len(q) == 11 and q.startswith("1"):
        return Q(phone_hash=pii.lookup_hash("phone", q)), ""
    if len(q) < 4:
        return Q(pk__in=[]), ""
    tail = q[-4:]
    return Q(id_tail=tail) | Q(phone_tail=tail), (q if len(q) > 4 else "")


def resident_search_page(user, q: str = "", *, area: str = "", household=None, page: int = 1):
    residents, digits = resident_search(user, q, area=area, household=household)
    if not digits:
        return paginate(residents, page)
    matches = [
        r
        for r in residents[:TAIL_CANDIDATES]
        if r.id_number().endswith(digits) or r.phone().endswith(digits)
    ]
    page = max(1, page)
    start = (page - 1) * 20
    return Page(matches[start : start + 20], page, len(matches) > start + 20)


# For proactive care and deliveries (fangkong.relief) ------------------------------------

# Roster tags that call for check-ins, by the name the relief app's care policy uses.
# "aged_alone" is 70+ and living alone (age is read from the birth date).
CARE_TAGS = {
    "disabled": Tag.DISABLED,
    "bedridden": Tag.BEDRIDDEN,
    "regular_treatment": Tag.REGULAR_TREATMENT,
    "pregnant": Tag.PREGNANT,
    "infant": Tag.INFANT,
    "no_smartphone": Tag.NO_SMARTPHONE,
}


@dataclass(frozen=True)
class CareCandidate:
    resident_id: int
    household_id: int
    area_code: str
    name: str
    tags: frozenset[str]
    treatment: str


def care_candidates(area_code: str) -> Iterator[CareCandidate]:
    """The vulnerable residents under `area_code` (the caller has checked the area is in
    its actor's jurisdiction), with the care tags they carry. Streams in id order."""
    aged = years_ago(70)
    wanted = Q(tags__hasflag=int(Tag.LIVING_ALONE), birth_date__lte=aged)
    for tag in CARE_TAGS.values():
        wanted |= Q(tags__hasflag=int(tag))
    rows = (
        Resident.objects.within(area_code)
        .filter(wanted)
        .order_by("id")
        .values_list("id", "household_id", "area_code", "name", "tags", "birth_date", "treatment")
    )
    for pk, household, code, name, flags, birth, treatment in rows.iterator(chunk_size=2000):
        tags = {key for key, tag in CARE_TAGS.items() if flags & tag}
        if flags & Tag.LIVING_ALONE and birth is not None and birth <= aged:
            tags.add("aged_alone")
        if tags:
            yield CareCandidate(pk, household, code, name, frozenset(tags), treatment)


@dataclass(frozen=True)
class Contact:
    resident_id: int
    name: str
    household_id: int
    area_code: str
    phone: str  # in full: store it encrypted, or show it only through an audited reveal


def resident_contact(resident_id: int) -> Contact | None:
    """Name, household and phone of one resident, for a service that has already checked
    the actor may act for them (a resident for their household, a worker in their area)."""
    row = Resident.objects.filter(pk=resident_id).first()
    if row is None:
        return None
    return Contact(row.pk, row.name, row.household_id, row.area_code, row.phone())
