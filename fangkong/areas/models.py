from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core.scoping import AreaScopedModel, ScopedQuerySet, prefix_q


class Level(models.IntegerChoices):
    DISTRICT = 1, _("District")
    STREET = 2, _("Street / town")
    COMMUNITY = 3, _("Community / village")
    COMPOUND = 4, _("Compound")
    BUILDING = 5, _("Building")


# Code length at each level: statistical division codes (6 + 3 + 3 digits for a
# community), extended by 3 digits for a compound and 3 more for a building.
CODE_LENGTH = {
    Level.DISTRICT: 6,
    Level.STREET: 9,
    Level.COMMUNITY: 12,
    Level.COMPOUND: 15,
    Level.BUILDING: 18,
}


def ancestor_codes(code: str) -> list[str]:
    """The codes of an area and all areas above it, district first."""
    return [code[:n] for n in sorted(CODE_LENGTH.values()) if n <= len(code)]


def common_ancestor_code(codes) -> str:
    """The code of the lowest area holding all of `codes` (itself, if there is one);
    empty when they share no district."""
    codes = list(codes)
    if not codes:
        return ""
    common = ancestor_codes(codes[0])
    for code in codes[1:]:
        above = set(ancestor_codes(code))
        common = [c for c in common if c in above]
    return common[-1] if common else ""


class AreaQuerySet(ScopedQuerySet):
    scope_field = "code"

    def at_level(self, level):
        return self.filter(level=level)

    def active(self):
        """Areas in use (not retired)."""
        return self.filter(retired_at__isnull=True)


