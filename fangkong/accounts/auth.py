"""Bearer tokens on the API: who the token is, and what its scope reaches."""

from ninja.security import HttpBearer

from fangkong.core.errors import PermissionDenied

from .models import TokenScope
from .services import token_authenticate

# The operations a scoped token reaches, as (method, route); a token of scope `all`
# reaches whatever its user's role may. Anything else answers 403.
TOKEN_SCOPE_OPERATIONS = {
    TokenScope.UPLOAD: {
        ("POST", "api/v1/testing/uploads"),
        ("GET", "api/v1/testing/sampler-config"),
        ("GET", "api/v1/me"),
    },
    TokenScope.RESULTS: {
        ("POST", "api/v1/labs/results"),
        ("GET", "api/v1/labs/rounds/<round_id>/turnaround"),
        ("GET", "api/v1/me"),
    },
}


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
            if operation not in TOKEN_SCOPE_OPERATIONS.get(found.scope, ()):
                raise PermissionDenied(
                    f"此令牌的范围（{found.scope}）不包括该操作",
                    f"this token's scope ({found.scope}) does not reach this operation",
                )
        request.user = found.user
        return found.user
