"""What is kept besides samples: opens, seals, refusals; and the coverage counters."""

import datetime as dt
import json
from collections import defaultdict

from fangkong.core import idnumbers

from ..models import (
    BuildingCoverage,
    EventStatus,
    UploadEvent,
)
from .checks import _Work
from .refs import _Refs
from .sql import _dt, _insert_statements


def _events_store(works: list[_Work], refs: _Refs, actor, device_id: str, now) -> list:
    """The statements that keep opens, seals and refusals (to run in order)."""
    rows = []
    for w in works:
        ev = w.ev
        if w.refused is None and ev.type == "sample":
            continue  # kept as its Sample row
        refused = w.refused
        payload = {}
        if refused is not None:
            payload = {
                k: v
                for k, v in {
                    "type": ev.type,
                    "at": ev.at.isoformat() if isinstance(ev.at, dt.datetime) else None,
                    "round": ev.round,
                    "site": ev.site,
                    "channel": ev.channel,
                    "tube": ev.tube,
                    "pool_size": ev.pool_size,
                    "code": ev.code[:1000],
                    "id_type": ev.id_type,
                    "id_masked": idnumbers.mask(ev.id_number) if ev.id_number else "",
                }.items()
                if v not in (None, "")
            }
        rows.append(
            (
                ev.client_id,
                ev.type[:20],
                ev.round if ev.round in refs.rounds else None,
                w.area_code,
                (ev.tube or "")[:40],
                device_id,
                getattr(actor, "pk", None),
                _dt(ev.at) if w.time_ok else None,  # never a time outside the window
                _dt(now),
                EventStatus.REJECTED if refused else EventStatus.ACCEPTED,
                refused.code if refused else "",
                refused.en[:300] if refused else "",
                refused.zh[:300] if refused else "",
                json.dumps(payload, ensure_ascii=False),
            )
        )
    rows.sort()
    columns = ["client_id", "type", "round_id", "area_code", "tube", "device_id", "user_id"]
    columns += ["at", "received_at", "status", "code", "message", "message_zh", "payload"]
    if not rows:
        return []
    return _insert_statements(UploadEvent, columns, rows, "client_id", "client_id")


def _counters_move(firsts: list[_Work], ended: list[tuple]) -> list:
    """The statements that move the coverage counters, one a building in code order."""
    moves: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for w in firsts:
        moves[(w.ev.round, w.resident_area)][0] += 1
    for _pk, rnd, _rid, code in ended:
        moves[(rnd, code)][1] += 1
    sql = (
        f"UPDATE {BuildingCoverage._meta.db_table} SET sampled = sampled + %s, "
        "exempt = exempt - %s WHERE round_id = %s AND area_code = %s"
    )
    return [(sql, [s, e, rnd, code]) for (rnd, code), (s, e) in sorted(moves.items())]
