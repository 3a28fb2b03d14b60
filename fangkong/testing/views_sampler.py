"""The sampler's page: a thin view; the work happens in the browser (sampler.js).

The page talks to the upload API and the sampler config of docs/sampling-protocol.md
with the session cookie, and keeps working offline: its scans wait in IndexedDB, and a
service worker, served from below the page so its scope covers it, lets the page itself
reload with no network.
"""

from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from fangkong.testing.permissions import can_sample

from . import selectors

# The protocol's paths are a public contract (third-party devices use them too).
CONFIG_URL = "/api/v1/testing/sampler-config"
UPLOAD_URL = "/api/v1/testing/uploads"
SERVICE_WORKER = Path(__file__).resolve().parent / "static" / "testing" / "sw.js"


@login_required
def sampler(request):
    if not can_sample(request.user):
        raise PermissionDenied
    page = reverse("testing:sampler")
    context = {
        # The same as GET sampler-config, so the page (and its offline copy) starts with
        # the rounds, sites and key even before the API answers.
        "config": {**selectors.sampler_config(request.user), "server_time": timezone.now()},
        "config_url": CONFIG_URL,
        "upload_url": UPLOAD_URL,
        "sw_url": reverse("testing:sampler_sw"),
        "sw_scope": page,
        "login_url": f"{reverse('accounts:login')}?next={page}",
        "hold_seconds": settings.SAMPLER_HOLD_SECONDS,
    }
    return render(request, "testing/sampler.html", context)


@require_GET
def service_worker(request):
    """The page's service worker, from a path whose scope covers the page.

    Public (it holds no data), so that a device whose session has expired can still
    update it; never cached by HTTP, so a new version reaches devices on their next load.
    """
    response = HttpResponse(SERVICE_WORKER.read_bytes(), content_type="text/javascript")
    response["Cache-Control"] = "no-cache"
    return response
