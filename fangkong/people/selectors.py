"""Reads of residents: scoped search by name, pinyin, initials and numbers.

A number is searched in one of two ways only, so that a search never tells more than
the masked number on the screen already does:
- its last four characters (the stored tails of ID and phone numbers), for every role
  that may list residents;
- the whole number, matched exactly through its keyed hash, for the roles that may
  reveal numbers (the service audits each such search).
Anything in between (5 to 17 trailing digits) is refused: matched against decrypted
numbers by their ending, it let a role that sees only `4311**********1234` rebuild
the hidden digits one at a time.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fangkong.areas.models import Area
from fangkong.areas.selectors import area_totals
from fangkong.core import idnumbers, pii
from fangkong.core.errors import DomainError
from fangkong.core.idnumbers import IdNumberError, IdType
from fangkong.core.paging import paginate
from fangkong.core.phones import normalize_phone
from fangkong.core.scoping import prefix_q
from fangkong.core.text import clean, clean_name

from .models import AGED_LABEL, TAG_LABELS, HandOver, Resident, Tag, id_hash, years_ago

_TAIL = re.compile(r"^\d{3}[\dX]$")
_MAINLAND = re.compile(r"^\d{17}[\dX]$")
_LETTERS = re.compile(r"^[a-z]+$")
# What a document or phone number may look like once spaces and dashes are gone.
_NUMBERISH = re.compile(r"^\+?[0-9A-Z]+$")
_SEPARATORS = re.compile(r"[-()（）.]")

TAIL_OR_WHOLE = DomainError(
    "按号码查找请输入证件号或手机号的末4位，或完整号码",
    "search a number by the last 4 characters of an ID or phone number, or the whole number",
    field="q",
)


@dataclass(frozen=True)
class Term:
    """What a search box means, parsed once: the filter and, for a whole number, the
    kinds of number it was looked up as (`id:ID`, `id:PP`, …, `phone`)."""

    where: Q = field(default_factory=Q)
    whole_number: tuple[str, ...] = ()
    masked: str = ""  # a whole number as the audit log may show it

    @property
    def is_whole_number(self) -> bool:
        return bool(self.whole_number)


def search_term(raw: str) -> Term:
    """Parse a search box: a name, pinyin or initials, a number's last four characters,
    or a whole ID, passport, permit or phone number. DomainError for a partial number."""
    q = clean(raw)
    if not q:
        return Term()
    number = _SEPARATORS.sub("", q).upper()
    if _NUMBERISH.match(number) and any(c.isdigit() for c in number):
        return _number_term(number)
    lower = q.lower()
    if _LETTERS.match(lower):
        return Term(Q(name_initials__startswith=lower) | Q(name_pinyin__startswith=lower))
    # `q` has lost its inner spaces; a foreign name keeps them as typed.
    typed = clean_name(raw)
    by_name = Q(name__startswith=q)
    if typed != q:
        by_name |= Q(name__startswith=typed)
    return Term(by_name)


def _number_term(number: str) -> Term:
    if _TAIL.match(number):
        return Term(Q(id_tail=number) | Q(phone_tail=number))
    where, kinds = Q(pk__in=[]), []
    if _MAINLAND.match(number):
        # Looked up even when its check character is wrong (it then finds nobody), so a
        # refusal never depends on whether a guess is well formed.
        where |= Q(id_hash=id_hash(IdType.MAINLAND, number))
        kinds.append(f"id:{IdType.MAINLAND}")
    for id_type in (IdType.PASSPORT, IdType.HK_MACAO, IdType.TAIWAN):
        try:
            doc = idnumbers.parse(id_type, number)
        except IdNumberError:
            continue
        where |= Q(id_hash=id_hash(doc.type, doc.number))
        kinds.append(f"id:{doc.type}")
    try:
        phone = normalize_phone(number)
    except IdNumberError:
        phone = ""
    if phone:
        where |= Q(phone_hash=pii.lookup_hash("phone", phone))
        kinds.append("phone")
    if not kinds:
        raise TAIL_OR_WHOLE
    return Term(where, tuple(kinds), idnumbers.mask(number.lstrip("+")))


def residents_matching(user, term: Term, *, area: str = "", household: int | None = None, tags=()):
    """Residents the user may see, matching a parsed term, under `area`, in `household`,
    carrying every one of the key-population `tags` (see TAG_LISTS)."""
    residents = Resident.objects.for_user(user).select_related("household__building__parent")
    if area:
        residents = residents.within(area)
    if household:
        residents = residents.filter(household_id=household)
    residents = tag_filter(residents, tags)
    return residents.filter(term.where)


def resident_search_page(
    user, term: Term, *, area: str = "", household=None, tags=(), page: int = 1
):
    found = residents_matching(user, term, area=area, household=household, tags=tags)
    return paginate(found, page)


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


def resident_by_id_hash(key: str) -> Resident | None:
    """The resident whose document hashes to `key` (core.pii keyed hash "ID:<type>"), for
    another app to link its own record of the same person (a worker who lives here).
    The caller must not show the resident's details to anyone outside their area."""
    if not key:
        return None
    return Resident.objects.filter(id_hash=key).only("id", "area_code").first()


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


def residents_by_keys_under(prefix: str, *, limit: int | None = 200):
    """Residents under an area code, by id, for demo and benchmark arrangements that pick
    people (unscoped; never reached from a request)."""
    residents = Resident.objects.filter(area_code__startswith=prefix).order_by("id")
    return residents[:limit] if limit else residents


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


def user_contact(user) -> Contact | None:
    """The contact of the resident a user's account is linked to (None if it is not, or
    the record is gone). No query when the resident came with the user: the API's token
    look-up loads it (accounts.services.token_authenticate)."""
    if user.resident_id is None:
        return None
    try:
        row = user.resident
    except Resident.DoesNotExist:
        return None
    return Contact(row.pk, row.name, row.household_id, row.area_code, row.phone())
