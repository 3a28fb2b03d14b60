"""The app's hard constraints on who may take a seat, as plain functions (no database):
the allocation, a person adjusting a proposal and the substitution all use them."""

import datetime as dt
import functools
from dataclasses import dataclass

NIGHT_STARTS, NIGHT_ENDS = dt.time(22, 0), dt.time(6, 0)


@dataclass(frozen=True)
class Availability:
    """What a worker said they can give, and their status."""

    days: int  # Monday 1 … Sunday 64
    day_from: dt.time
    day_until: dt.time
    nights: bool
    available: bool = True
    # Unavailable until then (None: for good, or available now).
    until: dt.datetime | None = None


@functools.lru_cache(maxsize=4096)
def weekday_bits(first: dt.date, last: dt.date) -> int:
    """The weekdays a span of days touches, as bits (a week or more: every day)."""
    bits = 0
    day = first
    while day <= last and bits != 127:
        bits |= 1 << day.weekday()
        day += dt.timedelta(days=1)
    return bits


def touches_night(start: dt.time, end: dt.time) -> bool:
    """Hours `start`–`end` (past midnight when end <= start) reach into 22:00–06:00."""
    return end <= start or start < NIGHT_ENDS or end > NIGHT_STARTS


def free_for(
    who: Availability,
    *,
    first: dt.date,
    last: dt.date,
    start: dt.time,
    end: dt.time,
    begins_at: dt.datetime,
) -> bool:
    """Whether a worker can serve hours `start`–`end` on days `first`–`last` (the span
    beginning at `begins_at`): every weekday offered, hours inside theirs or nights
    offered for night hours, and not unavailable then."""
    if not who.available and (who.until is None or who.until > begins_at):
        return False
    wanted = weekday_bits(first, last)
    if wanted & ~who.days:
        return False
    if touches_night(start, end):
        return who.nights
    return who.day_from <= start and end <= who.day_until


def is_night(moment: dt.time) -> bool:
    return moment >= NIGHT_STARTS or moment < NIGHT_ENDS


def duty_day(local: dt.datetime) -> dt.date:
    """The day a local moment counts to: the hours before 06:00 belong to the night that
    began the evening before (as a request's 22:00–06:00 hours belong to their first day)."""
    day = local.date()
    return day - dt.timedelta(days=1) if local.time() < NIGHT_ENDS else day


def free_at(who: Availability, local: dt.datetime) -> bool:
    """Whether a worker offers the local moment `local` (in the deployment's zone): its
    day (see `duty_day`) is one of theirs, and it falls in their hours, or at night
    (22:00–06:00) they take nights. Status is not considered here."""
    if not who.days & (1 << duty_day(local).weekday()):
        return False
    moment = local.time()
    if is_night(moment):
        return who.nights
    return who.day_from <= moment < who.day_until


def spans_overlap(a: tuple[dt.date, dt.date], b: tuple[dt.date, dt.date]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]
