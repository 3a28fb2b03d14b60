"""Times a client claims (a device's scan, a lab's test), checked at the edge.

The server's receive time orders events and drives every deadline; a client's time is
kept beside it as the *claimed* time (when the swab was taken, when the tube was
tested). A claimed time is accepted only inside a plausible window around the receive
time (`FANGKONG_CLIENT_TIME_PAST_S` back, `FANGKONG_CLIENT_TIME_FUTURE_S` ahead), so no
client value can put year 0001 or 9999 into a table that pages do arithmetic on; and a
claimed time further than `FANGKONG_CLIENT_CLOCK_SKEW_S` from the receive time in a way
that waiting on the device cannot explain is flagged, not refused.

    at = client_time(raw, received=now, label=("事件e-1", "event e-1"), field="at")

returns the instant in UTC (whatever offset the client wrote: PostgreSQL takes
offsets only up to ±15:59) or raises `ClientTimeError`, a `DomainError` whose message
names the event or row, the field and the window, in Chinese and English.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from .errors import DomainError

UTC = dt.UTC


class ClientTimeError(DomainError):
    """A claimed time that cannot be read, or lies outside the accepted window."""

    code = "bad_time"

    def __init__(self, zh: str, en: str, *, field: str = "", code: str = "bad_time"):
        super().__init__(zh, en, field=field)
        self.code = code


@dataclass(frozen=True)
class Window:
    past: dt.timedelta
    future: dt.timedelta
    skew: dt.timedelta

    def describe(self) -> tuple[str, str]:
        """The window in words: ("7天前至10分钟后", "from 7 days before to 10 minutes after")."""
        return (
            f"服务器收到时间的{_zh(self.past)}前至{_zh(self.future)}后",
            f"from {_en(self.past)} before to {_en(self.future)} after the server received it",
        )


def window() -> Window:
    """The accepted window, from settings (read each call: tests may override them)."""
    return Window(
        past=dt.timedelta(seconds=settings.FANGKONG_CLIENT_TIME_PAST_S),
        future=dt.timedelta(seconds=settings.FANGKONG_CLIENT_TIME_FUTURE_S),
        skew=dt.timedelta(seconds=settings.FANGKONG_CLIENT_CLOCK_SKEW_S),
    )


def parse(value) -> dt.datetime | None:
    """A datetime, or ISO 8601 text (`2026-11-23 14:05`, `2026/11/23T14:05+08:00`, …),
    as an aware datetime; no offset means the deployment's zone. None if unreadable."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        text = value.strip() if isinstance(value, str) else str(value or "").strip()
        if not text:
            return None
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            try:
                moment = dt.datetime.fromisoformat(text.replace("/", "-"))
            except ValueError:
                return None
    if moment.tzinfo is None:
        # Read in the deployment's zone (fold 0 on a DST change), as make_aware does.
        moment = moment.replace(tzinfo=timezone.get_default_timezone())
    return moment


def _seconds(moment: dt.datetime) -> float | None:
    """Seconds since 1970, or None for an instant Python cannot place (year 0 and such)."""
    try:
        return moment.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def client_time(
    value,
    *,
    received: dt.datetime,
    label: tuple[str, str],
    field: str,
    field_zh: str = "",
    limits: Window | None = None,
) -> dt.datetime:
    """`value` (a datetime or ISO text) as a UTC datetime inside the window, or
    ClientTimeError naming `label` (zh, en: "第5行", "row 5") and `field`."""
    limits = limits or window()
    name_zh = field_zh or field
    moment = parse(value)
    if moment is None:
        raise ClientTimeError(
            f"{label[0]}的{name_zh}“{_shown(value)}”不是有效时间（如 2026-11-23 14:05）",
            f"{label[1]}: {field} “{_shown(value)}” is not a time (e.g. 2026-11-23 14:05)",
            field=field,
            code="invalid",
        )
    seconds = _seconds(moment)
    now = received.timestamp()
    low, high = now - limits.past.total_seconds(), now + limits.future.total_seconds()
    if seconds is None or not low <= seconds <= high:
        ahead = seconds is not None and seconds > high
        span_zh, span_en = limits.describe()
        raise ClientTimeError(
            f"{label[0]}的{name_zh}“{_shown(value)}”"
            f"{'晚于' if ahead else '早于'}可接受范围（{span_zh}）：请核对设备时钟",
            f"{label[1]}: {field} “{_shown(value)}” is {'later' if ahead else 'earlier'} than "
            f"the accepted window ({span_en}); check the device's clock",
            field=field,
            code="future" if ahead else "too_old",
        )
    return dt.datetime.fromtimestamp(seconds, UTC)


def skewed(claimed: dt.datetime | None, received: dt.datetime, limits: Window | None = None):
    """Whether a clock reading is further than the skew allowance from the receive time.

    For a device's own clock at sending (`device_time`) both ways count; for an event's
    time only "ahead" does, since an event may wait on a phone for hours (offline, held
    until its tube is sealed) without its clock being wrong.
    """
    if claimed is None:
        return False
    limits = limits or window()
    seconds = _seconds(claimed)
    return seconds is None or abs(seconds - received.timestamp()) > limits.skew.total_seconds()


def ahead(claimed: dt.datetime, received: dt.datetime, limits: Window | None = None) -> bool:
    """A claimed time later than the receive time by more than the skew allowance."""
    limits = limits or window()
    return claimed.timestamp() - received.timestamp() > limits.skew.total_seconds()


def _shown(value) -> str:
    if isinstance(value, dt.datetime):
        try:
            return value.isoformat()
        except ValueError:
            return str(value)
    return str(value if value is not None else "")[:60]


def _zh(span: dt.timedelta) -> str:
    s = int(span.total_seconds())
    if s % 86400 == 0 and s:
        return f"{s // 86400}天"
    if s % 3600 == 0 and s:
        return f"{s // 3600}小时"
    if s % 60 == 0:
        return f"{s // 60}分钟"
    return f"{s}秒"


def _en(span: dt.timedelta) -> str:
    s = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if s and s % size == 0:
            n = s // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{s} seconds"