class Area(models.Model):
    """One node of the four-level tree below a district. `code` is the path."""

    code = models.CharField(_("code"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    built_year = models.PositiveSmallIntegerField(_("year built"), null=True, blank=True)
    # A retired area is hidden from browsing and choices; its code stays taken, so a
    # record that still names it (the audit log) never points at another area.
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    objects = AreaQuerySet.as_manager()

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def level_name(self) -> str:
        """The level as the API names it: district, street, community, compound, building."""
        return Level(self.level).name.lower()

    @property
    def ancestor_codes(self) -> list[str]:
        return ancestor_codes(self.code)[:-1]

    def full_name(self) -> str:
        names = dict(Area.objects.filter(code__in=self.ancestor_codes).values_list("code", "name"))
        return "".join(names.get(c, "") for c in self.ancestor_codes) + self.name


class GridQuerySet(ScopedQuerySet):
    scope_field = "community__code"

    def for_user(self, user):
        """Grids of the user's communities, and the grids they keep."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(prefix_q(self.scope_field, user.scope_prefixes()) | Q(keeper_id=user.pk))


class Grid(models.Model):
    """A set of buildings kept by one grid worker."""

    community = models.ForeignKey(
        Area, verbose_name=_("community"), on_delete=models.PROTECT, related_name="grids"
    )
    name = models.CharField(_("name"), max_length=100)
    keeper = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("grid worker"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="kept_grids",
    )
    buildings = models.ManyToManyField(
        Area, verbose_name=_("buildings"), related_name="grids_in", blank=True
    )

    objects = GridQuerySet.as_manager()

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="grid_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class HouseholdQuerySet(ScopedQuerySet):
    sight = "areas.households"


class Household(AreaScopedModel):
    """户: an address in a building (unit and room)."""

    building = models.ForeignKey(
        Area, verbose_name=_("building"), on_delete=models.PROTECT, related_name="households"
    )
    area_code_from = "building.code"
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    room = models.CharField(_("room"), max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = HouseholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["area_code", "unit", "room"]
        constraints = [
            models.UniqueConstraint(
                fields=["building", "unit", "room"], name="household_unique_address"
            )
        ]
        indexes = [
            # A building's households with their doors: a building's not-yet-sampled list
            # reads them by an index-only scan, a page or two on a cold cache instead of
            # one heap page a household. Beside the plain area-code index (db_index).
            models.Index(
                fields=["area_code"], include=["id", "unit", "room"], name="household_building"
            ),
        ]

    def __str__(self) -> str:
        """The address as a door-knocker reads it: compound, building, unit, room. One
        community may have several compounds with the same building numbers, so the
        compound is always named (select_related("building__parent") for lists)."""
        unit = f"{self.unit}单元" if self.unit else ""
        compound = self.building.parent.name if self.building.parent_id else ""
        return f"{compound}{self.building.name}{unit}{self.room}"

    @staticmethod
    def address_order(prefix: str = "") -> list:
        """Order by unit and room as numbers read (102 before 1002), then as text."""
        return [
            Length(f"{prefix}unit"),
            f"{prefix}unit",
            Length(f"{prefix}room"),
            f"{prefix}room",
        ]


class ZoneKind(models.TextChoices):
    SEALED = "sealed", _("Sealed zone")
    CONTROLLED = "controlled", _("Controlled zone")
    PREVENTION = "prevention", _("Prevention zone")


class ZoneQuerySet(ScopedQuerySet):
    def active(self, at=None):
        at = at or timezone.now()
        return self.filter(lifted_at__isnull=True, starts_at__lte=at).filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=at)
        )


class ZoneDesignation(AreaScopedModel):
    """封控区 / 管控区 / 防范区 on an area for a span of time. Never deleted: history."""

    area = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="zones"
    )
    kind = models.CharField(_("zone"), max_length=20, choices=ZoneKind.choices)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    reason = models.TextField(_("reason"))
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("declared by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    declared_at = models.DateTimeField(_("declared at"), auto_now_add=True)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lifted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    lift_reason = models.TextField(_("reason for lifting"), blank=True)

    objects = ZoneQuerySet.as_manager()

    class Meta:
        verbose_name = _("zone designation")
        verbose_name_plural = _("zone designations")
        ordering = ["-starts_at", "-id"]

    def __str__(self) -> str:
        return f"{self.area} {self.get_kind_display()}"

    def in_force(self, at=None) -> bool:
        """Whether this designation is active at `at` (now): ZoneQuerySet.active() for one
        row in hand."""
        at = at or timezone.now()
        return (
            self.lifted_at is None
            and self.starts_at <= at
            and (self.ends_at is None or self.ends_at > at)
        )


class BuildingStats(models.Model):
    """Pre-aggregated counts per building, so an area page sums rows, not residents.

    Kept by the people app's services (areas cannot import people); a district sums
    tens of thousands of these rows instead of millions of residents.
    """

    building = models.OneToOneField(
        Area, on_delete=models.CASCADE, primary_key=True, related_name="stats"
    )
    code = models.CharField(max_length=18, unique=True)
    households = models.PositiveIntegerField(default=0)
    residents = models.PositiveIntegerField(default=0)
    aged_70 = models.PositiveIntegerField(default=0)
    bedridden = models.PositiveIntegerField(default=0)
    living_alone = models.PositiveIntegerField(default=0)
    tenants = models.PositiveIntegerField(default=0)
    # The other key-population tags, and the pair a door-knocker asks for most.
    aged_70_alone = models.PositiveIntegerField(default=0)
    disabled = models.PositiveIntegerField(default=0)
    regular_treatment = models.PositiveIntegerField(default=0)
    pregnant = models.PositiveIntegerField(default=0)
    infant = models.PositiveIntegerField(default=0)
    no_smartphone = models.PositiveIntegerField(default=0)
    foreign = models.PositiveIntegerField(default=0)
    stranded_student = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(auto_now=True)

    COUNT_FIELDS = (
        "households",
        "residents",
        "aged_70",
        "bedridden",
        "living_alone",
        "tenants",
        "aged_70_alone",
        "disabled",
        "regular_treatment",
        "pregnant",
        "infant",
        "no_smartphone",
        "foreign",
        "stranded_student",
    )

    class Meta:
        verbose_name = _("building statistics")
        verbose_name_plural = _("building statistics")

    def __str__(self) -> str:
        return f"{self.code}: {self.residents}"
