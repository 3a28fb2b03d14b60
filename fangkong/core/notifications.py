"""One way to tell people something, for every app: a notification on their open pages
(server-sent events) and in their inbox, and a text message through the messaging
adapter when it cannot wait (fangkong/core/messaging.py).

Notifications are written in the caller's transaction (they exist exactly when the
change they announce does); text messages leave after it commits.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import messaging
from .models import Notification


@dataclass(frozen=True)
class Recipient:
    """Who to tell: a user (for pages and inbox) and/or a phone (for a text message)."""

    user: Any = None  # a User, or None for a text message only
    phone: str = ""


def notify(
    *,
    recipients: Iterable[Recipient],
    kind: str,
    text_zh: str,
    text_en: str = "",
    url: str = "",
    sms: bool = False,
) -> int:
    """Tell each recipient; returns how many were told. `kind` is a stable name such
    as "workforce.callout" (the page may style or filter by it)."""
    recipients = list(recipients)
    now = timezone.now()
    rows = [
        Notification(
            recipient=r.user, kind=kind, text_zh=text_zh, text_en=text_en, url=url, created_at=now
        )
        for r in recipients
        if r.user is not None and getattr(r.user, "pk", None)
    ]
    Notification.objects.bulk_create(rows, batch_size=2000)
    if sms:
        texts = [messaging.Message(r.phone, text_zh, kind) for r in recipients if r.phone]
        transaction.on_commit(lambda: messaging.send(texts))
    return len(recipients)


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def newer_than(user, last_id: int, limit: int = 50) -> list[Notification]:
    """The user's notifications after `last_id`, oldest first (what a live page missed)."""
    return list(Notification.objects.filter(recipient=user, id__gt=last_id).order_by("id")[:limit])


def inbox(user):
    return Notification.objects.filter(recipient=user).order_by("-id")


def mark_read(*, user, ids: Iterable[int] | None = None) -> int:
    """Mark the user's own notifications read (all of them when `ids` is None)."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(id__in=list(ids))
    return unread.update(read_at=timezone.now())
