"""How the API knows who calls: a bearer token (a device, a lab system) or the login
session (the pages' own scripts). Used by the one NinjaAPI in fangkong/api.py.

A token has a scope: `all` reaches whatever its user's role may; a device scope reaches
only the operations the apps list for it (`FangkongApp.token_scopes`); anything else
answers 403.
"""

from functools import cache

from ninja.errors import HttpError
from ninja.security import HttpBearer
from ninja.security import SessionAuth as NinjaSessionAuth
from ninja.utils import check_csrf

from fangkong.core.errors import PermissionDenied
from fangkong.core.registry import fangkong_apps

from .models import TokenScope
from .services import token_authenticate


@cache
def scope_operations() -> dict[str, frozenset[tuple[str, str]]]:
    """(method, route) pairs each scope reaches, from every app's declaration."""
    found: dict[str, set[tuple[str, str]]] = {}
    for config in fangkong_apps():
        for scope, operations in config.token_scopes.items():
            found.setdefault(scope, set()).update(operations)
    return {scope: frozenset(ops) for scope, ops in found.items()}


class BearerToken(HttpBearer):
    """`Authorization: Bearer <key>`: the token's user, checked on every request (no
    cache: a revoked or expired token fails on the next request, in every process),
    and only for the operations of the token's scope."""

    def authenticate(self, request, token):
        found = token_authenticate(token)
        if found is None:
            return None
        if found.scope != TokenScope.ALL:
            match = request.resolver_match
            operation = (request.method, match.route if match else "")
            if operation not in scope_operations().get(found.scope, ()):
                raise PermissionDenied(
                    f"此令牌的范围（{found.scope}）不包括该操作",
                    f"this token's scope ({found.scope}) does not reach this operation",
                )
        request.user = found.user
        return found.user


class CsrfFailed(HttpError):
    """A logged-in page's script wrote without the CSRF token (fangkong/api.py: 403)."""

    def __init__(self) -> None:
        super().__init__(403, "CSRF check failed")


class SessionAuth(NinjaSessionAuth):
    """The login session, as ninja's, except that a request with no logged-in session
    is simply not authenticated by it (401 when no other scheme takes it) rather than
    refused for its CSRF token: a device whose bearer token is missing or revoked must
    hear "unauthorized", not "CSRF check failed". A session that writes without the
    token is refused with CsrfFailed, which the API answers in its error shape."""

    def __call__(self, request):
        if not request.user.is_authenticated:
            return None
        exempt = getattr(request, "_ninja_csrf_exempt", False)
        if self.csrf and not exempt and check_csrf(request):
            raise CsrfFailed()
        return request.user
