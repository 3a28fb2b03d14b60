import sys

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views import defaults

from . import apierrors
from .audit import event_types
from .permissions import can_read_audit
from .registry import nav_entries
from .selectors import AUDIT_FILTERS, audit_events


@login_required
def home(request):
    """The page a user lands on: the menu entry the apps name home for the user's role."""
    for entry in nav_entries():
        if request.user.role in entry.home_for and entry.visible_to(request.user):
            return redirect(entry.url_name)
    return render(request, "core/home.html")


@login_required
def audit_log(request):
    if not can_read_audit(request.user):
        raise PermissionDenied
    filters = {k: request.GET.get(k, "").strip() for k in AUDIT_FILTERS}
    events = audit_events(request.user, filters)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    types = [(code, str(label)) for code, label in event_types().items()]
    context = {"page": page, "filters": filters, "event_types": types}
    return render(request, "core/audit.html", context)


def healthz(request):
    """`ok` when the database answers; otherwise 503 in the API's error shape, with
    Retry-After, for a load balancer or a monitor to read."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return apierrors.unavailable()
    return HttpResponse("ok", content_type="text/plain")


def server_error(request):
    """handler500: called while the exception is being handled. The database gone is a
    503 with Retry-After (JSON for the API and /healthz, a bilingual page otherwise);
    anything else a 500, in the API's shape under /api/."""
    exc = sys.exc_info()[1]
    machine = request.path_info.startswith(("/api/", "/healthz"))
    if apierrors.database_down(exc):
        if machine:
            return apierrors.unavailable()
        response = HttpResponse(UNAVAILABLE_PAGE, status=503, content_type="text/html")
        response["Retry-After"] = str(settings.UNAVAILABLE_RETRY_AFTER_S)
        return response
    if machine:
        return apierrors.for_status(500)
    return defaults.server_error(request)


# Plain HTML without a template or the database: either may be what failed.
UNAVAILABLE_PAGE = """<!doctype html><html lang="zh-hans"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>暂时无法访问 · Unavailable</title>
<h1>系统暂时无法访问</h1><p>数据库暂时不可用，请稍后刷新重试。</p>
<p lang="en">The database is unavailable for a moment; reload the page shortly.</p></html>
"""
