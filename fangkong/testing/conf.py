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

from dataclasses import dataclass

from fangkong.core import env


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
        slots=env.integer("FANGKONG_INGEST_SLOTS", 2, low=1, high=256),
        queue=env.integer("FANGKONG_INGEST_QUEUE", 4, low=0, high=10_000),
        wait_ms=env.integer("FANGKONG_INGEST_WAIT_MS", 500, low=0, high=60_000),
        statement_ms=env.integer("FANGKONG_INGEST_STATEMENT_MS", 5000, low=100, high=600_000),
        lock_ms=env.integer("FANGKONG_INGEST_LOCK_MS", 2000, low=100, high=600_000),
        max_events=env.integer("FANGKONG_INGEST_MAX_EVENTS", 1000, low=1, high=100_000),
        pace_s=env.integer("FANGKONG_INGEST_PACE_S", 30, low=0, high=600),
    )
