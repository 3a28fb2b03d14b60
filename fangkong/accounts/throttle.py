"""Throttling of login attempts against one user name, from wherever they come.

django-axes locks a (user name, client address) pair after settings.AXES_FAILURE_LIMIT
failures: one person's typos lock only themselves, on their own device. Someone trying
one name from many addresses is slowed here instead: past
settings.LOGIN_NAME_FAILURE_LIMIT failures for a name in LOGIN_NAME_WINDOW_S seconds,
attempts for that name are refused, unchecked, until the window ends. A name is never
locked for longer than a window, so nobody can lock the command centre out by typing
its name; and the password cannot be guessed at more than the limit a window.
"""

import hashlib

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver

from fangkong.core import ratelimit


def _key(username: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:40]
    return f"login.name:{digest}"


class LoginNameThrottleBackend:
    """An authentication backend that authenticates nobody: it stops the attempt
    (PermissionDenied, which ends Django's `authenticate`) while the name is throttled,
    and leaves a note on the request for the login page. It has no `get_user`, so no
    session is ever tied to it."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        limit = settings.LOGIN_NAME_FAILURE_LIMIT
        if not username or limit <= 0:
            return None
        failures, wait = ratelimit.used(_key(username), window_s=settings.LOGIN_NAME_WINDOW_S)
        if failures >= limit:
            if request is not None:
                request.login_throttled_for = wait
            raise PermissionDenied("too many failed attempts for this user name")
        return None


@receiver(user_login_failed)
def _count_failure(sender, credentials, request=None, **kwargs):
    username = credentials.get("username")
    if username and settings.LOGIN_NAME_FAILURE_LIMIT > 0:
        ratelimit.count(_key(username), window_s=settings.LOGIN_NAME_WINDOW_S)
