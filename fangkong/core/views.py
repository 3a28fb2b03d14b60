from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import redirect, render

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
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
