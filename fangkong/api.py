"""The JSON API: one NinjaAPI, a router per app, one error shape for every failure.

Devices and integrations authenticate with `Authorization: Bearer <token>`
(`fangkong token USERNAME` makes one); pages' scripts use the session cookie.
Failures outside the API's own handlers (no such path, a method not allowed, the
database gone) take the same shape: fangkong/core/apierrors.py.
"""

import json
import logging

import ninja.parser
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from fangkong.accounts.auth import BearerToken, CsrfFailed, SessionAuth
from fangkong.core import apierrors
from fangkong.core.errors import Conflict, DomainError, NotFound, PermissionDenied, RateLimited
from fangkong.core.registry import api_routers

logger = logging.getLogger("fangkong.api")


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


class NotJson(Exception):
    """A body sent as something other than JSON (its Content-Type says so)."""


class MalformedJson(Exception):
    """A body that says it is JSON and is not; where, in both languages."""

    def __init__(self, exc: ValueError):
        super().__init__(str(exc))
        if isinstance(exc, json.JSONDecodeError):
            self.zh = f"第{exc.lineno}行第{exc.colno}列"
            self.en = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        else:
            self.zh, self.en = "编码不是UTF-8", "it is not UTF-8"


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


class Parser(ninja.parser.Parser):
    def parse_body(self, request):
        if not _is_json(request.content_type or ""):
            raise NotJson(request.content_type)
        try:
            data = json.loads(request.body)
        except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8/16/32
            raise MalformedJson(exc) from None
        if not isinstance(data, dict):
            # Every body of this API is an object. ninja's schemas read attributes, so
            # `[null]` would otherwise pass as an object with every field left out.
            msg = "the body must be a JSON object"
            raise ValidationError([{"type": "model_type", "loc": ["body"], "msg": msg}])
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


# What any operation may answer whatever it does, documented once for all: the
# database gone (503); bad parameters (422); and for a body, malformed JSON (400), too
# large (413), not JSON (415).
_ANY_OPERATION = {"503": "the database is unavailable: retry after Retry-After seconds"}
_WITH_INPUT = {"422": "the request does not fit the schema; `field` names what"}
_WITH_BODY = {
    "400": "the body is not valid JSON, or a rule of the domain refused it",
    "413": "the body is larger than the server accepts",
    "415": "the body is not JSON (Content-Type: application/json)",
}
_ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}


class FangkongAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for methods in schema.get("paths", {}).values():
            for operation in methods.values():
                codes = dict(_ANY_OPERATION)
                if operation.get("parameters") or operation.get("requestBody"):
                    codes |= _WITH_INPUT
                if operation.get("requestBody"):
                    codes |= _WITH_BODY
                responses = operation.setdefault("responses", {})
                for code, description in codes.items():
                    responses.setdefault(code, {"description": description, "content": _ERROR_REF})
        return schema


api = FangkongAPI(
    title="Fangkong API",
    version="1",
    urls_namespace="api",
    auth=[BearerToken(), SessionAuth()],
    docs_url="/docs",
    parser=Parser(),
)

error_body = apierrors.error_body
_STATUS = {NotFound: 404, PermissionDenied: 403, Conflict: 409, RateLimited: 429}


def _respond(request, status: int, body: dict, retry_after=None):
    response = api.create_response(request, body, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
    retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
    return _respond(request, status, error_body(exc.code, exc.zh, exc.en, exc.field), retry_after)


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
    cause = exc.__cause__
    if isinstance(cause, ValidationError):  # raised while parsing the body
        return _validation_error(request, cause)
    if isinstance(cause, NotJson):
        return apierrors.for_status(415)
    if isinstance(cause, MalformedJson):
        return _respond(
            request,
            400,
            error_body(
                "invalid",
                f"请求体不是合法的JSON（{cause.zh}）",
                f"the request body is not valid JSON: {cause.en}",
                "body",
            ),
        )
    if isinstance(exc, CsrfFailed):
        return _respond(
            request,
            403,
            error_body(
                "csrf_failed",
                "CSRF校验失败：请刷新页面后重试（页面脚本须带X-CSRFToken请求头）",
                "CSRF check failed: reload the page and try again (page scripts must send "
                "the X-CSRFToken header)",
            ),
        )
    return apierrors.for_status(exc.status_code)


@api.exception_handler(RequestDataTooBig)
def _too_large(request, exc):
    return apierrors.for_status(413)


@api.exception_handler(SuspiciousOperation)
def _suspicious(request, exc):
    return apierrors.for_status(400)


@api.exception_handler(Exception)
def _unexpected(request, exc: Exception):
    """The database gone: 503 with Retry-After. Anything else: a 500 in the one shape,
    logged with its traceback."""
    if apierrors.database_down(exc):
        logger.warning("database unavailable on %s: %s", request.path, exc)
        return apierrors.unavailable()
    logger.error("error on %s", request.path, exc_info=exc)
    return apierrors.for_status(500)


def openapi_json(request):
    return JsonResponse(api.get_openapi_schema(path_prefix="/api/v1"))


# Every app's router under the prefix its AppConfig declares (fangkong/core/registry.py).
for prefix, router in api_routers():
    api.add_router(prefix, router)
