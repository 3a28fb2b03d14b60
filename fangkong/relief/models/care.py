"""Proactive care (主动关怀): check-in schedules for the vulnerable, the check-ins
themselves, regular treatment transports planned ahead, care packages (爱心包)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core.scoping import AreaScopedModel, ScopedQuerySet


class CheckInKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")


class CareQuerySet(ScopedQuerySet):
    def for_user(self, user):
        """Staff see their jurisdiction's; a grid worker or building leader also (and
        at least) the schedules assigned to them."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        return super().for_user(user) | self.filter(assignee_id=user.pk)


class CareSchedule(models.Model):
    """Check on one vulnerable resident: a call or a visit every `every_days` days, by
    `assignee` (a grid worker or building leader). Made from the roster's tags under the
    care policy (its version kept)."""

    resident = models.ForeignKey(
        "people.Resident", verbose_name=_("resident"), on_delete=models.CASCADE, related_name="+"
    )
    household = models.ForeignKey(
        "areas.Household", verbose_name=_("household"), on_delete=models.PROTECT, related_name="+"
    )
    area_code = models.CharField(_("area code"), max_length=18, db_index=True)
    kind = models.CharField(_("kind"), max_length=5, choices=CheckInKind.choices)
    every_days = models.PositiveSmallIntegerField(_("every (days)"))
    tags = models.JSONField(_("because"), default=list)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    next_due_at = models.DateTimeField(_("next due"))
    last_done_at = models.DateTimeField(_("last done"), null=True, blank=True)
    missed = models.PositiveIntegerField(_("missed"), default=0)
    active = models.BooleanField(_("active"), default=True)
    policy_version = models.PositiveIntegerField(_("policy version"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CareQuerySet.as_manager()

    class Meta:
        verbose_name = _("check-in schedule")
        verbose_name_plural = _("check-in schedules")
        ordering = ["next_due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["resident", "kind"], name="relief_care_schedule")
        ]
        indexes = [
            models.Index(fields=["next_due_at"], condition=Q(active=True), name="relief_care_due"),
            models.Index(fields=["assignee", "next_due_at"], name="relief_care_assignee"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} / {self.every_days}"

    @property
    def is_due(self) -> bool:
        return self.active and self.next_due_at <= timezone.now()


class CareOutcome(models.TextChoices):
    WELL = "well", _("Reached, all well")
    NEED = "need", _("Reached, has a need")
    UNREACHED = "unreached", _("Not reached")
    MISSED = "missed", _("Missed (no check-in in time)")


class CheckIn(models.Model):
    """One check-in done (or missed) on a schedule."""

    schedule = models.ForeignKey(CareSchedule, on_delete=models.CASCADE, related_name="checkins")
    area_code = models.CharField(_("area code"), max_length=18, db_index=True)
    due_at = models.DateTimeField(_("due"))
    at = models.DateTimeField(_("recorded at"), default=timezone.now)
    outcome = models.CharField(_("outcome"), max_length=10, choices=CareOutcome.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_name = models.CharField(_("by"), max_length=150, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    request = models.ForeignKey(
        "relief.ReliefRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["-at", "-id"]
        constraints = [
            # A missed check-in is recorded once for its due time (two watches at once).
            models.UniqueConstraint(
                fields=["schedule", "due_at"],
                condition=Q(outcome="missed"),
                name="relief_missed_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.outcome}"


class TreatmentPlan(models.Model):
    """Regular treatment (dialysis three times a week): transports made ahead as needs."""

    resident = models.ForeignKey(
        "people.Resident", verbose_name=_("patient"), on_delete=models.CASCADE, related_name="+"
    )
    household = models.ForeignKey(
        "areas.Household", verbose_name=_("household"), on_delete=models.PROTECT, related_name="+"
    )
    area_code = models.CharField(_("area code"), max_length=18, db_index=True)
    category = models.ForeignKey(
        "relief.Category", verbose_name=_("transport"), on_delete=models.PROTECT, related_name="+"
    )
    weekdays = models.JSONField(_("weekdays (0 = Monday)"), default=list)
    pickup_time = models.TimeField(_("pick-up time"))
    destination = models.CharField(_("destination"), max_length=100)
    note = models.CharField(_("note"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("treatment plan")
        verbose_name_plural = _("treatment plans")

    def __str__(self) -> str:
        return f"{self.destination} {self.pickup_time:%H:%M}"


class CarePackagePlan(AreaScopedModel):
    """A round of care packages (爱心包) for the households of an area."""

    name = models.CharField(_("name"), max_length=60)
    area = models.ForeignKey(
        "areas.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    contents = models.CharField(_("contents"), max_length=300)
    planned_for = models.DateField(_("planned for"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("care package round")
        verbose_name_plural = _("care package rounds")
        ordering = ["-planned_for", "-id"]

    def __str__(self) -> str:
        return self.name


class CarePackage(models.Model):
    """One household's package of a round: planned, then delivered."""

    plan = models.ForeignKey(CarePackagePlan, on_delete=models.CASCADE, related_name="packages")
    household = models.ForeignKey(
        "areas.Household", verbose_name=_("household"), on_delete=models.PROTECT, related_name="+"
    )
    area_code = models.CharField(_("area code"), max_length=18, db_index=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("care package")
        verbose_name_plural = _("care packages")
        ordering = ["area_code", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "household"], name="relief_package_once")
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.household_id}"
