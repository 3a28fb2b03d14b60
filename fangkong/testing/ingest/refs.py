"""What a batch names: rounds, channels and the uploader's jurisdiction, cached per process."""

import threading
import time

from ..models import (
    Channel,
    RoundArea,
    SamplingSite,
    TestingRound,
    Via,
)
from .checks import Refused, _Work
from .sql import _any, _rows


class Cache:
    """A small per-process cache with a time to live, for rows that rarely change and
    that every upload reads (rounds, channels, the uploader's jurisdiction). Services
    that change them clear this process's copy on commit (`forget`); other server
    processes see the change within `ttl` seconds."""

    def __init__(self, ttl: float, found_ttl: float | None = None):
        self.ttl = ttl
        # How long a row that was found is kept (rows that never change: for ever);
        # a key that was not found is asked again after `ttl`.
        self.found_ttl = ttl if found_ttl is None else found_ttl
        self._rows: dict = {}
        self._lock = threading.Lock()

    def get_many(self, keys, load) -> dict:
        now = time.monotonic()
        found, missing = {}, []
        for key in keys:
            hit = self._rows.get(key)
            if hit is not None and hit[0] > now:
                found[key] = hit[1]
            else:
                missing.append(key)
        if missing:
            loaded = load(missing)
            with self._lock:
                for key in missing:
                    found[key] = loaded.get(key)
                    ttl = self.ttl if found[key] is None else self.found_ttl
                    self._rows[key] = (now + ttl, found[key])
                for key, value in loaded.items():  # rows the loader read besides
                    if key not in found and value is not None:
                        self._rows[key] = (now + self.found_ttl, value)
                if len(self._rows) > 100_000:
                    self._rows.clear()
        return found

    def forget(self) -> None:
        with self._lock:
            self._rows.clear()


CACHE_SECONDS = 5.0
_rounds = Cache(CACHE_SECONDS)
# A channel's site and the site's area never change: kept until the process forgets.
_channels = Cache(CACHE_SECONDS, found_ttl=float("inf"))
# A device uploads every few seconds: its user's jurisdiction is kept longer, so that
# most of its uploads find it (a changed jurisdiction takes effect on the upload
# endpoint within this time). Its token is not cached: a revocation holds at once.
ACCOUNT_CACHE_SECONDS = 30.0
_scopes = Cache(ACCOUNT_CACHE_SECONDS)


def forget_cached() -> None:
    """Drop this process's cached rounds, channels and scopes (after a change)."""
    for cache in (_rounds, _channels, _scopes):
        cache.forget()


def _load_rounds(ids) -> dict:
    rounds = {r.pk: (r, []) for r in TestingRound.objects.filter(pk__in=ids)}
    for rid, code in RoundArea.objects.filter(round_id__in=ids).values_list(
        "round_id", "area_code"
    ):
        rounds[rid][1].append(code)
    return rounds


def _load_channels(ids) -> dict:
    """The channels asked for and every other channel of their sites (a site's channels
    upload together; one query warms the cache for all of them)."""
    channels, sites = Channel._meta.db_table, SamplingSite._meta.db_table
    where, params = _any("id", ids, "bigint")
    rows = _rows(
        f"SELECT c.id, c.site_id, s.area_code FROM {channels} c JOIN {sites} s "
        f"ON s.id = c.site_id WHERE c.site_id IN (SELECT site_id FROM {channels} WHERE {where})",
        params,
    )
    return {pk: {"id": pk, "site_id": site, "site__area_code": code} for pk, site, code in rows}


def _scope(actor) -> list[str] | None:
    """The uploader's jurisdiction (None: no user, as for internal callers)."""
    if actor is None:
        return None
    found = _scopes.get_many([actor.pk], lambda ids: {actor.pk: actor.scope_prefixes()})
    return found[actor.pk]


class _Refs:
    """Rounds and channels named by a batch (from the cache, else one query each)."""

    def __init__(self, works: list[_Work]):
        round_ids = {w.ev.round for w in works if isinstance(w.ev.round, int)}
        rounds = {k: v for k, v in _rounds.get_many(round_ids, _load_rounds).items() if v}
        self.rounds = {k: v[0] for k, v in rounds.items()}
        self.round_areas: dict[int, list[str]] = {k: v[1] for k, v in rounds.items()}
        channel_ids = {w.ev.channel for w in works if isinstance(w.ev.channel, int)}
        self.channels = {
            k: v for k, v in _channels.get_many(channel_ids, _load_channels).items() if v
        }

    def in_round(self, round_id: int, code: str) -> bool:
        """An area lies in a round if it is under, or above, one of the round's areas."""
        return any(
            code.startswith(a) or a.startswith(code) for a in self.round_areas.get(round_id, ())
        )

    def lives_in_round(self, round_id: int, code: str) -> bool:
        return any(code.startswith(a) for a in self.round_areas.get(round_id, ()))


def _check_refs(w: _Work, refs: _Refs, scope: list[str] | None, home_area: str) -> None:
    ev = w.ev
    rnd = refs.rounds.get(ev.round)
    if rnd is None:
        raise Refused(
            "unknown_round", f"检测轮次{ev.round}不存在", f"round {ev.round} does not exist"
        )
    if not rnd.accepts_sample_at(ev.at):
        raise Refused(
            "round_closed",
            f"检测轮次{ev.round}已于采样前结束",
            f"round {ev.round} was closed before this was sampled",
        )
    if ev.via == Via.HOME:
        w.owner, w.area_code = (ev.round, None, None, Via.HOME), home_area
        return
    channel = refs.channels.get(ev.channel)
    if channel is None or channel["site_id"] != ev.site:
        raise Refused(
            "unknown_channel",
            f"采样点{ev.site}没有通道{ev.channel}",
            f"site {ev.site} has no channel {ev.channel}",
        )
    w.area_code = channel["site__area_code"]
    if not refs.in_round(ev.round, w.area_code):
        raise Refused(
            "site_outside_round",
            f"采样点{ev.site}不在检测轮次{ev.round}的范围内",
            f"site {ev.site} is not in the areas of round {ev.round}",
        )
    if scope is not None and not any(w.area_code.startswith(p) for p in scope):
        raise Refused(
            "forbidden",
            f"采样点{ev.site}不在您的辖区内",
            f"site {ev.site} is outside your jurisdiction",
        )
    w.owner = (ev.round, ev.site, ev.channel, Via.SITE)
