"""Jurisdiction: every read of people, households and tasks is cut to an area subtree.

Area codes are materialized paths (a building's code starts with its compound's,
which starts with its community's ...), so "everything under X" is one indexed
prefix query on a denormalised `area_code` column.
"""

from collections.abc import Iterable
from typing import Any, Self

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .sight import sees


def minimal_prefixes(codes: Iterable[str]) -> list[str]:
    """Drop codes that lie under another code of the list."""
    kept: list[str] = []
    for code in sorted(set(codes), key=len):
        if not any(code.startswith(p) for p in kept):
            kept.append(code)
    return sorted(kept)


def prefix_q(field: str, prefixes: Iterable[str]) -> Q:
    """Q matching rows whose `field` lies under any prefix; matches nothing if none."""
    q = Q(pk__in=[])
    for prefix in minimal_prefixes(prefixes):
        q |= Q(**{f"{field}__startswith": prefix})
    return q


class ScopedQuerySet(models.QuerySet):
    """Base for querysets of rows that live somewhere in the area tree."""

    scope_field = "area_code"
    # The kind of data the rows are (core.sight): a role that may not see it gets none.
    sight = ""

    def within(self, area) -> Self:
        code = getattr(area, "code", area)
        return self.filter(**{f"{self.scope_field}__startswith": code})

    def for_user(self, user) -> Self:
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if self.sight and not sees(user, self.sight):
            return self.none()
        return self.filter(prefix_q(self.scope_field, user.scope_prefixes()))


class AreaScopedModel(models.Model):
    """Base of a model whose rows live in the area tree: a denormalised `area_code`,
    copied on every save from `area_code_from` (a dotted path from the row: "area.code",
    "building.code", "site.area_code"). Each model names its manager, a `ScopedQuerySet`.

        class SupplyPoint(AreaScopedModel):
            area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
            objects = ScopedQuerySet.as_manager()
    """

    area_code = models.CharField(_("area code"), max_length=18, db_index=True, editable=False)

    area_code_from: str = "area.code"

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.area_code = self.scope_code()
        super().save(*args, **kwargs)

    def scope_code(self) -> str:
        """The area code this row belongs to, read through `area_code_from`."""
        value: Any = self
        for name in self.area_code_from.split("."):
            value = getattr(value, name)
        return value


def touching_q(field: str, prefixes: Iterable[str]) -> Q:
    """Q matching rows whose `field` (an area code) lies in the scope or above it: the
    areas of a round or a campaign that touch a user's jurisdiction."""
    prefixes = list(prefixes)
    above = {p[:n] for p in prefixes for n in (6, 9, 12, 15) if n < len(p)}
    return prefix_q(field, prefixes) | Q(**{f"{field}__in": sorted(above)})
