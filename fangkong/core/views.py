from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import redirect, render

from fangkong.accounts import policy

from .selectors import AUDIT_FILTERS, audit_events


@login_required
def home(request):
    if request.user.role == "resident":
        return redirect("people:mine")
    if request.user.role == "sampler":
        return redirect("testing:sampler")
    if policy.can_browse_areas(request.user):
        return redirect("areas:browse")
    return render(request, "core/home.html")


@login_required
def audit_log(request):
    if not policy.can_read_audit(request.user):
        raise PermissionDenied
    filters = {k: request.GET.get(k, "").strip() for k in AUDIT_FILTERS}
    events = audit_events(request.user, filters)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "core/audit.html", {"page": page, "filters": filters})


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
