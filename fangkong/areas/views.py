from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fangkong.core.errors import DomainError
from fangkong.core.permissions import granted
from fangkong.core.shortcuts import get_scoped_or_404

from . import selectors, services
from .forms import ZoneDeclareForm, ZoneLiftForm
from .models import Area, Level, ZoneDesignation
from .permissions import HOUSEHOLDS, can_browse_areas, can_declare_zone


def _require_browser(user):
    if not can_browse_areas(user):
        raise PermissionDenied


@login_required
def browse(request):
    """The top of the user's jurisdiction: one area goes straight to its page."""
    _require_browser(request.user)
    roots = list(Area.objects.filter(code__in=request.user.scope_prefixes()))
    if len(roots) == 1:
        return redirect("areas:detail", code=roots[0].code)
    rows = [
        selectors.AreaRow(a, selectors.area_totals(a), selectors.zone_in_force(a)) for a in roots
    ]
    return render(request, "areas/browse.html", {"rows": rows})


@login_required
def area_detail(request, code):
    _require_browser(request.user)
    area = get_scoped_or_404(Area.objects, request.user, code=code)
    context = {
        "area": area,
        "crumbs": selectors.breadcrumbs(area, request.user),
        "totals": selectors.area_totals(area),
        "zone": selectors.zone_in_force(area),
        "zones": selectors.zone_history(area)[:20],
        "can_declare": can_declare_zone(request.user),
        "zone_form": ZoneDeclareForm(),
        "can_read_residents": granted(request.user, "people.read_residents"),
        "can_print_codes": granted(request.user, "people.edit_residents"),
    }
    if area.level == Level.BUILDING:
        # Room by room only for the roles that see households (core.sight).
        if HOUSEHOLDS(request.user):
            context["households"] = selectors.building_households(area, request.user)
    else:
        context["rows"] = selectors.area_children(area)
    return render(request, "areas/detail.html", context)


@login_required
@require_POST
def zone_declare(request, code):
    area = get_scoped_or_404(Area.objects, request.user, code=code)
    if not can_declare_zone(request.user):
        raise PermissionDenied
    form = ZoneDeclareForm(request.POST)
    if form.is_valid():
        try:
            services.zone_declare(actor=request.user, area=area, **form.cleaned_data)
            messages.success(request, _("Saved."))
        except DomainError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, form.errors.as_text())
    return redirect("areas:detail", code=area.code)


@login_required
@require_POST
def zone_lift(request, pk):
    zone = get_scoped_or_404(ZoneDesignation.objects, request.user, pk=pk)
    if not can_declare_zone(request.user):
        raise PermissionDenied
    form = ZoneLiftForm(request.POST)
    if form.is_valid():
        try:
            services.zone_lift(actor=request.user, zone=zone, reason=form.cleaned_data["reason"])
            messages.success(request, _("Saved."))
        except DomainError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, form.errors.as_text())
    return redirect("areas:detail", code=zone.area_code)
