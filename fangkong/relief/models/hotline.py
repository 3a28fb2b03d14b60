"""The hotline (心理疏导/求助热线): calls as tickets, their follow-ups, and the named
people who answer. A ticket's content and caller are encrypted at rest; only
counsellors and the hotline lead read them (fangkong.relief.permissions.hotline_role)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core import pii
from fangkong.core.scoping import AreaScopedModel, ScopedQuerySet


class StaffRole(models.TextChoices):
    COUNSELLOR = "counsellor", _("Counsellor")
    LEAD = "lead", _("Hotline lead")


class HotlineStaff(AreaScopedModel):
    """A trained person who answers the hotline of an area (a street or a district)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hotline_posts"
    )
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("role"), max_length=10, choices=StaffRole.choices)
    on_shift = models.BooleanField(_("on shift"), default=False)
    active = models.BooleanField(_("active"), default=True)
    added_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("hotline staff")
        verbose_name_plural = _("hotline staff")
        constraints = [models.UniqueConstraint(fields=["user", "area"], name="relief_hotline_post")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class Risk(models.TextChoices):
    NONE = "none", _("No risk seen")
    ELEVATED = "elevated", _("Elevated")
    HIGH = "high", _("High: act now")


class TicketStatus(models.TextChoices):
    OPEN = "open", _("Open")
    FOLLOW_UP = "follow_up", _("Follow-up planned")
    CLOSED = "closed", _("Closed")


class HotlineTicket(models.Model):
    area_code = models.CharField(_("area code"), max_length=18, db_index=True)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    topic = models.CharField(_("topic"), max_length=20)
    caller_cipher = models.BinaryField(default=b"")
    content_cipher = models.BinaryField(default=b"")
    risk = models.CharField(_("risk"), max_length=10, choices=Risk.choices, default=Risk.NONE)
    status = models.CharField(
        _("status"), max_length=10, choices=TicketStatus.choices, default=TicketStatus.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("counsellor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    follow_up_at = models.DateTimeField(_("follow up at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    client_id = models.CharField(max_length=64, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("hotline ticket")
        verbose_name_plural = _("hotline tickets")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["opened_by", "client_id"],
                condition=~Q(client_id=""),
                name="relief_ticket_client",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"

    # Decrypted only for counsellors and the lead (the services check).
    def caller(self) -> str:
        return pii.decrypt(self.caller_cipher)

    def content(self) -> str:
        return pii.decrypt(self.content_cipher)


class HotlineNote(models.Model):
    ticket = models.ForeignKey(HotlineTicket, on_delete=models.CASCADE, related_name="notes")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_name = models.CharField(max_length=150, blank=True)
    text_cipher = models.BinaryField(default=b"")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.at:%Y-%m-%d %H:%M}"

    def text(self) -> str:
        return pii.decrypt(self.text_cipher)
