from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """Who did what to whom, when and why. Written by services, never edited."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    event = models.CharField(_("event"), max_length=50, db_index=True)
    target_type = models.CharField(_("target type"), max_length=50, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_label = models.CharField(_("target"), max_length=200, blank=True)
    area_code = models.CharField(_("area code"), max_length=18, blank=True, db_index=True)
    reason = models.TextField(_("reason"), blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.event} {self.target_label}"


class PolicyVersion(models.Model):
    """One version of a policy's value, in force from `effective_from` on, for an area's
    subtree (empty: everywhere). Versions are never edited: a change is a new version.
    The policies themselves are declared by the apps (fangkong/core/policies.py)."""

    key = models.CharField(_("policy"), max_length=80)
    version = models.PositiveIntegerField(_("version"))
    area_code = models.CharField(_("area code"), max_length=18, blank=True)
    value = models.JSONField(_("value"))
    effective_from = models.DateTimeField(_("effective from"))
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    set_by_name = models.CharField(_("set by"), max_length=150, blank=True)
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="policy_version_unique")
        ]
        indexes = [models.Index(fields=["key", "effective_from"])]

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"


class Notification(models.Model):
    """A message to one user, shown live on their open pages and kept in their inbox."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=50)
    text_zh = models.CharField(_("text (Chinese)"), max_length=500)
    text_en = models.CharField(_("text (English)"), max_length=500, blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["recipient", "id"]),
            models.Index(
                fields=["recipient"], condition=models.Q(read_at__isnull=True), name="unread"
            ),
        ]

    def __str__(self) -> str:
        return self.text_zh

    @property
    def text(self) -> str:
        """In the language of the request being served (Chinese first)."""
        from django.utils.translation import get_language

        if (get_language() or "").startswith("en") and self.text_en:
            return self.text_en
        return self.text_zh


class OutboundMessage(models.Model):
    """A text message handed to the messaging adapter (the database backend keeps them
    here: the demo's outbox, and a queue a gateway may drain)."""

    phone = models.CharField(_("phone"), max_length=20)
    text = models.CharField(_("text"), max_length=500)
    kind = models.CharField(_("kind"), max_length=50)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")

    def __str__(self) -> str:
        return f"{self.phone}: {self.text}"


class RateCounter(models.Model):
    """Uses of one action by one user in the current fixed window (core.ratelimit).

    One row per key, overwritten when a new window starts, so the table never grows
    beyond the keys in use. In the database so that every server process shares it.
    """

    key = models.CharField(max_length=100, primary_key=True)
    window_start = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("rate counter")
        verbose_name_plural = _("rate counters")

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
