"""Residents' codes: a resident's own page, a staff view of one code, sticker sheets."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from fangkong.areas.models import Area, Level
from fangkong.core.shortcuts import get_scoped_or_404
from fangkong.people.permissions import can_edit_residents, can_read_residents

from . import codes
from .models import Resident


def _own_household(user):
    """The people of the user's own household, the user first; nobody if not linked.

    Whatever the role: a community worker who is also a resident sees their family here,
    never their jurisdiction.
    """
    if user.resident_id is None:
        return []
    members = list(
        Resident.objects.filter(household__residents__id=user.resident_id)
        .select_related("household__building__parent")
        .order_by("id")
    )
    members.sort(key=lambda r: r.pk != user.resident_id)
    return members


@login_required
def mine(request):
    """A resident's own code and those of their household, big enough to scan."""
    cards = [
        {
            "r": r,
            "qr": codes.qr_data_uri(codes.code_for(r)),
            "is_self": r.pk == request.user.resident_id,
        }
        for r in _own_household(request.user)
    ]
    return render(request, "people/mine.html", {"cards": cards})


@login_required
def resident_code(request, pk):
    """One resident's code, for a staff member of their area (each view is audited)."""
    if not can_read_residents(request.user):
        raise PermissionDenied
    resident = get_scoped_or_404(
        Resident.objects.select_related("household__building__parent"), request.user, pk=pk
    )
    text = codes.code_show(actor=request.user, resident=resident)
    return render(
        request, "people/code.html", {"r": resident, "qr": codes.qr_data_uri(text), "text": text}
    )


@login_required
@require_POST
def building_stickers(request, code):
    """A PDF sheet of code stickers for one building of the user's jurisdiction."""
    if not can_edit_residents(request.user):
        raise PermissionDenied
    building = get_scoped_or_404(Area.objects.filter(level=Level.BUILDING), request.user, code=code)
    only = request.POST.get("only") == "no_smartphone"
    pdf = codes.codes_print(actor=request.user, building=building, only_no_smartphone=only)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="codes-{building.code}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
