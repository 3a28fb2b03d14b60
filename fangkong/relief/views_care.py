"""Pages of proactive care (check-ins due, recording one, planning) and supply points."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fangkong.areas.models import Area, Level
from fangkong.core.shortcuts import deny_unless, get_scoped_or_404

from . import selectors, services
from .models import (
    CareOutcome,
    CarePackagePlan,
    CareSchedule,
    MovementKind,
    Stock,
    StockMovement,
    SupplyPoint,
)
from .permissions import can_check_in, can_manage_stock, can_plan_care, can_read_stock
from .views_common import client_id, done, number, say


@login_required
def care(request):
    deny_unless(can_check_in(request.user) or can_plan_care(request.user))
    rows = list(selectors.care_due(request.user)[:300])
    area = rows[0].area_code if rows else ""
    context = {
        "rows": rows,
        "now": timezone.now(),
        "outcomes": [c for c in CareOutcome.choices if c[0] != CareOutcome.MISSED],
        "categories": selectors.categories_for(area) if area else [],
        "can_plan": can_plan_care(request.user),
        "can_check": can_check_in(request.user),
    }
    return render(request, "relief/care.html", context)


@login_required
@require_POST
def checkin(request, pk):
    deny_unless(can_check_in(request.user))
    schedule = get_scoped_or_404(CareSchedule.objects, request.user, pk=pk)
    done(
        request,
        lambda: services.checkin_record(
            actor=request.user,
            schedule=schedule,
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", ""),
            category=request.POST.get("category", ""),
            detail=request.POST.get("detail", ""),
        ),
        _("Check-in recorded."),
    )
    return redirect("relief:care")


@login_required
def plan(request):
    """Community staff: make the schedules from the roster, plan transports and care
    packages."""
    deny_unless(can_plan_care(request.user))
    communities = (
        Area.objects.for_user(request.user).filter(level=Level.COMMUNITY).order_by("code")[:100]
    )
    if request.method == "POST":
        area = get_scoped_or_404(Area.objects, request.user, code=request.POST.get("area", ""))
        action = request.POST.get("action")
        if action == "sync":
            counts = done(
                request, lambda: services.care_schedules_sync(actor=request.user, area=area)
            )
            if counts is not None:
                n = counts
                msg = say(
                    f"新建{n['created']}个、更新{n['updated']}个、停止{n['ended']}个关怀计划",
                    f"{n['created']} schedules made, {n['updated']} updated, {n['ended']} ended",
                )
                messages.success(request, msg)
        elif action == "packages":
            day = _date(request.POST.get("planned_for", ""))
            done(
                request,
                lambda: services.care_packages_plan(
                    actor=request.user,
                    area=area,
                    name=request.POST.get("name", ""),
                    contents=request.POST.get("contents", ""),
                    planned_for=day or timezone.localdate(),
                ),
                _("Care packages planned."),
            )
        return redirect("relief:care_plan")
    context = {
        "communities": communities,
        "packages": CarePackagePlan.objects.for_user(request.user)[:20],
        "schedules": CareSchedule.objects.for_user(request.user).filter(active=True).count(),
    }
    return render(request, "relief/care_plan.html", context)


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


@login_required
def supplies(request):
    deny_unless(can_read_stock(request.user))
    points = list(selectors.points_for(request.user)[:200])
    low = Stock.objects.filter(point__in=points, low_since__isnull=False).select_related("point")
    return render(request, "relief/supplies.html", {"points": points, "low": low})


def _point(request, pk) -> SupplyPoint:
    return get_scoped_or_404(SupplyPoint.objects.select_related("keeper"), request.user, pk=pk)


@login_required
def point(request, pk):
    deny_unless(can_read_stock(request.user))
    found = _point(request, pk)
    may_record = can_manage_stock(request.user) or found.keeper_id == request.user.pk
    context = {
        "point": found,
        "stock": selectors.stock_of(found),
        "movements": StockMovement.objects.filter(stock__point=found).select_related("stock")[:50],
        "may_record": may_record,
        "client_id": client_id(),
        "kinds": [
            (MovementKind.ARRIVAL.value, MovementKind.ARRIVAL.label),
            (MovementKind.DONATION.value, MovementKind.DONATION.label),
        ],
    }
    return render(request, "relief/point.html", context)


@login_required
@require_POST
def receive(request, pk):
    found = _point(request, pk)
    done(
        request,
        lambda: services.stock_receive(
            actor=request.user,
            point=found,
            item=request.POST.get("item", ""),
            quantity=request.POST.get("quantity"),
            unit=request.POST.get("unit", ""),
            kind=request.POST.get("kind", MovementKind.ARRIVAL),
            source=request.POST.get("source", ""),
            client_id=request.POST.get("client_id", ""),
        ),
        _("Stock recorded."),
    )
    return redirect("relief:point", pk=found.pk)


@login_required
@require_POST
def adjust(request, pk):
    stock = get_scoped_or_404(Stock.objects.select_related("point"), request.user, pk=pk)
    done(
        request,
        lambda: services.stock_adjust(
            actor=request.user,
            stock=stock,
            counted=number(request.POST.get("counted"), -1),
            reason=request.POST.get("reason", ""),
        ),
        _("Count corrected."),
    )
    return redirect("relief:point", pk=stock.point_id)
