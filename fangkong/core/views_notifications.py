"""A user's notifications: the inbox, the live stream their open pages listen to."""

import json
import time

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import notifications


@login_required
def inbox(request):
    page = Paginator(notifications.inbox(request.user), 30).get_page(request.GET.get("page"))
    return render(request, "core/notifications.html", {"page": page})


@login_required
@require_POST
def read(request):
    """Mark one notification (`id`) or all of the user's notifications read."""
    ids = [int(i) for i in request.POST.getlist("id") if i.isdigit()] or None
    notifications.mark_read(user=request.user, ids=ids)
    if request.htmx:
        return HttpResponse(status=204)
    return redirect("core:notifications")


def _event(n) -> str:
    data = {"id": n.id, "kind": n.kind, "text": n.text, "url": n.url}
    return f"id: {n.id}\nevent: notification\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@login_required
def stream(request):
    """Server-sent events: the user's new notifications as they are written.

    A connection is held for `NOTIFY_STREAM_SECONDS` and then closed; the browser's
    EventSource reconnects with the last id it saw, so nothing is missed in between.
    """
    user = request.user
    header = request.headers.get("Last-Event-ID", "") or request.GET.get("after", "")
    last = int(header) if header.isdigit() else None

    def events():
        nonlocal last
        if last is None:  # a fresh page: start from now, not from the inbox's history
            newest = notifications.inbox(user).values_list("id", flat=True).first()
            last = newest or 0
        yield f"retry: {settings.NOTIFY_RETRY_MS}\n\n"
        deadline = time.monotonic() + settings.NOTIFY_STREAM_SECONDS
        while True:
            for n in notifications.newer_than(user, last):
                last = n.id
                yield _event(n)
            if time.monotonic() >= deadline:
                return
            time.sleep(settings.NOTIFY_POLL_SECONDS)
            yield ": keep-alive\n\n"

    response = StreamingHttpResponse(events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events through at once
    return response
