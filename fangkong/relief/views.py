"""Pages of needs: a resident's household (ask, confirm, complain), the triage queue and
a need's page (dispatch with suggestions, batch dispatch, urgency, reopen, call), the
escalations, and the worker's phone (tasks: accept, picked up, delivered, a problem).
Thin: parse, fetch through a scoped getter, call a service or selector, render."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fangkong.core.errors import DomainError
from fangkong.core.roles import Role
from fangkong.core.shortcuts import deny_unless, get_scoped_or_404
from fangkong.people.selectors import residents_matching, search_term
from fangkong.people.services import resident_search
from fangkong.workforce.selectors import teams_visible

from . import selectors, services
from .models import ACTIVE, DispatchTeam, Escalation, ReliefRequest, Status, Stock, Urgency
from .permissions import can_deliver, can_register_for_resident, can_request_help, can_triage
from .services._common import is_mine
from .views_common import client_id, done, number, say


def _need(request, pk) -> ReliefRequest:
    return get_scoped_or_404(
        ReliefRequest.objects.select_related(
            "category", "household__building__parent", "assignee", "team", "workforce_team"
        ),
        request.user,
        pk=pk,
    )


# A resident's household ----------------------------------------------------------------


@login_required
def mine(request):
    deny_unless(can_request_help(request.user))
    resident = request.user.resident
    members = residents_matching(request.user, search_term("")).order_by("id") if resident else []
    context = {
        "needs": selectors.household_needs(request.user),
        "categories": selectors.categories_for(resident.area_code, residents=True)
        if resident
        else [],
        "members": members,
        "urgencies": Urgency.choices,
        "client_id": client_id(),
        "active": ACTIVE,
    }
    return render(request, "relief/mine.html", context)


@login_required
@require_POST
def ask(request):
    deny_unless(can_request_help(request.user))
    registered = done(
        request,
        lambda: services.request_register(
            actor=request.user,
            category=request.POST.get("category", ""),
            resident=number(request.POST.get("resident")),
            urgency=request.POST.get("urgency") or None,
            detail=request.POST.get("detail", ""),
            client_id=request.POST.get("client_id", ""),
        ),
    )
    if registered is not None:
        level = messages.WARNING if registered.outcome == "merged" else messages.SUCCESS
        messages.add_message(request, level, say(*registered.message))
    return redirect("relief:mine")


@login_required
@require_POST
def confirm(request, pk):
    need = _need(request, pk)
    done(
        request,
        lambda: services.request_confirm(actor=request.user, request=need),
        _("Thank you: confirmed."),
    )
    return redirect("relief:mine")


@login_required
@require_POST
def complain(request, pk):
    need = _need(request, pk)
    done(
        request,
        lambda: services.request_complain(
            actor=request.user, request=need, reason=request.POST.get("reason", "")
        ),
        _("Your complaint is recorded; the need is open again."),
    )
    return redirect("relief:mine")


@login_required
@require_POST
def cancel(request, pk):
    need = _need(request, pk)
    done(
        request,
        lambda: services.request_cancel(
            actor=request.user, request=need, reason=request.POST.get("reason", "")
        ),
        _("Cancelled."),
    )
    if request.user.role == Role.RESIDENT:
        return redirect("relief:mine")
    return redirect("relief:request", pk=need.pk)


# Triage --------------------------------------------------------------------------------


@login_required
def queue(request):
    """The queue; its next pages come by htmx as the rows alone (no counts, no forms)."""
    deny_unless(can_triage(request.user))
    filters = {k: request.GET.get(k, "").strip() for k in ("area", "category", "status", "urgency")}
    page = selectors.queue(request.user, after=request.GET.get("after", ""), **filters)
    context = {"page": page, "filters": filters}
    if request.htmx and request.GET.get("after"):
        return render(request, "relief/queue.html#rows", context)
    context |= {
        "counts": selectors.queue_counts(request.user, filters["area"]),
        "statuses": [(s, Status(s).label) for s in ACTIVE],
        "urgencies": Urgency.choices,
        "deliverers": _deliverers(request.user),
        "teams": DispatchTeam.objects.for_user(request.user).filter(active=True),
        "workforce_teams": teams_visible(request.user)[:200],
    }
    return render(request, "relief/queue.html", context)


def _deliverers(user):
    from .services._common import DELIVERERS

    return (
        get_user_model()
        .objects.filter(role__in=DELIVERERS, is_active=True, areas__code__in=user.scope_prefixes())
        .distinct()
        .order_by("role", "username")[:200]
    )


def _taker(request):
    """The person or team (relief's or the workforce's) chosen on a dispatch form (scoped;
    None if not chosen)."""
    assignee = team = workforce_team = None
    if pk := number(request.POST.get("assignee")):
        assignee = get_user_model().objects.filter(pk=pk, is_active=True).first()
        if assignee is None:
            raise Http404
    if pk := number(request.POST.get("team")):
        team = get_scoped_or_404(DispatchTeam.objects, request.user, pk=pk)
    if pk := number(request.POST.get("workforce_team")):
        workforce_team = teams_visible(request.user).filter(pk=pk).first()
        if workforce_team is None:
            raise Http404
    return assignee, team, workforce_team


@login_required
@require_POST
def batch(request):
    deny_unless(can_triage(request.user))
    assignee, team, workforce_team = _taker(request)
    ids = [n for n in (number(x) for x in request.POST.getlist("need")) if n]
    visible = list(ReliefRequest.objects.in_jurisdiction(request.user).filter(pk__in=ids))
    made = done(
        request,
        lambda: services.requests_dispatch_batch(
            actor=request.user,
            requests=visible,
            assignee=assignee,
            team=team,
            workforce_team=workforce_team,
        ),
    )
    if made is not None:
        messages.success(request, say(f"已批量派出{made.size}项", f"{made.size} needs dispatched"))
    return redirect(request.POST.get("next") or "relief:queue")


@login_required
def register(request):
    """A worker registers a need for a resident (after a call or a door knock): find the
    resident, then fill in the need."""
    deny_unless(can_register_for_resident(request.user))
    if request.method == "POST":
        registered = done(
            request,
            lambda: services.request_register(
                actor=request.user,
                resident=number(request.POST.get("resident")),
                category=request.POST.get("category", ""),
                urgency=request.POST.get("urgency") or None,
                detail=request.POST.get("detail", ""),
                contact_phone=request.POST.get("contact_phone", ""),
                client_id=request.POST.get("client_id", ""),
            ),
        )
        if registered is not None:
            messages.success(request, say(*registered.message))
            if can_triage(request.user):
                return redirect("relief:request", pk=registered.request.pk)
            return redirect("relief:register")
    q = request.GET.get("q", "")
    chosen = None
    if pk := number(request.GET.get("resident")):
        chosen = residents_matching(request.user, search_term("")).filter(pk=pk).first()
        if chosen is None:
            raise Http404
    context = {
        "q": q,
        "results": done(request, lambda: resident_search(actor=request.user, q=q))
        if q and not chosen
        else None,
        "chosen": chosen,
        "categories": selectors.categories_for(chosen.area_code) if chosen else [],
        "urgencies": Urgency.choices,
        "client_id": client_id(),
    }
    return render(request, "relief/register.html", context)


@login_required
def detail(request, pk):
    deny_unless(can_triage(request.user))
    need = _need(request, pk)
    if not request.user.may_see_area(need.area_code):
        raise Http404
    context = {
        "need": need,
        "events": need.events.select_related("actor").all(),
        "suggestions": selectors.suggest_assignees(need) if need.status in ACTIVE else [],
        "teams": selectors.teams_for(need),
        "workforce_teams": selectors.workforce_teams_for(need),
        "team_suggestions": selectors.suggest_teams(need) if need.status in ACTIVE else [],
        "deliverers": _deliverers(request.user),
        "urgencies": Urgency.choices,
        "dispatchable": need.status in (Status.OPEN, Status.ASSIGNED, Status.ACCEPTED),
        "escalations": need.escalations.select_related("acknowledged_by"),
    }
    return render(request, "relief/detail.html", context)


@login_required
@require_POST
def dispatch(request, pk):
    deny_unless(can_triage(request.user))
    need = _need(request, pk)
    assignee, team, workforce_team = _taker(request)
    done(
        request,
        lambda: services.request_dispatch(
            actor=request.user,
            request=need,
            assignee=assignee,
            team=team,
            workforce_team=workforce_team,
        ),
        _("Dispatched."),
    )
    return redirect("relief:request", pk=need.pk)


@login_required
@require_POST
def urgency(request, pk):
    need = _need(request, pk)
    done(
        request,
        lambda: services.request_set_urgency(
            actor=request.user,
            request=need,
            urgency=request.POST.get("urgency", ""),
            reason=request.POST.get("reason", ""),
        ),
        _("Urgency changed; the deadline follows."),
    )
    return redirect("relief:request", pk=need.pk)


@login_required
@require_POST
def reopen(request, pk):
    need = _need(request, pk)
    done(
        request,
        lambda: services.request_reopen(
            actor=request.user, request=need, reason=request.POST.get("reason", "")
        ),
        _("Opened again."),
    )
    return redirect("relief:request", pk=need.pk)


@login_required
@require_POST
def call(request, pk):
    """The contact's number as a tel: link, for the one carrying the need or triage staff;
    every reveal is audited (a POST, never a GET)."""
    need = _need(request, pk)
    try:
        phone = services.request_contact_reveal(actor=request.user, request=need)
    except DomainError as exc:
        return render(request, "relief/_call.html", {"error": say(exc.zh, exc.en), "need": need})
    return render(request, "relief/_call.html", {"phone": phone, "need": need})


@login_required
def escalation_list(request):
    deny_unless(can_triage(request.user))
    show_all = request.GET.get("all") == "1"
    rows = selectors.escalations(request.user, unresolved=not show_all)[:200]
    return render(request, "relief/escalations.html", {"rows": rows, "show_all": show_all})


@login_required
@require_POST
def escalation_ack(request, pk):
    deny_unless(can_triage(request.user))
    row = get_scoped_or_404(Escalation.objects, request.user, pk=pk)
    done(
        request,
        lambda: services.escalation_acknowledge(
            actor=request.user, escalation=row, note=request.POST.get("note", "")
        ),
        _("Acknowledged."),
    )
    return redirect("relief:escalations")


# The worker's phone --------------------------------------------------------------------


@login_required
def tasks(request):
    deny_unless(can_deliver(request.user))
    rows = list(selectors.tasks_of(request.user)[:200])
    return render(
        request,
        "relief/tasks.html",
        {
            "open": [t for t in rows if t.status in ACTIVE],
            "done": [t for t in rows if t.status not in ACTIVE],
        },
    )


def _task(request, pk) -> ReliefRequest:
    need = _need(request, pk)
    if not is_mine(request.user, need):
        raise Http404
    return need


@login_required
def task(request, pk):
    deny_unless(can_deliver(request.user))
    need = _task(request, pk)
    context = {
        "need": need,
        "stock": selectors.stock_for_need(need)
        if need.status in (Status.ASSIGNED, Status.ACCEPTED)
        else [],
        "client_id": client_id(),
    }
    return render(request, "relief/task.html", context)


def _draws(request) -> list[tuple[Stock, int]]:
    draws = []
    for key, value in request.POST.items():
        if key.startswith("draw_") and (quantity := number(value, 0)):
            stock = Stock.objects.select_related("point").filter(pk=number(key[5:])).first()
            if stock is None:
                raise Http404
            draws.append((stock, quantity))
    return draws


@login_required
@require_POST
def task_step(request, pk, step):
    deny_unless(can_deliver(request.user))
    need = _task(request, pk)
    user, post = request.user, request.POST
    steps = {
        "accept": (lambda: services.request_accept(actor=user, request=need), _("Accepted.")),
        "pick_up": (
            lambda: services.request_pick_up(
                actor=user, request=need, draws=_draws(request), client_id=post.get("client_id", "")
            ),
            _("Picked up."),
        ),
        "deliver": (
            lambda: services.request_deliver(
                actor=user,
                request=need,
                code=post.get("code", ""),
                photo=request.FILES.get("photo"),
                note=post.get("note", ""),
            ),
            _("Delivered."),
        ),
        "problem": (
            lambda: services.request_report_problem(
                actor=user, request=need, reason=post.get("reason", "")
            ),
            _("Reported; the need is back in the community's queue."),
        ),
    }
    if step not in steps:
        raise Http404
    call, success = steps[step]
    if done(request, call, success) is not None and step in ("deliver", "problem"):
        return redirect("relief:tasks")
    return redirect("relief:task", pk=need.pk)
