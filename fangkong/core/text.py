"""Normalising what people type and what spreadsheets hold."""

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def clean(value: object) -> str:
    """Full-width to half-width (NFKC), all white space removed, as a string."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return _SPACES.sub("", text)


def clean_name(value: object) -> str:
    """A person's name: NFKC, inner runs of space kept single (foreign names), trimmed."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    # The middle dot of minority and foreign names comes in several code points.
    text = re.sub(r"[\u00b7\u2022\u2027\u30fb\uff65]", "·", text)
    return _SPACES.sub(" ", text)
