"""Text messages out of the system (SMS in production) through one adapter.

`FANGKONG_SMS_BACKEND` names the backend class:
- `fangkong.core.messaging.DatabaseBackend` (default): kept as `OutboundMessage` rows, the
  demo's outbox and a queue an SMS gateway process may drain;
- `fangkong.core.messaging.ConsoleBackend`: printed (development);
- `fangkong.core.messaging.MemoryBackend`: kept in `MemoryBackend.outbox` (tests);
- `fangkong.core.messaging.WebhookBackend`: POSTed as JSON to `FANGKONG_SMS_URL`, the
  shape most SMS gateways of a government intranet accept behind a small relay.
"""

import json
import logging
import urllib.request
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    phone: str
    text: str
    kind: str


class ConsoleBackend:
    def send(self, messages: list[Message]) -> None:
        for m in messages:
            print(f"[SMS to {m.phone}] {m.text}")  # noqa: T201


class MemoryBackend:
    outbox: list[Message] = []

    def send(self, messages: list[Message]) -> None:
        MemoryBackend.outbox.extend(messages)


class DatabaseBackend:
    def send(self, messages: list[Message]) -> None:
        from .models import OutboundMessage

        OutboundMessage.objects.bulk_create(
            [OutboundMessage(phone=m.phone, text=m.text, kind=m.kind) for m in messages],
            batch_size=1000,
        )


class WebhookBackend:
    def send(self, messages: list[Message]) -> None:
        body = json.dumps([m.__dict__ for m in messages], ensure_ascii=False).encode()
        request = urllib.request.Request(
            settings.SMS_URL, data=body, headers={"Content-Type": "application/json"}
        )
        try:
            urllib.request.urlopen(request, timeout=10).close()  # noqa: S310
        except OSError:
            # The page and the inbox still carry the message; a lost text is logged.
            logger.exception("SMS gateway refused %d messages", len(messages))


@cache
def backend():
    return import_string(settings.SMS_BACKEND)()


def send(messages: list[Message]) -> None:
    if messages:
        backend().send(messages)
