from django.conf import settings
from django.http import HttpResponseBadRequest
from django.utils.cache import add_never_cache_headers

from . import apierrors


class RefuseNulMiddleware:
    """A NUL character in a URL or form is never meant; PostgreSQL cannot store it.

    Refused here with a plain bilingual message, instead of a server error deep in a
    query. (The API refuses it in its own error shape before this matters.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            return self.get_response(request)
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            return _refuse()
        if request.method == "POST" and request.content_type in FORM_TYPES and _has_nul(request):
            return _refuse()
        return self.get_response(request)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(request) -> bool:
    return any("\x00" in value for _, values in request.POST.lists() for value in values)


def _refuse():
    return HttpResponseBadRequest(
        "请求含有空字符（NUL），已拒绝 / the request contains a NUL character and was refused",
        content_type="text/plain; charset=utf-8",
    )


class ApiErrorMiddleware:
    """Every failure under /api/ answers in the API's one JSON error shape: also those
    no API handler sees (a path no route knows, a method the route does not take, a
    body too large for Django to read, an error in another middleware). Outermost, so
    it sees every answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path_info.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            converted = apierrors.for_status(response.status_code)
            for header in ("Allow", "Retry-After"):
                if header in response:
                    converted[header] = response[header]
            return converted
        return response


class NoStoreMiddleware:
    """Personal data is never kept by a browser's or a proxy's cache. The simplest sound
    rule: every API answer, and every answer to a request with a session cookie (a
    logged-in page), says `Cache-Control: no-store` (with Django's other never-cache
    headers). Static files are left cacheable. Outermost, so errors are covered too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        path = request.path_info
        if path.startswith("/api/") or (
            settings.SESSION_COOKIE_NAME in request.COOKIES
            and not path.startswith(settings.STATIC_URL)
        ):
            add_never_cache_headers(response)
        return response
