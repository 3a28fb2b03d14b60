"""What the relief pages share: messages in the reader's language, running a service
call and showing its refusal, reading small inputs."""

from django.contrib import messages
from django.utils.translation import get_language

from fangkong.core import ids
from fangkong.core.errors import DomainError


def say(zh: str, en: str) -> str:
    return en if (get_language() or "").startswith("en") else zh


def done(request, call, success: str = "") -> object | None:
    """Run a service call; show a refusal as an error message. The call's result, or
    None if it was refused."""
    try:
        result = call()
    except DomainError as exc:
        messages.error(request, say(exc.zh, exc.en))
        return None
    if success:
        messages.success(request, success)
    return result


def number(text, default: int | None = None) -> int | None:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return default


def client_id() -> str:
    """A fresh id for a form: a double tap or a retried post sends it twice, saved once."""
    return ids.client_id()
