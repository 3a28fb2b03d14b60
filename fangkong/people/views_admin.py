"""Residents' records kept from the browser: register, edit, key populations by tag, and
hand-overs between communities. Thin views over the services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from fangkong.areas.models import Area
from fangkong.areas.services import household_get_or_create
from fangkong.core.forms import submit
from fangkong.core.shortcuts import deny_unless, get_scoped_or_404
from fangkong.core.text import clean

from . import selectors, services
from .forms import (
    DecisionForm,
    HandOverRequestForm,
    ResidentEditForm,
    ResidentRegisterForm,
    buildings_for,
)
from .models import HandOver, Resident, Tag
from .permissions import (
    HEALTH_TAGS,
    can_approve_handover,
    can_edit_residents,
    can_read_residents,
)


def _household(user, data):
    household, _created = household_get_or_create(
        actor=user, building=data["building"], unit=clean(data["unit"]), room=clean(data["room"])
    )
    return household


def _flags(names) -> int:
    return sum(int(Tag[n.upper()]) for n in names)


@login_required
def register(request):
    """Register a person at an address. A number held by another community says only
    that, and offers to ask for a hand-over."""
    deny_unless(can_edit_residents(request.user))
    form = ResidentRegisterForm(buildings_for(request.user), request.POST or None)
    handover_form = None
    held = []
    if request.method == "POST":

        def save(data):
            checked = services.resident_validate(
                name=data["name"],
                id_type=data["id_type"],
                id_number=data["id_number"],
                phone=data["phone"],
                residency=data["residency"],
                tags=_flags(data["tags"]),
            )
            try:
                return services.resident_register(
                    actor=request.user, household=_household(request.user, data), data=checked
                )
            except services.HeldElsewhere:
                held.append(dict(data))  # add_error takes the field out of `data`
                raise

        ok, result = submit(form, save)
        if held:
            # Carry what was typed over to the hand-over request (nothing of the person).
            data = held[0]
            handover_form = HandOverRequestForm(
                buildings_for(request.user),
                initial={
                    "id_type": data["id_type"],
                    "id_number": data["id_number"],
                    "building": data["building"].code,
                    "unit": data["unit"],
                    "room": data["room"],
                },
            )
        if ok:
            resident, _outcome = result
            messages.success(request, _("Saved."))
            return redirect("people:detail", pk=resident.pk)
    return render(
        request,
        "people/register.html",
        {"form": form, "handover_form": handover_form},
        status=400 if form.errors else 200,
    )


@login_required
def edit(request, pk):
    deny_unless(can_edit_residents(request.user))
    resident = get_scoped_or_404(
        Resident.objects.select_related("household__building"), request.user, pk=pk
    )
    household = resident.household
    initial = {
        "building": household.building.code,
        "unit": household.unit,
        "room": household.room,
        "tags": [t.name.lower() for t in Tag if resident.tags & t],
    }
    buildings = buildings_for(request.user, resident.area_code[:9])
    form = ResidentEditForm(buildings, request.POST or None, initial=initial)
    if request.method == "POST":
        ok, _outcome = submit(
            form,
            lambda data: services.resident_edit(
                actor=request.user,
                resident=resident,
                household=_household(request.user, data),
                tags=_flags(data["tags"]),
                phone=data["phone"],
                reason=data["reason"],
            ),
        )
        if ok:
            messages.success(request, _("Saved."))
            return redirect("people:detail", pk=resident.pk)
    return render(
        request,
        "people/edit.html",
        {"r": resident, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
def tags(request):
    """How many of each key population live here, each count a link to its list."""
    deny_unless(can_read_residents(request.user) and HEALTH_TAGS(request.user))
    code = request.GET.get("area", "").strip()
    area = get_scoped_or_404(Area.objects, request.user, code=code) if code else None
    counts = selectors.tag_counts(request.user, area)
    return render(request, "people/tags.html", {"area": area, "counts": counts})


# Hand-overs ----------------------------------------------------------------------------


def _visible(user, handover: HandOver) -> bool:
    """The asking side sees who it is only once the person lives in its jurisdiction."""
    return user.may_see_area(handover.resident.area_code)


@login_required
def handovers(request):
    deny_unless(can_edit_residents(request.user) or can_approve_handover(request.user))
    rows = [(h, _visible(request.user, h)) for h in selectors.handovers_of(request.user)[:200]]
    return render(request, "people/handovers.html", {"rows": rows})


@login_required
def handover_new(request):
    deny_unless(can_edit_residents(request.user))
    form = HandOverRequestForm(buildings_for(request.user), request.POST or None)
    if request.method == "POST":
        ok, handover = submit(
            form,
            lambda data: services.handover_request(
                actor=request.user,
                household=_household(request.user, data),
                id_type=data["id_type"],
                id_number=data["id_number"],
                reason=data["reason"],
            ),
        )
        if ok:
            messages.success(request, _("Asked. The office above both communities decides."))
            return redirect("people:handover", pk=handover.pk)
    return render(
        request, "people/handover_new.html", {"form": form}, status=400 if form.errors else 200
    )


@login_required
def handover(request, pk):
    deny_unless(can_edit_residents(request.user) or can_approve_handover(request.user))
    handover = get_scoped_or_404(
        HandOver.objects.select_related("resident", "to_household__building__parent"),
        request.user,
        pk=pk,
    )
    may_decide = (
        handover.is_pending
        and can_approve_handover(request.user)
        and request.user.may_see_area(handover.approver_code or "\0")
    )
    may_cancel = (
        handover.is_pending
        and can_edit_residents(request.user)
        and request.user.may_see_area(handover.to_code)
    )
    form = DecisionForm(request.POST or None)
    if request.method == "POST":
        action = request.POST.get("action")
        if action in ("approve", "decline"):
            call = lambda data: services.handover_decide(  # noqa: E731
                actor=request.user,
                handover=handover,
                approve=action == "approve",
                reason=data["reason"],
            )
        elif action == "cancel":
            call = lambda data: services.handover_cancel(  # noqa: E731
                actor=request.user, handover=handover, reason=data["reason"]
            )
        else:
            call = None
        deny_unless(call is not None)
        ok, _result = submit(form, call)
        if ok:
            messages.success(request, _("Saved."))
            return redirect("people:handover", pk=handover.pk)
    context = {
        "h": handover,
        "visible": _visible(request.user, handover),
        "may_decide": may_decide,
        "may_cancel": may_cancel,
        "form": form,
    }
    return render(request, "people/handover.html", context, status=400 if form.errors else 200)
