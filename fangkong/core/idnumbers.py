"""Identity documents: mainland resident ID numbers (GB 11643-1999) and others.

A mainland ID number has 18 characters: a 6-digit region code, an 8-digit birth
date, a 3-digit sequence whose last digit is odd for men and even for women, and an
ISO 7064 MOD 11-2 check character (0-9 or X).
"""

import datetime as dt
import re
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from .text import clean

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

# First two digits of the region code: provinces, plus 71 (Taiwan), 81 (Hong Kong),
# 82 (Macao) and 83 (residence permits of Taiwan residents).
PROVINCES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
    ]
)
EARLIEST_BIRTH = dt.date(1900, 1, 1)


class IdType(models.TextChoices):
    MAINLAND = "ID", _("Resident ID card")
    PASSPORT = "PP", _("Passport")
    HK_MACAO = "HM", _("Hong Kong/Macao permit")
    TAIWAN = "TW", _("Taiwan permit")


class IdNumberError(ValueError):
    """Carries a bilingual reason: `zh` and `en`."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.zh = zh
        self.en = en

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


@dataclass(frozen=True)
class IdDocument:
    type: str
    number: str
    birth_date: dt.date | None = None
    sex: str = ""  # "M", "F" or "" when the document does not say

    @property
    def tail(self) -> str:
        return self.number[-4:]

    @property
    def masked(self) -> str:
        return mask(self.number)


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def parse_mainland(raw: object, *, today: dt.date | None = None) -> IdDocument:
    number = clean(raw).upper()
    if not number:
        raise IdNumberError("身份证号为空", "ID number is empty")
    if len(number) == 15 and number.isdigit():
        raise IdNumberError(
            "15位旧身份证号，请填写18位号码", "old 15-digit ID number; give the 18-digit one"
        )
    if len(number) != 18:
        raise IdNumberError(
            f"身份证号应为18位，实为{len(number)}位",
            f"ID number must have 18 characters, has {len(number)}",
        )
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise IdNumberError(
            "身份证号只能包含数字，末位可为X", "ID number must be digits, the last may be X"
        )
    if number[:2] not in PROVINCES:
        raise IdNumberError(
            f"身份证号地区码{number[:6]}无效", f"ID number region code {number[:6]} is not valid"
        )
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError(
            f"身份证号出生日期{number[6:14]}无效",
            f"ID number birth date {number[6:14]} is not a real date",
        ) from None
    today = today or dt.date.today()
    if birth < EARLIEST_BIRTH or birth > today:
        raise IdNumberError(
            f"身份证号出生日期{number[6:14]}不合理",
            f"ID number birth date {number[6:14]} is not plausible",
        )
    if check_char(number[:17]) != number[17]:
        raise IdNumberError(
            "身份证号校验位错误，请核对", "ID number check character is wrong; please check it"
        )
    sex = "M" if int(number[16]) % 2 else "F"
    return IdDocument(IdType.MAINLAND, number, birth, sex)


_OTHER_PATTERNS = {
    # Passports of any country: letters and digits.
    IdType.PASSPORT: re.compile(r"^[A-Z0-9]{5,17}$"),
    # 港澳居民来往内地通行证: H or M, then 8 or 10 digits.
    IdType.HK_MACAO: re.compile(r"^[HM]\d{8}(\d{2})?$"),
    # 台湾居民来往大陆通行证: 8 digits (older ones carry a bracketed suffix).
    IdType.TAIWAN: re.compile(r"^\d{8}(\d{2})?$"),
}
_OTHER_NAMES = {
    IdType.PASSPORT: ("护照号码", "passport number"),
    IdType.HK_MACAO: ("港澳通行证号码", "Hong Kong/Macao permit number"),
    IdType.TAIWAN: ("台湾通行证号码", "Taiwan permit number"),
}


def parse(id_type: str, raw: object, *, today: dt.date | None = None) -> IdDocument:
    """Validate and normalise a document number of the given type."""
    if id_type == IdType.MAINLAND:
        return parse_mainland(raw, today=today)
    if id_type not in _OTHER_PATTERNS:
        raise IdNumberError(f"证件类型{id_type}未知", f"unknown document type {id_type}")
    number = re.sub(r"[()（）\-]", "", clean(raw).upper())
    zh, en = _OTHER_NAMES[IdType(id_type)]
    if not number:
        raise IdNumberError(f"{zh}为空", f"{en} is empty")
    if not _OTHER_PATTERNS[IdType(id_type)].match(number):
        raise IdNumberError(f"{zh}格式不正确", f"{en} is not in a valid format")
    return IdDocument(id_type, number)


def mask(number: str) -> str:
    """4311**********1234: the head and the tail, never the birth date."""
    if len(number) <= 8:
        return number[:1] + "*" * (len(number) - 3) + number[-2:] if len(number) > 3 else "***"
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def make_mainland(region: str, birth: dt.date, sequence: int) -> str:
    """Build a valid ID number (used by the demo seeder and tests)."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)
