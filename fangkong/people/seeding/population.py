"""The people of a building: families, names, ID numbers, phones, ages and tags.

Rates are those a community roster shows: one person in three over 70 in an old
work-unit compound, fewer than one in ten in a new estate; about 2 % disabled, 0.5 %
bedridden, 0.1 % on dialysis or other regular treatment; most of the old have no
smartphone; tenants carry ID numbers from elsewhere.
"""

import datetime as dt
import hashlib
import hmac
import itertools
import random
from array import array
from bisect import bisect
from collections.abc import Iterator
from operator import mul

from django.conf import settings

from fangkong.core import pii
from fangkong.core.idnumbers import CHECK_CHARS, WEIGHTS, IdType, mask
from fangkong.core.phones import mask_phone
from fangkong.people.models import Residency, Tag, years_ago
from fangkong.people.pinyin import pinyin_keys

from . import data
from .tree import Building, Household

EPOCH = dt.date(1900, 1, 1)


def between(rng: random.Random, low: int, high: int) -> int:
    """rng.randint(low, high), at a third of the cost (it is called millions of times)."""
    return low + int(rng.random() * (high - low + 1))


class Weighted:
    """A fast weighted choice from a {value: weight} mapping."""

    def __init__(self, weights: dict):
        self.values = list(weights)
        self.cumulative = list(itertools.accumulate(weights.values()))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random):
        return self.values[bisect(self.cumulative, rng.random() * self.total)]


SURNAMES = Weighted(data.SURNAMES)
HOME_REGIONS = Weighted(data.HOME_REGIONS)
TENANT_REGIONS = Weighted(data.TENANT_REGIONS)
GIVEN = {key: words.split() for key, words in data.GIVEN.items()}
# Tags as plain ints: IntFlag arithmetic is slow in a loop run a million times.
(ALONE, DISABLED, BEDRIDDEN, TREATED, PREGNANT, INFANT, NO_SMARTPHONE, FOREIGN, STUDENT) = (
    int(t) for t in Tag
)


class IdNumbers:
    """Unique mainland ID numbers: per region, birth day and sex, the next sequence.

    The third-from-last digit is odd for men and even for women, so a day holds 500 of
    each. They are shared out between `lanes` (one lane takes every lanes-th number),
    so separate makers never collide; a lane's full day moves the birth date on by
    one. Memory is one small counter array a region, however many people are made.
    """

    def __init__(self, today: dt.date, lane: int = 0, lanes: int = 1):
        self.days = (today - EPOCH).days + 1
        self.today = today
        self.lane, self.lanes = lane, lanes
        self.per_lane = (500 - lane + lanes - 1) // lanes
        self.counters: dict[str, array] = {}
        self.passports = itertools.count(10_000_001 + lane * 10_000_000)

    def mainland(self, region: str, birth: dt.date, sex: str) -> tuple[str, dt.date]:
        counts = self.counters.get(region)
        if counts is None:
            counts = self.counters[region] = array("H", bytes(4 * self.days))
        day = first = (birth - EPOCH).days
        while True:
            slot = 2 * day + (sex == "M")
            if counts[slot] < self.per_lane:
                break
            day = day + 1 if day + 1 < self.days else day - 400
        k = counts[slot]
        counts[slot] = k + 1
        k = k * self.lanes + self.lane
        if day != first:
            birth = EPOCH + dt.timedelta(days=day)
        first17 = f"{region}{birth.year}{birth.month:02d}{birth.day:02d}{2 * k + (sex == 'M'):03d}"
        return first17 + mainland_check_char(first17), birth

    def passport(self, prefix: str) -> str:
        return f"{prefix}{next(self.passports)}"


class LookupHash:
    """`pii.lookup_hash`, with the keyed HMAC set up once instead of per value (a third of
    the time of a seed went there). Tests hold it equal to `pii.lookup_hash`."""

    def __init__(self):
        self.base = hmac.new(settings.PII_HASH_KEY, digestmod=hashlib.sha256)

    def __call__(self, kind: str, text: str) -> str:
        h = self.base.copy()
        h.update(f"{kind}:{text}".encode())
        return h.hexdigest()[:40]


def mainland_check_char(first17: str) -> str:
    """`idnumbers.check_char`, faster; the IDs it makes are checked by `parse_mainland`."""
    return CHECK_CHARS[sum(map(mul, map(int, first17), WEIGHTS)) % 11]


def document_fields(id_type: str, number: str, lookup=pii.lookup_hash) -> tuple:
    """(id_type, id_cipher, id_hash, id_tail, id_masked), as Resident.set_id_number sets them."""
    return id_type, pii.encrypt(number), lookup(f"ID:{id_type}", number), number[-4:], mask(number)


def phone_fields(number: str, lookup=pii.lookup_hash) -> tuple:
    """(phone_cipher, phone_hash, phone_tail, phone_masked), as Resident.set_phone sets them."""
    if not number:
        return b"", "", "", ""
    return pii.encrypt(number), lookup("phone", number), number[-4:], mask_phone(number)


# Column order of the rows made here (a loader writes them as they are).
COLUMNS = (
    "name",
    "name_pinyin",
    "name_initials",
    "id_type",
    "id_cipher",
    "id_hash",
    "id_tail",
    "id_masked",
    "phone_cipher",
    "phone_hash",
    "phone_tail",
    "phone_masked",
    "sex",
    "birth_date",
    "household_id",
    "area_code",
    "residency",
    "tags",
    "language",
    "treatment",
    "note",
)


