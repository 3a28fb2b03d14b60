"""The API's one error shape, for every failure: those the API's own handlers see
(fangkong/api.py) and those that happen around it (no such path, a method not allowed,
a server error, the database gone), which `ApiErrorMiddleware` and the 500 handler put
in the same shape.

    {"error": {"code": "...", "message": "<English>", "message_zh": "<Chinese>", "field": ""}}
"""

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse


def error_body(code: str, zh: str, en: str, field: str = "", **extra) -> dict:
    return {"error": {"code": code, "message": en, "message_zh": zh, "field": field, **extra}}


def error_response(
    status: int, code: str, zh: str, en: str, field: str = "", *, retry_after=None, **extra
) -> JsonResponse:
    response = JsonResponse(
        error_body(code, zh, en, field, **extra),
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def too_large_text() -> tuple[str, str]:
    mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    return (
        f"请求体过大：最多{mb}MB，请分批发送",
        f"the request body is too large: at most {mb} MB; send it in parts",
    )


# What each status means when nothing more specific is known: code, Chinese, English.
_BY_STATUS = {
    400: ("invalid", "请求有误", "bad request"),
    401: ("unauthorized", "需要登录或令牌", "authentication required"),
    403: ("forbidden", "您无权进行此操作", "forbidden"),
    404: ("not_found", "未找到或不在您的辖区内", "not found"),
    405: ("method_not_allowed", "该地址不支持此请求方法", "this method is not allowed here"),
    406: ("not_acceptable", "只能以JSON应答", "the answer can only be JSON"),
    415: (
        "unsupported_media_type",
        "请求体须为JSON（Content-Type: application/json）",
        "the request body must be JSON (Content-Type: application/json)",
    ),
    429: ("rate_limited", "请求过于频繁，请稍后再试", "too many requests; try again later"),
    500: ("server_error", "服务器内部错误，已记录，请稍后重试", "internal server error (logged)"),
    503: ("unavailable", "服务暂时不可用，请稍后重试", "the service is unavailable; retry later"),
}


def for_status(status: int) -> JsonResponse:
    """The error for a bare status (a 404 of a path no route knows, a 405, …)."""
    if status == 413:
        return error_response(413, "too_large", *too_large_text())
    if status == 503:
        return unavailable()
    code, zh, en = _BY_STATUS.get(status) or _BY_STATUS[500 if status >= 500 else 400]
    return error_response(status, code, zh, en)


def database_down(exc: BaseException | None) -> bool:
    """The database cannot be reached or answered with a transient failure (a lost
    connection, a timeout, a restart): retry later, nothing is wrong with the request."""
    return isinstance(exc, OperationalError | InterfaceError)


def unavailable() -> JsonResponse:
    return error_response(
        503,
        "unavailable",
        "数据库暂时不可用，请稍后重试",
        "the database is unavailable; retry later",
        retry_after=settings.UNAVAILABLE_RETRY_AFTER_S,
    )
