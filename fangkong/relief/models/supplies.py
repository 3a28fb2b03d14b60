"""Supply points (物资点), their stock, and every movement in or out."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core.scoping import AreaScopedModel, ScopedQuerySet


class SupplyPoint(AreaScopedModel):
    name = models.CharField(_("name"), max_length=60)
    area = models.ForeignKey(
        "areas.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    keeper = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("keeper"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("supply point")
        verbose_name_plural = _("supply points")
        ordering = ["area_code", "name"]

    def __str__(self) -> str:
        return self.name


class Stock(models.Model):
    """How much of one item a point holds. Changed only by a conditional UPDATE in the
    services (quantity >= n), so it never goes below zero; the database says so too."""

    point = models.ForeignKey(SupplyPoint, on_delete=models.CASCADE, related_name="stock")
    area_code = models.CharField(_("area code"), max_length=18, db_index=True)
    item = models.CharField(_("item"), max_length=60)
    unit = models.CharField(_("unit"), max_length=10, blank=True)
    quantity = models.IntegerField(_("quantity"), default=0)
    low_at = models.PositiveIntegerField(_("low at"), null=True, blank=True)
    low_since = models.DateTimeField(_("low since"), null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stock")
        ordering = ["point", "item"]
        constraints = [
            models.UniqueConstraint(fields=["point", "item"], name="relief_stock_item"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="relief_stock_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.item} {self.quantity}{self.unit}"


class MovementKind(models.TextChoices):
    ARRIVAL = "arrival", _("Arrival")
    DONATION = "donation", _("Donation")
    DRAW = "draw", _("Drawn for a delivery")
    ADJUST = "adjust", _("Count corrected")


class StockMovement(models.Model):
    stock = models.ForeignKey(Stock, on_delete=models.CASCADE, related_name="movements")
    at = models.DateTimeField(_("time"), default=timezone.now)
    kind = models.CharField(_("kind"), max_length=10, choices=MovementKind.choices)
    quantity = models.IntegerField(_("quantity"))
    balance = models.IntegerField(_("balance after"))
    source = models.CharField(_("source"), max_length=100, blank=True)
    request = models.ForeignKey(
        "relief.ReliefRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_name = models.CharField(_("by"), max_length=150, blank=True)
    client_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["by_name", "client_id"],
                condition=~Q(client_id=""),
                name="relief_movement_client",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity:+d}"
