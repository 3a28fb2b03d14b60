"""The JSON API: one NinjaAPI, a router per app, one error shape.

Devices and integrations authenticate with `Authorization: Bearer <token>`
(`fangkong token USERNAME` makes one); pages' scripts use the session cookie.
"""

import ninja.parser
from django.http import Http404, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from fangkong.accounts.services import token_authenticate
from fangkong.core.errors import Conflict, DomainError, NotFound, PermissionDenied, RateLimited
from fangkong.core.registry import api_routers


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


def _refuse_nul(value, loc: list) -> None:
    """PostgreSQL can neither store nor compare a NUL character: refuse it as bad input."""
    if isinstance(value, str) and "\x00" in value:
        msg = "text must not contain a NUL character"
        raise ValidationError([{"type": "value_error", "loc": loc, "msg": msg}])
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, loc)
            _refuse_nul(item, [*loc, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_nul(item, [*loc, index])


class Parser(ninja.parser.Parser):
    def parse_body(self, request):
        data = super().parse_body(request)
        # A NUL can reach a string of a JSON body only as the escape \u0000 (a raw NUL
        # byte is not JSON; in UTF-16 or UTF-32 every character has NUL bytes): a byte
        # search of the body is enough to know there is none, and costs a few µs where
        # walking every string of a large upload took milliseconds. Only a body that may
        # hold one is walked, to name the field.
        body = request.body
        if b"\\u0000" in body or b"\x00" in body:
            _refuse_nul(data, ["body", "payload"])
        return data

    def parse_querydict(self, data, list_fields, request):
        for key, values in data.lists():
            for text in (key, *values):
                _refuse_nul(text, ["query", key])
        return super().parse_querydict(data, list_fields, request)


api = NinjaAPI(
    title="Fangkong API",
    version="1",
    urls_namespace="api",
    auth=[BearerToken(), SessionAuth()],
    docs_url="/docs",
    parser=Parser(),
)


def error_body(code: str, zh: str, en: str, field: str = "", **extra) -> dict:
    return {"error": {"code": code, "message": en, "message_zh": zh, "field": field, **extra}}


_STATUS = {NotFound: 404, PermissionDenied: 403, Conflict: 409, RateLimited: 429}


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
    response = api.create_response(
        request, error_body(exc.code, exc.zh, exc.en, exc.field), status=status
    )
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _field(loc) -> str:
    """`["body", "payload", "household", "room"]` -> "household.room"; query -> "page"."""
    parts = [str(p) for p in loc]
    return ".".join(parts[2:] if parts[:1] == ["body"] else parts[1:])


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    first = exc.errors[0] if exc.errors else {}
    field, why = _field(first.get("loc", ())), first.get("msg", "")
    body = error_body(
        "invalid",
        f"请求数据不合法：{field} {why}".strip(),
        f"request data is not valid: {field} {why}".strip(),
        field,
        details=exc.errors,
    )
    return api.create_response(request, body, status=422)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return api.create_response(
        request, error_body("not_found", "未找到或不在您的辖区内", "not found"), status=404
    )


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return api.create_response(
        request, error_body("unauthorized", "需要登录或令牌", "authentication required"), status=401
    )


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if isinstance(exc.__cause__, ValidationError):  # raised while parsing the body
        return _validation_error(request, exc.__cause__)
    return api.create_response(
        request, error_body("error", str(exc.message), str(exc.message)), status=exc.status_code
    )


def openapi_json(request):
    return JsonResponse(api.get_openapi_schema(path_prefix="/api/v1"))


# Every app's router under the prefix its AppConfig declares (fangkong/core/registry.py).
for prefix, router in api_routers():
    api.add_router(prefix, router)
