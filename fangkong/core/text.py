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


def mask_name(name: str) -> str:
    """A name as one shows it to confirm a person without telling it: 张*丰, 张*, 欧**娜.

    Enough for a sampler to match the person in front of them (with the masked ID
    number); too little to learn who a stranger's ID number belongs to."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
