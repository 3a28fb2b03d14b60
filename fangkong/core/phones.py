"""Phone numbers as rosters hold them: dashes, spaces, +86, full-width digits."""

import re

from .idnumbers import IdNumberError
from .text import clean

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")
LOCAL_LANDLINE = re.compile(r"^[2-9]\d{6,7}$")


class PhoneError(IdNumberError):
    pass


def normalize_phone(raw: object) -> str:
    """Digits only; '' for empty input; PhoneError if it cannot be a phone number."""
    text = clean(raw)
    if not text:
        return ""
    text = re.sub(r"[-()（）.]", "", text)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if not text.isdigit():
        raise PhoneError(
            "电话号码含有非数字字符", "phone number has characters that are not digits"
        )
    if MOBILE.match(text) or LANDLINE.match(text) or LOCAL_LANDLINE.match(text):
        return text
    raise PhoneError(
        f"电话号码{len(text)}位，不是有效的手机或座机号码",
        f"phone number has {len(text)} digits and is not a valid mobile or landline number",
    )


def mask_phone(number: str) -> str:
    if len(number) >= 11:
        return number[:3] + "*" * (len(number) - 7) + number[-4:]
    if len(number) > 4:
        return "*" * (len(number) - 4) + number[-4:]
    return number
