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
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pydantic
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
        """The rule in force at `when` (default now) for a place in `area_code`'s subtree."""
        from .models import PolicyVersion

        when = when or timezone.now()
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
