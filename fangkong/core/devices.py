"""A lean way in for devices: the hot bearer-token endpoints without the browser's stack.

A sampling device's upload carries `Authorization: Bearer …` and JSON; it has no
session, no CSRF token, no messages, nothing to lock out at a login form, no page for a
CSP or htmx to act on. Through the full middleware stack each upload paid for all of
them (docs/benchmarks.md), and for Django's per-request connection health check, one
more round trip to PostgreSQL before its first statement.

`device_application(full)` wraps the project's WSGI application: a request for one of
`settings.FANGKONG_DEVICE_PATHS` that carries a bearer token is served by a second
handler whose middleware is `DEVICE_MIDDLEWARE`; everything else (a browser's page, the
offline sampler page uploading with its session, a resident's ask from the relief page)
goes the full way. An entry is a path (every method) or a method and a path
(`POST /api/v1/relief/requests`: residents' asks, and not the queue read at the same
path). What the device
path keeps: the API's one error shape and `no-store` (outermost, as on the full stack),
the security headers, the language the request asks for (`Accept-Language`, as the
locale middleware reads it; otherwise the default, never the thread's last request's),
and every check the endpoint makes itself (the token, its scope, jurisdiction, the upload
gate). A request whose bearer token fails is not
authenticated by the session either (there is none): 401, as on the full stack.

The health check: a connection that went bad between requests (the server restarted)
fails this request's first statement instead; the upload path answers that with 503
and `Retry-After` (as for a timeout), Django drops the connection at the end of the
request because an error occurred, and the device's retry, which is idempotent by
client id, gets a fresh one.
"""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.utils import translation

DEVICE_MIDDLEWARE = [
    "fangkong.core.middleware.NoStoreMiddleware",
    "fangkong.core.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "fangkong.core.devices.DeviceRequestMiddleware",
]


class DeviceRequestMiddleware:
    """No session: an anonymous user for any scheme that asks. No health check: the
    connections open from an earlier request are taken as healthy (see above). The
    language from the request's header, as the full stack's locale middleware picks it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.user = AnonymousUser()
        translation.activate(translation.get_language_from_request(request))
        request.LANGUAGE_CODE = translation.get_language()
        for conn in connections.all(initialized_only=True):
            if conn.connection is not None:
                conn.health_check_done = True
        return self.get_response(request)


class DeviceHandler(WSGIHandler):
    """Django's WSGI handler with `DEVICE_MIDDLEWARE` in place of `settings.MIDDLEWARE`."""

    def load_middleware(self, is_async=False):
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = DEVICE_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


def is_device_request(environ: dict, paths: frozenset[str]) -> bool:
    """A bearer-token request for one of `paths` (each a path, or "METHOD path")."""
    path = environ.get("PATH_INFO", "")
    return (
        path in paths or f"{environ.get('REQUEST_METHOD', '')} {path}" in paths
    ) and environ.get("HTTP_AUTHORIZATION", "")[:7].lower() == "bearer "


def device_application(full):
    """`full`, with device requests for `settings.FANGKONG_DEVICE_PATHS` served lean."""
    paths = frozenset(" ".join(entry.split()) for entry in settings.FANGKONG_DEVICE_PATHS)
    if not paths:
        return full
    lean = DeviceHandler()

    def application(environ, start_response):
        if is_device_request(environ, paths):
            return lean(environ, start_response)
        return full(environ, start_response)

    return application
