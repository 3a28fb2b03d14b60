"""The numbers: a page for the command centre (its whole jurisdiction) and for a
community or street (one area), with charts (Apache ECharts, vendored), and .xlsx."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from fangkong.areas.models import Area
from fangkong.core.shortcuts import deny_unless, get_scoped_or_404

from . import selectors
from .exports import XLSX_TYPE, numbers_export
from .permissions import can_read_numbers


def _area(request):
    code = request.GET.get("area", "").strip()
    return get_scoped_or_404(Area.objects, request.user, code=code) if code else None


@login_required
def numbers(request):
    deny_unless(can_read_numbers(request.user))
    area = _area(request)
    n = selectors.numbers(request.user, area)
    charts = {
        "by_community": n.by_community,
        "by_organ": n.by_organ,
        "kinds": n.person_times_by_kind,
        "organ_hours": n.hours_by_organ,
    }
    return render(
        request,
        "workforce/numbers.html",
        {
            "n": n,
            "area": area,
            "charts": charts,
            "communities": selectors.communities_for(request.user),
            "now": timezone.now(),
        },
    )


@login_required
def numbers_xlsx(request):
    deny_unless(can_read_numbers(request.user))
    area = _area(request)
    body = numbers_export(actor=request.user, area=area)
    response = HttpResponse(body, content_type=XLSX_TYPE)
    name = f"workforce-{area.code if area else 'all'}-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
