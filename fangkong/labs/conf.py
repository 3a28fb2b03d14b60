"""Knobs of lab results, recalls and the round report, from the environment.

| variable | default | meaning |
|---|---|---|
| FANGKONG_LABS_OVERDUE_HOURS | 12 | a sealed tube without a result after this long is overdue |
| FANGKONG_LABS_POOL_SIZES | 1,5,10,20 | the pool sizes the advisor may recommend |
| FANGKONG_LABS_ADVISOR_DAYS | 3 | the advisor reads results of this many recent days (local dates) |
| FANGKONG_LABS_MAX_BATCH | 10000 | results in one API batch |
| FANGKONG_LABS_CHUNK | 50000 | rows of a file stored per transaction |
| FANGKONG_LABS_INLINE_MAX_BYTES | 2000000 | bigger files (unpacked) are stored by the background worker |
"""

import os
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from fangkong.core import env


def _sizes(name: str, default: str) -> tuple[int, ...]:
    value = os.environ.get(name, default)
    try:
        sizes = tuple(sorted({int(p) for p in value.split(",") if p.strip()}))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be integers separated by commas") from exc
    if not sizes or sizes[0] < 1 or sizes[-1] > 50:
        raise ImproperlyConfigured(f"{name} must list pool sizes between 1 and 50, got {value!r}")
    return sizes


@dataclass(frozen=True)
class LabsConf:
    overdue_hours: int
    pool_sizes: tuple[int, ...]
    advisor_days: int
    max_batch: int
    chunk: int
    inline_max_bytes: int


def labs_conf() -> LabsConf:
    return LabsConf(
        overdue_hours=env.integer("FANGKONG_LABS_OVERDUE_HOURS", 12, low=1, high=24 * 14),
        pool_sizes=_sizes("FANGKONG_LABS_POOL_SIZES", "1,5,10,20"),
        advisor_days=env.integer("FANGKONG_LABS_ADVISOR_DAYS", 3, low=1, high=60),
        max_batch=env.integer("FANGKONG_LABS_MAX_BATCH", 10_000, low=1, high=100_000),
        chunk=env.integer("FANGKONG_LABS_CHUNK", 50_000, low=100, high=500_000),
        inline_max_bytes=env.integer(
            "FANGKONG_LABS_INLINE_MAX_BYTES", 2_000_000, low=0, high=10**9
        ),
    )
