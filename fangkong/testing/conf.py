"""Knobs of the upload path, from the environment; loud on bad values.

| variable | default | meaning |
|---|---|---|
| FANGKONG_INGEST_SLOTS | 2 | uploads one server process stores at once |
| FANGKONG_INGEST_QUEUE | 4 | uploads that may wait for a slot; more are refused at once |
| FANGKONG_INGEST_WAIT_MS | 500 | how long an upload waits for a slot before a 503 |
| FANGKONG_INGEST_STATEMENT_MS | 5000 | PostgreSQL statement_timeout inside an upload |
| FANGKONG_INGEST_LOCK_MS | 2000 | PostgreSQL lock_timeout inside an upload |
| FANGKONG_INGEST_MAX_EVENTS | 1000 | events in one upload |
| FANGKONG_INGEST_PACE_S | 30 | when the gate is pressed, devices are asked to wait up to this long before their next upload (`Upload-Pace`); 0: never |
"""

import os
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured


def _int(name: str, default: int, low: int, high: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc
    if not low <= number <= high:
        raise ImproperlyConfigured(f"{name} must be between {low} and {high}, got {number}")
    return number


@dataclass(frozen=True)
class IngestConf:
    slots: int
    queue: int
    wait_ms: int
    statement_ms: int
    lock_ms: int
    max_events: int
    pace_s: int


def ingest_conf() -> IngestConf:
    return IngestConf(
        slots=_int("FANGKONG_INGEST_SLOTS", 2, 1, 256),
        queue=_int("FANGKONG_INGEST_QUEUE", 4, 0, 10_000),
        wait_ms=_int("FANGKONG_INGEST_WAIT_MS", 500, 0, 60_000),
        statement_ms=_int("FANGKONG_INGEST_STATEMENT_MS", 5000, 100, 600_000),
        lock_ms=_int("FANGKONG_INGEST_LOCK_MS", 2000, 100, 600_000),
        max_events=_int("FANGKONG_INGEST_MAX_EVENTS", 1000, 1, 100_000),
        pace_s=_int("FANGKONG_INGEST_PACE_S", 30, 0, 600),
    )
