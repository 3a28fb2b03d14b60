"""Reads of residents: scoped search by name, pinyin, initials and number digits."""

import re
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fangkong.areas.models import Area
from fangkong.areas.selectors import area_totals
from fangkong.core import idnumbers, pii
from fangkong.core.idnumbers import IdNumberError, IdType
from fangkong.core.paging import Page, paginate
from fangkong.core.scoping import prefix_q
from fangkong.core.text import clean, clean_name

from .models import AGED_LABEL, TAG_LABELS, HandOver, Resident, Tag, id_hash

_DIGITS = re.compile(r"^\d{3,17}[\dX]?$")
_LETTERS = re.compile(r"^[a-z]+$")
# How many residents sharing four last digits are decrypted to match more digits.
TAIL_CANDIDATES = 2000


def resident_search(user, q: str = "", *, area: str = "", household: int | None = None, tags=()):
    """Residents the user may see, matching `q`, under `area`, in `household`.

    Returns the queryset and, for five or more digits, the digits that the decrypted
    ID or phone number must end with (the stored tail holds only four).
    """
    residents = Resident.objects.for_user(user).select_related("household__building__parent")
    if area:
        residents = residents.within(area)
    if household:
        residents = residents.filter(household_id=household)
    residents = tag_filter(residents, tags)
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


def resident_search_page(
    user, q: str = "", *, area: str = "", household=None, tags=(), page: int = 1
):
    residents, digits = resident_search(user, q, area=area, household=household, tags=tags)
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


# Key populations by tag ---------------------------------------------------------------

# The lists a worker asks for, each with its count column in the building statistics:
# (key in the URL, label, count column). "aged_70" and "aged_70_alone" are ages, not tags.
TAG_LISTS = [
    ("aged_70", AGED_LABEL, "aged_70"),
    ("aged_70_alone", _("Aged 70+ and living alone"), "aged_70_alone"),
    *[(tag.name.lower(), label, tag.name.lower()) for tag, label in TAG_LABELS.items()],
]
TAG_KEYS = {key for key, _label, _column in TAG_LISTS}


def tag_filter(residents, keys):
    """Residents carrying every one of the tag-list `keys` (unknown keys are ignored)."""
    for key in keys:
        if key in ("aged_70", "aged_70_alone"):
            residents = residents.aged(70)
        if key == "aged_70_alone":
            residents = residents.with_tag(Tag.LIVING_ALONE)
        elif key.upper() in Tag.__members__:
            residents = residents.with_tag(Tag[key.upper()])
    return residents


@dataclass
class TagCount:
    key: str
    label: str
    count: int


def tag_counts(user, area=None) -> list[TagCount]:
    """How many of each key population live under `area` (default: all the user's
    jurisdiction), from the per-building statistics: no resident is read."""
    roots = (
        [area] if area is not None else list(Area.objects.filter(code__in=user.scope_prefixes()))
    )
    totals: dict[str, int] = {}
    for root in roots:
        for column, n in area_totals(root).items():
            totals[column] = totals.get(column, 0) + n
    return [TagCount(key, str(label), totals.get(column, 0)) for key, label, column in TAG_LISTS]


# Hand-overs -----------------------------------------------------------------------------


def handovers_to_decide(user):
    """Waiting hand-overs the user's office decides."""
    return (
        HandOver.objects.pending()
        .filter(prefix_q("approver_code", user.scope_prefixes()))
        .select_related("resident", "to_household__building")
    )


def handovers_of(user):
    """Hand-overs touching the user's jurisdiction, newest first."""
    return HandOver.objects.for_user(user).select_related("resident", "to_household__building")