class Person:
    __slots__ = ("age", "sex", "surname", "region", "foreign")

    def __init__(self, age: int, sex: str, surname: str, region: str = "", foreign=None):
        self.age = max(0, age)
        self.sex = sex
        self.surname = surname
        self.region = region
        self.foreign = foreign


class People:
    """Makes the residents of each household, one building at a time."""

    def __init__(self, today: dt.date, lane: int = 0, lanes: int = 1):
        self.today = today
        self.ids = IdNumbers(today, lane, lanes)
        self.lookup = LookupHash()

    # --- who lives together -------------------------------------------------------
    def family(self, rng: random.Random, h: Household) -> list[Person]:
        """Ages, sexes and surnames of a household of `h.size` people."""
        surname = SURNAMES.pick(rng)
        if h.elderly:
            head_age = min(99, int(rng.triangular(62, 96, 74)))
        elif h.tenant:
            head_age = int(rng.triangular(19, 55, 28))
        else:
            head_age = int(rng.triangular(24, 64, 36))
        head_sex = "M" if rng.random() < 0.7 else "F"
        head = Person(head_age, head_sex, surname)
        members = [head]
        father_surname = surname if head_sex == "M" else SURNAMES.pick(rng)
        if h.size >= 2:
            spouse_surname = SURNAMES.pick(rng) if head_sex == "M" else father_surname
            spouse_age = max(18, head_age + between(rng, -6, 3))
            members.append(Person(spouse_age, "F" if head_sex == "M" else "M", spouse_surname))
        younger = min(m.age for m in members)
        for i in range(2, h.size):
            sex = "M" if rng.random() < 0.51 else "F"
            if h.elderly and i == 2:  # a grown child living with old parents
                age = younger - between(rng, 24, 34)
            elif h.elderly:  # and a grandchild
                age = between(rng, 0, max(0, members[2].age - 22))
            elif i == h.size - 1 and h.size >= 4 and rng.random() < 0.45:
                # a grandparent who moved in to help with the children
                members.append(Person(head_age + between(rng, 24, 32), sex, surname))
                continue
            else:
                age = between(rng, 0, max(0, younger - 20))
            members.append(Person(age, sex, father_surname))
        return members

    # --- one household's rows -----------------------------------------------------
    def rows(
        self, rng: random.Random, building: Building, h: Household, household_id: int, size: int
    ) -> Iterator[tuple]:
        members = self.family(rng, h)[:size]
        residency = Residency.TENANT if h.tenant else Residency.PERMANENT
        if h.tenant and rng.random() < 0.004:
            foreign = [rng.choice(data.FOREIGNERS) for _ in members]
        else:
            foreign = [None] * len(members)
        home = TENANT_REGIONS.pick(rng) if h.tenant else None
        head_phone = ""
        for person, stranger in zip(members, foreign, strict=True):
            row, phone = self.person_row(rng, person, stranger, h, home, head_phone)
            head_phone = head_phone or phone
            yield (*row[:14], household_id, building.code, residency, *row[14:])

    def person_row(self, rng, person: Person, stranger, h: Household, home, head_phone):
        age = person.age
        birth = years_ago(age, self.today) - dt.timedelta(days=between(rng, 0, 364))
        tags = 0
        language = ""
        if stranger is not None:
            name, sex, prefix, language = stranger
            doc = document_fields(IdType.PASSPORT, self.ids.passport(prefix), self.lookup)
            tags = FOREIGN
        else:
            sex = person.sex
            region = home if home and rng.random() < 0.85 else None
            if region is None:
                region = TENANT_REGIONS.pick(rng) if h.tenant else HOME_REGIONS.pick(rng)
            number, birth = self.ids.mainland(region, birth, sex)
            doc = document_fields(IdType.MAINLAND, number, self.lookup)
            generation = "old" if birth.year < 1970 else "mid" if birth.year < 2000 else "new"
            name = person.surname + rng.choice(GIVEN[generation, sex])
        pinyin, initials = pinyin_keys(name)
        phone = self.phone(rng, age, head_phone)
        treatment = ""
        r = rng.random()
        if age >= 70:
            tags |= BEDRIDDEN if r < 0.03 else DISABLED if r < 0.08 else 0
            if rng.random() < 0.55:
                tags |= NO_SMARTPHONE
        else:
            tags |= BEDRIDDEN if r < 0.0008 else DISABLED if 0.01 <= r < 0.025 else 0
            if age >= 60 and rng.random() < 0.2:
                tags |= NO_SMARTPHONE
        if rng.random() < (0.003 if age >= 60 else 0.0006):
            tags |= TREATED
            treatment = rng.choice(data.TREATMENTS)
        if h.size == 1 and age >= 60:
            tags |= ALONE
        if age < 3:
            tags |= INFANT
        elif sex == "F" and 22 <= age <= 40 and rng.random() < 0.04:
            tags |= PREGNANT
        elif 18 <= age <= 24 and rng.random() < 0.02:
            tags |= STUDENT
        row = (name, pinyin, initials, *doc, *phone_fields(phone, self.lookup), sex, birth)
        return (*row, tags, language, treatment, ""), phone

    def phone(self, rng: random.Random, age: int, head_phone: str) -> str:
        """A mobile for most adults; a landline or none for many of the old; a
        parent's number for a child."""
        if age < 16:
            return head_phone
        r = rng.random()
        if age >= 70 and r > 0.4:
            return f"{data.LANDLINE_AREA}{between(rng, 6000000, 8999999)}" if r < 0.65 else ""
        return f"{rng.choice(data.MOBILE_PREFIXES)}{between(rng, 0, 99999999):08d}"
