"""An upload's events, their answers, and the checks that need no database."""

import datetime as dt
import re
from dataclasses import dataclass, field

from fangkong.core import clock, idnumbers, pii
from fangkong.core.idnumbers import IdNumberError
from fangkong.people.models import id_hash

from ..models import (
    EventStatus,
    SampleFlag,
    Via,
)
from ..policies import MAX_POOL

EVENT_TYPES = ("tube_open", "sample", "tube_seal")
BARCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


@dataclass
class Event:
    """One event as a device sent it (see docs/sampling-protocol.md)."""

    client_id: str
    type: str
    at: dt.datetime | None = None
    round: int | None = None
    site: int | None = None
    channel: int | None = None
    tube: str = ""
    pool_size: int | None = None
    code: str = ""
    id_type: str = ""
    id_number: str = ""
    # Door-to-door only: the server itself names the person and the tube's owner.
    resident_id: int | None = None
    via: str = Via.SITE


@dataclass
class Result:
    client_id: str
    status: str
    flags: list[str] = field(default_factory=list)
    code: str = ""
    message: str = ""
    message_zh: str = ""
    resident: dict | None = None

    def as_dict(self) -> dict:
        out = {"client_id": self.client_id, "status": self.status, "flags": self.flags}
        if self.status == EventStatus.REJECTED:
            out.update(code=self.code, message=self.message, message_zh=self.message_zh)
        if self.resident is not None:
            out["resident"] = self.resident
        return out


class Refused(Exception):
    def __init__(self, code: str, zh: str, en: str):
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en


@dataclass
class _Work:
    """An event being processed, with what the checks learned about it."""

    ev: Event
    refused: Refused | None = None
    owner: tuple | None = None  # (round, site, channel, via): who may use the tube
    area_code: str = ""  # the site's area (or the home building)
    resident_id: int | None = None
    resident_area: str = ""
    name: str = ""
    id_masked: str = ""
    unknown: tuple | None = None  # (id_type, cipher, hash, masked) of an unknown person
    flags: int = 0
    sample_id: int | None = None
    time_ok: bool = False  # `ev.at` passed the window and is a UTC instant now

    @property
    def key(self) -> tuple:
        return (self.ev.at, self.ev.client_id)


def _check_time(w: _Work, now: dt.datetime, limits: clock.Window) -> None:
    """The event's claimed time, inside the window around `now` (the receive time), as
    UTC; a time ahead of the receive time by more than the skew allowance is flagged."""
    ev = w.ev
    if ev.at is None:
        return
    try:
        ev.at = clock.client_time(
            ev.at,
            received=now,
            label=(f"事件{ev.client_id}", f"event {ev.client_id}"),
            field="at",
            field_zh="时间",
            limits=limits,
        )
    except clock.ClientTimeError as exc:
        raise Refused("bad_time", exc.zh, exc.en) from None
    w.time_ok = True
    if clock.ahead(ev.at, now, limits):
        w.flags |= SampleFlag.CLOCK_SKEW


def _clean_event(ev: Event) -> None:
    """Checks that need no database. Raises Refused."""
    if ev.type not in EVENT_TYPES:
        raise Refused(
            "bad_event",
            f"事件类型{ev.type!r}未知",
            f"unknown event type {ev.type!r}; expected tube_open, sample or tube_seal",
        )
    missing = [f for f in ("at", "round", "tube") if not getattr(ev, f)]
    if ev.via == Via.SITE:
        missing += [f for f in ("site", "channel") if not getattr(ev, f)]
    if missing:
        names = ", ".join(missing)
        raise Refused("missing_field", f"缺少字段：{names}", f"missing field(s): {names}")
    if not BARCODE.match(ev.tube):
        raise Refused(
            "bad_tube",
            f"试管条码{ev.tube!r}格式不正确",
            f"tube barcode {ev.tube!r} is not valid (letters, digits, . _ -; at most 40)",
        )
    if ev.pool_size is not None and not 1 <= ev.pool_size <= MAX_POOL:
        raise Refused(
            "bad_pool",
            f"混采人数应在1到{MAX_POOL}之间",
            f"pool size must be between 1 and {MAX_POOL}",
        )


def _read_person(w: _Work) -> None:
    """Who a sample is of: a signed code, or an ID number typed by hand."""
    from fangkong.people.codes import code_verify

    ev = w.ev
    if ev.resident_id is not None:
        w.resident_id = ev.resident_id
        return
    if ev.code:
        claims = code_verify(ev.code)  # CodeError is a DomainError: bilingual
        w.resident_id, w.name, w.id_masked = claims.resident_id, claims.name, claims.id_masked
        return
    if ev.id_number:
        try:
            doc = idnumbers.parse(ev.id_type or idnumbers.IdType.MAINLAND, ev.id_number)
        except IdNumberError as exc:
            raise Refused("bad_id", exc.zh, exc.en) from None
        w.unknown = (doc.type, pii.encrypt(doc.number), id_hash(doc.type, doc.number), doc.masked)
        w.id_masked = doc.masked
        return
    raise Refused(
        "missing_person", "采样缺少居民码或证件号", "a sample needs a resident code or an ID number"
    )


def _earliest(works: list[_Work]) -> _Work | None:
    return min(works, key=lambda w: w.key) if works else None
