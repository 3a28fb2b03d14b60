"""Reads of residents: scoped search by name, pinyin, initials and number digits."""

import re

from django.db.models import Q

from fangkong.core import idnumbers, pii
from fangkong.core.idnumbers import IdNumberError, IdType
from fangkong.core.paging import Page, paginate
from fangkong.core.text import clean, clean_name

from .models import Resident, id_hash

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


# Reads for other apps (which may not read this app's models) ----------------------------


def residents_for(user):
    """The residents a user may see: the scoped queryset another app fetches one from."""
    return Resident.objects.for_user(user)


def residents_by_keys(keys):
    """Residents whose document hash (`id_hash`, the keyed look-up hash every app shares)
    is among `keys`, with only what is needed to assign work about them. Unscoped: the
    calling service has authorized its actor (a match run finds people anywhere)."""
    return Resident.objects.filter(id_hash__in=list(keys)).only(
        "id", "name", "id_hash", "id_type", "id_masked", "phone_masked", "area_code", "household_id"
    )


def household_members(household_id: int):
    """The residents of one household (unscoped: the caller has checked the household)."""
    return Resident.objects.filter(household_id=household_id).order_by("id")
