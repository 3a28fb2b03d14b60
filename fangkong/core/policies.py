"""Policies are data: rules the command centre changes while an outbreak runs (deadlines,
SLAs, pool sizes, quotas, control durations), declared by the apps, versioned and
effective-dated, read in one way.

An app declares a policy with its default and a pydantic schema:

    SLA = policy("relief.sla", SlaMinutes, default={"critical": 60, ...}, description=...)

and reads it at a moment, for a place:

    rule = SLA.at(when, area_code)      # rule.value (a SlaMinutes), rule.version

A record made under a policy keeps `rule.version`, so a later change never rewrites what
was decided under an earlier one. Version 0 is the declared default. A version set for an
area applies to its subtree and wins over one set for an area above it; among the
versions of one area, the latest `effective_from` not after `when` is in force.
"""

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pydantic
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from .errors import DomainError

M = TypeVar("M", bound=pydantic.BaseModel)


@dataclass(frozen=True)
class Rule(Generic[M]):
    """A policy's value in force, with the version it came from."""

    key: str
    version: int
    value: M
    area_code: str = ""
    effective_from: dt.datetime | None = None


class Policy(Generic[M]):
    def __init__(self, key: str, schema: type[M], default: dict, description: str):
        self.key = key
        self.schema = schema
        self.description = description
        self.default = schema.model_validate(default)

    def __repr__(self) -> str:
        return f"<Policy {self.key}>"

    def validate(self, value: Any) -> M:
        """The value checked against the schema; DomainError names the first bad field."""
        try:
            return self.schema.model_validate(value)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or self.key
            raise DomainError(
                f"策略值不合法：{where} {first['msg']}",
                f"policy value is not valid: {where} {first['msg']}",
                field=f"value.{where}" if first["loc"] else "value",
            ) from None

    def at(self, when: dt.datetime | None = None, area_code: str = "") -> Rule[M]:
        """The rule in force at `when` (default now) for a place in `area_code`'s subtree.

        With `POLICY_CACHE_SECONDS` > 0 the policy's versions (a handful: a change is a
        new row) are read once in that many seconds by each process and chosen from in
        memory, so a busy path (a resident's ask) pays no query for its deadline; a new
        version is seen at once by the process that wrote it, by the others within that
        time."""
        from .models import PolicyVersion

        when = when or timezone.now()
        cached = self._cached_versions()
        if cached is not None:
            return self._choose(cached, when, area_code)
        candidates = PolicyVersion.objects.filter(key=self.key, effective_from__lte=when)
        prefixes = [area_code[:n] for n in range(0, len(area_code) + 1, 3)] + [""]
        best = (
            candidates.filter(area_code__in=set(prefixes))
            .order_by("-area_code", "-effective_from", "-version")
            .first()
        )
        # "-area_code" orders longer (deeper) codes of one path first: they share prefixes.
        if best is None:
            return Rule(self.key, 0, self.default)
        return Rule(
            self.key, best.version, self.validate(best.value), best.area_code, best.effective_from
        )

    def _cached_versions(self) -> list[Rule[M]] | None:
        seconds = getattr(settings, "POLICY_CACHE_SECONDS", 0)
        if seconds <= 0:
            return None
        from .models import PolicyVersion

        held = _CACHE.get(self.key)
        if held is not None and time.monotonic() - held[0] < seconds:
            return held[1]
        rows = [
            Rule(self.key, r.version, self.validate(r.value), r.area_code, r.effective_from)
            for r in PolicyVersion.objects.filter(key=self.key)
        ]
        _CACHE[self.key] = (time.monotonic(), rows)
        return rows

    def _choose(self, rows: list[Rule[M]], when: dt.datetime, area_code: str) -> Rule[M]:
        """What `at` picks, from the rows in memory: the deepest area on the place's path,
        then the latest in force, then the highest version."""
        prefixes = {area_code[:n] for n in range(0, len(area_code) + 1, 3)}
        found = [
            (len(r.area_code), r.effective_from, r.version, r)
            for r in rows
            if r.area_code in prefixes and r.effective_from is not None and r.effective_from <= when
        ]
        if not found:
            return Rule(self.key, 0, self.default)
        return max(found, key=lambda f: f[:3])[3]

    def version(self, number: int) -> Rule[M]:
        """The rule of a given version (what a record made under it was decided by)."""
        from .models import PolicyVersion

        if number == 0:
            return Rule(self.key, 0, self.default)
        row = PolicyVersion.objects.get(key=self.key, version=number)
        return Rule(
            self.key, row.version, self.validate(row.value), row.area_code, row.effective_from
        )


_REGISTRY: dict[str, Policy] = {}
# key -> (when read, monotonic seconds; the policy's versions): see Policy.at.
_CACHE: dict[str, tuple[float, list]] = {}


def forget_cached() -> None:
    """Read every policy afresh on its next use (after a new version is written)."""
    _CACHE.clear()


def policy(key: str, schema: type[M], *, default: dict, description: str) -> Policy[M]:
    """Declare a policy (in an app's `policies.py`, imported when the app is ready)."""
    if key in _REGISTRY:
        raise ImproperlyConfigured(f"policy {key} is declared twice")
    _REGISTRY[key] = declared = Policy(key, schema, default, description)
    return declared


def get(key: str) -> Policy:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise DomainError(f"没有策略{key}", f"no policy {key}", field="key") from None


def all_policies() -> list[Policy]:
    return sorted(_REGISTRY.values(), key=lambda p: p.key)
