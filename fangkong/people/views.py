from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_POST

from fangkong.core.errors import DomainError, RateLimited
from fangkong.core.registry import panels_for
from fangkong.core.roles import Role
from fangkong.core.shortcuts import get_scoped_or_404
from fangkong.people.permissions import (
    HEALTH_TAGS,
    can_edit_residents,
    can_read_residents,
    can_reveal_pii,
)

from . import selectors, services
from .models import Resident


def _page_number(request) -> int:
    try:
        return int(request.GET.get("page", 1))
    except ValueError:
        return 1


_REFUSAL_STATUS = {"forbidden": 403, "rate_limited": 429}


@login_required
def search(request):
    if not can_read_residents(request.user):
        raise PermissionDenied
    q = request.GET.get("q", "")
    area = request.GET.get("area", "").strip()
    household = request.GET.get("household", "")
    tags = [t for t in request.GET.getlist("tag") if t in selectors.TAG_KEYS]
    labels = {key: label for key, label, _column in selectors.TAG_LISTS}
    context = {
        "q": q,
        "area": area,
        "household": household,
        "tags": tags,
        "tag_labels": [labels[t] for t in tags],
        "page": None,
        "show_tags": HEALTH_TAGS(request.user),
    }
    status = 200
    try:
        context["page"] = services.resident_search(
            actor=request.user,
            q=q,
            area=area if area.isdigit() else "",
            household=int(household) if household.isdigit() else None,
            tags=tags,
            page=_page_number(request),
        )
    except DomainError as exc:
        context["refusal"] = exc
        # htmx swaps only a 2xx answer: the refusal is shown in place of the results.
        status = 200 if request.htmx else _REFUSAL_STATUS.get(exc.code, 400)
    template = "people/search.html#results" if request.htmx else "people/search.html"
    response = render(request, template, context, status=status)
    if isinstance(context.get("refusal"), RateLimited):
        response["Retry-After"] = str(context["refusal"].retry_after)
    return response


@login_required
def detail(request, pk):
    resident = get_scoped_or_404(
        Resident.objects.select_related("household__building__parent"), request.user, pk=pk
    )
    # A resident reads their own household's records; for_user already limits them.
    if not (can_read_residents(request.user) or request.user.role == Role.RESIDENT):
        raise PermissionDenied
    context = {
        "r": resident,
        "can_reveal": can_reveal_pii(request.user),
        "can_edit": can_edit_residents(request.user),
        "show_tags": HEALTH_TAGS(request.user),
        # What later apps show about a resident (a control status …), asked of the registry.
        "panels": panels_for("people.resident", request, resident),
    }
    return render(request, "people/detail.html", context)


@login_required
@require_POST
def reveal(request, pk):
    """Show the full ID and phone numbers; each time is written to the audit log."""
    resident = get_scoped_or_404(Resident.objects, request.user, pk=pk)
    if not can_reveal_pii(request.user):
        raise PermissionDenied
    context = {"r": resident}
    try:
        context["numbers"] = services.resident_reveal(
            actor=request.user, resident=resident, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:  # no reason given: say so where the numbers would be
        context["refusal"] = exc
    status = 400 if "refusal" in context and not request.htmx else 200
    return render(request, "people/detail.html#numbers", context, status=status)
