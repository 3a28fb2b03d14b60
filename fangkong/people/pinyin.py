"""Pinyin keys for name search: 张三丰 → ("zhangsanfeng", "zsf")."""

import re
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

_NON_LETTERS = re.compile(r"[^a-z]")


@lru_cache(maxsize=65536)
def pinyin_keys(name: str) -> tuple[str, str]:
    syllables = [s.lower() for s in lazy_pinyin(name, style=Style.NORMAL, errors="default")]
    words = [w for s in syllables for w in re.split(r"[\s·.\-]+", s) if w]
    full = _NON_LETTERS.sub("", "".join(words))
    initials = "".join(w[0] for w in words if w and w[0].isalpha())
    return full[:200], initials[:50]
