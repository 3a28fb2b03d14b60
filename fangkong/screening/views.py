"""Pages of screening, phone first: a worker's trace tasks by time left and each task's
actions; a person's control status; household screening (a building's doors, one
household's short form); campaign coverage with drill-down and the not-yet list;
hand-overs; venues and their codes; exposure matching for a case. Thin: parse, fetch
through a scoped getter, call a service or a selector, render."""

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fangkong.areas.models import Area, Grid, Household, Level
from fangkong.areas.selectors import breadcrumbs
from fangkong.core import ids
from fangkong.core.errors import DomainError
from fangkong.core.shortcuts import deny_unless, get_scoped_or_404
from fangkong.labs import selectors as labs
from fangkong.labs.permissions import can_read_recalls
from fangkong.people import selectors as people

from . import selectors, services
from .forms import (
    AcceptForm,
    AttemptForm,
    CampaignLaunchForm,
    ControlForm,
    HandOverForm,
    MatchRunForm,
    NoteForm,
    ReasonForm,
    RegisterForm,
    StatusForm,
    UploadForm,
    VenueForm,
    answers_from_post,
)
from .models import (
    Campaign,
    MatchRun,
    Person,
    TaskState,
    TraceTask,
    Vaccination,
    VisitMethod,
    VisitOutcome,
)
from .permissions import (
    can_hand_over,
    can_import_answers,
    can_manage_venues,
    can_read_coverage,
    can_read_status,
    can_receive_hand_over,
    can_register_person,
    can_run_campaign,
    can_run_match,
    can_screen,
    can_set_status,
    can_trace,
)


def _done(request, call, success: str = ""):
    """Run a service call; show its DomainError as a message. Its result, or None."""
    try:
        result = call()
    except DomainError as exc:
        messages.error(request, str(exc))
        return None
    messages.success(request, success or _("Saved."))
    return result


def _submit(request, form, call, success: str = ""):
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return None
    return _done(request, lambda: call(form.cleaned_data), success)


# Trace tasks ----------------------------------------------------------------------------


@login_required
def tasks(request):
    """A worker's phone: unfinished tasks, least time left first (or a state's list)."""
    deny_unless(can_trace(request.user))
    state = request.GET.get("state", "active")
    rows = selectors.tasks_for(request.user, state=state)
    rows = rows.by_time_left() if state in ("active", "overdue") else rows.order_by("-raised_at")
    counts = selectors.task_counts(request.user)
    context = {
        "tasks": list(rows[:200]),
        "state": state,
        "states": [("active", _("To do")), ("overdue", _("Overdue")), *TaskState.choices],
        "counts": counts,
        "unidentified": list(selectors.unidentified_for(request.user)[:50])
        if counts.unidentified
        else [],
        "now": timezone.now(),
        "can_register": can_register_person(request.user),
    }
    return render(request, "screening/tasks.html", context)


def _task(request, pk) -> TraceTask:
    return get_scoped_or_404(TraceTask.objects.select_related("person"), request.user, pk=pk)


@login_required
def task(request, pk):
    deny_unless(can_trace(request.user))
    t = _task(request, pk)
    context = {
        "t": t,
        "now": timezone.now(),
        "history": selectors.task_history(t),
        "control_form": ControlForm(),
        "attempt_form": AttemptForm(),
        "hand_over_form": HandOverForm() if can_hand_over(request.user) else None,
    }
    return render(request, "screening/task.html", context)


def _task_action(request, pk, form_class, call, success: str = "", permission=can_trace):
    """A task's action from its page: check the form, call the service, back to the task."""
    deny_unless(permission(request.user))
    t = _task(request, pk)
    _submit(
        request, form_class(request.POST), lambda d: call(actor=request.user, task=t, **d), success
    )
    return redirect("screening:task", pk=t.pk)


@login_required
@require_POST
def task_reach(request, pk):
    return _task_action(request, pk, NoteForm, services.task_reach, _("Reached."))


@login_required
@require_POST
def task_attempt(request, pk):
    return _task_action(request, pk, AttemptForm, services.task_attempt, _("Attempt logged."))


@login_required
@require_POST
def task_control(request, pk):
    return _task_action(request, pk, ControlForm, services.task_control, _("Under control."))


@login_required
@require_POST
def task_hand_over(request, pk):
    return _task_action(
        request, pk, HandOverForm, services.task_hand_over, _("Handed over."), can_hand_over
    )


# People and statuses -------------------------------------------------------------------


def _person(request, pk) -> Person:
    return get_scoped_or_404(Person.objects, request.user, pk=pk)


@login_required
def person(request, pk):
    deny_unless(can_read_status(request.user))
    p = _person(request, pk)
    context = {
        "view": selectors.status_of_person(p, history=100),
        "form": StatusForm() if can_set_status(request.user) else None,
    }
    return render(request, "screening/person.html", context)


@login_required
@require_POST
def status_set(request, pk):
    deny_unless(can_set_status(request.user))
    p = _person(request, pk)
    _submit(
        request,
        StatusForm(request.POST),
        lambda d: services.status_set(actor=request.user, person=p, **d),
    )
    return redirect("screening:person", pk=p.pk)


@login_required
@require_POST
def resident_track(request, resident):
    """Open a resident's record in screening (from the resident page)."""
    deny_unless(can_read_status(request.user))
    r = people.residents_for(request.user).filter(pk=resident).first()
    if r is None:
        raise Http404
    return redirect("screening:person", pk=services.person_for_resident(r).pk)


@login_required
def register(request):
    """A person found who is on no roster (a visitor, a traveller), and a task if needed."""
    deny_unless(can_register_person(request.user))
    form = RegisterForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            reg, made = services.person_found(
                actor=request.user, client_id=request.POST.get("client_id") or None, **d
            )
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            if reg.elsewhere:
                messages.info(
                    request,
                    _("This person is registered in another community; any task went to them."),
                )
                return redirect("screening:register")
            messages.success(request, _("Registered."))
            if made is not None and can_trace(request.user):
                return redirect("screening:task", pk=made.pk)
            if can_read_status(request.user):
                return redirect("screening:person", pk=reg.person.pk)
            return redirect("screening:register")
    elif request.method == "POST":
        messages.error(request, form.errors.as_text())
    return render(request, "screening/register.html", {"form": form, "client_id": ids.client_id()})


# Hand-overs ---------------------------------------------------------------------------


@login_required
def hand_overs(request):
    deny_unless(can_hand_over(request.user) or can_receive_hand_over(request.user))
    received = []
    if can_receive_hand_over(request.user):
        for h in selectors.hand_overs_received(request.user)[:100]:
            received.append((h, AcceptForm(user=request.user, district=h.to_district)))
    sent = (
        selectors.hand_overs_for(request.user)
        .exclude(to_district__in={p[:6] for p in request.user.scope_prefixes()})
        .order_by("-sent_at")[:100]
    )
    return render(request, "screening/hand_overs.html", {"received": received, "sent": sent})


@login_required
@require_POST
def hand_over_accept(request, pk):
    deny_unless(can_receive_hand_over(request.user))
    h = selectors.hand_overs_received(request.user).filter(pk=pk).first()
    if h is None:
        raise Http404
    _submit(
        request,
        AcceptForm(request.POST, user=request.user, district=h.to_district),
        lambda d: services.hand_over_accept(actor=request.user, hand_over=h, area=d["area"]),
        _("Taken on: a task is raised."),
    )
    return redirect("screening:hand_overs")


# Campaigns ----------------------------------------------------------------------------


def _campaign(request, pk) -> Campaign:
    return get_scoped_or_404(Campaign.objects, request.user, pk=pk)


@login_required
def campaigns(request):
    deny_unless(can_screen(request.user) or can_read_coverage(request.user))
    rows = []
    for c in selectors.campaigns_for(request.user)[:50]:
        rows.append((c, selectors.coverage_of_codes(c, selectors.campaign_scope(c, request.user))))
    form = CampaignLaunchForm(user=request.user) if can_run_campaign(request.user) else None
    return render(request, "screening/campaigns.html", {"rows": rows, "form": form})


@login_required
@require_POST
def campaign_launch(request):
    deny_unless(can_run_campaign(request.user))
    made = _submit(
        request,
        CampaignLaunchForm(request.POST, user=request.user),
        lambda d: services.campaign_launch(actor=request.user, **d),
        _("Campaign launched."),
    )
    return redirect("screening:campaign", pk=made.pk) if made else redirect("screening:campaigns")


@login_required
def campaign(request, pk):
    deny_unless(can_screen(request.user) or can_read_coverage(request.user))
    c = _campaign(request, pk)
    scope = selectors.campaign_scope(c, request.user)
    roots = list(Area.objects.filter(code__in=scope).order_by("code"))
    if len(roots) == 1:
        return redirect("screening:coverage", pk=c.pk, code=roots[0].code)
    rows = [selectors.CoverageRow(a, selectors.coverage_of_area(c, a.code)) for a in roots]
    context = {
        "c": c,
        "totals": selectors.coverage_of_codes(c, scope),
        "rows": rows,
        "close_form": ReasonForm() if can_run_campaign(request.user) and c.is_active else None,
        "can_import": can_import_answers(request.user) and c.is_active,
    }
    return render(request, "screening/coverage.html", context)


@login_required
def coverage(request, pk, code):
    """A campaign's coverage of one area and its children; a building lists its doors."""
    deny_unless(can_screen(request.user) or can_read_coverage(request.user))
    c = _campaign(request, pk)
    area = get_scoped_or_404(Area.objects, request.user, code=code)
    if not any(
        area.code.startswith(x) or x.startswith(area.code) for x in selectors.campaign_codes(c)
    ):
        raise Http404
    if area.level == Level.BUILDING:
        return redirect("screening:building", pk=c.pk, code=area.code)
    context = {
        "c": c,
        "area": area,
        "crumbs": breadcrumbs(area, request.user),
        "totals": selectors.coverage_of_area(c, area.code),
        "rows": selectors.coverage_children(c, area),
        "by_whom": selectors.by_whom(c, area.code),
        "grids": selectors.grids_of([area.code]) if area.level == Level.COMMUNITY else [],
        "close_form": ReasonForm() if can_run_campaign(request.user) and c.is_active else None,
        "can_import": can_import_answers(request.user) and c.is_active,
    }
    return render(request, "screening/coverage.html", context)


@login_required
def grid_coverage(request, pk, grid):
    deny_unless(can_screen(request.user) or can_read_coverage(request.user))
    c = _campaign(request, pk)
    g = Grid.objects.filter(pk=grid).select_related("community").first()
    if g is None or not (
        g.keeper_id == request.user.pk or request.user.may_see_area(g.community.code)
    ):
        raise Http404
    totals, rows = selectors.grid_coverage(c, g)
    return render(
        request, "screening/coverage.html", {"c": c, "grid": g, "totals": totals, "rows": rows}
    )


@login_required
def building(request, pk, code):
    """A building's doors in a campaign: where each stands; tap one to screen it."""
    deny_unless(can_screen(request.user) or can_read_coverage(request.user))
    c = _campaign(request, pk)
    b = get_scoped_or_404(Area.objects, request.user, code=code, level=Level.BUILDING)
    not_yet = request.GET.get("show") == "not_yet"
    doors = (
        selectors.not_yet_households(c, b) if not_yet else selectors.households_of_building(c, b)
    )
    context = {
        "c": c,
        "b": b,
        "crumbs": breadcrumbs(b, request.user),
        "totals": selectors.coverage_of_area(c, b.code),
        "doors": list(doors[:1000]),
        "not_yet": not_yet,
        "by_whom": selectors.by_whom(c, b.code),
        "can_screen": can_screen(request.user) and c.is_active,
    }
    return render(request, "screening/building.html", context)


def _household(request, pk) -> Household:
    return get_scoped_or_404(Household.objects.select_related("building"), request.user, pk=pk)


@login_required
def screen(request, pk, household):
    """The short form for one household, on a phone: who lives here, each one's answers,
    or nobody home / refused."""
    deny_unless(can_screen(request.user))
    c = _campaign(request, pk)
    h = _household(request, household)
    members = list(people.household_members(h.pk))
    if request.method == "POST":
        outcome = request.POST.get("outcome", "")
        answers = answers_from_post(request.POST, members) if outcome == VisitOutcome.DONE else []
        result = _done(
            request,
            lambda: services.household_screen(
                actor=request.user,
                campaign=c,
                household=h,
                outcome=outcome,
                method=request.POST.get("method", ""),
                client_id=request.POST.get("client_id", ""),
                answers=answers,
                note=request.POST.get("note", ""),
            ),
        )
        if result is not None:
            return render(
                request,
                "screening/screened.html",
                {"c": c, "h": h, "result": result, "now": timezone.now()},
            )
    context = {
        "c": c,
        "h": h,
        "members": members,
        "visits": selectors.visits_of(c, h)[:10],
        "outcomes": VisitOutcome.choices,
        "methods": [m for m in VisitMethod.choices if m[0] != VisitMethod.SHEET],
        "vaccinations": Vaccination.choices,
        "risk_places": [p for p in c.risk_places.splitlines() if p.strip()],
        "client_id": ids.client_id(),
    }
    return render(request, "screening/screen.html", context)


@login_required
def answers_import(request, pk):
    deny_unless(can_import_answers(request.user))
    c = _campaign(request, pk)
    outcome = None
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        outcome = _done(
            request,
            lambda: services.answers_import(
                actor=request.user, campaign=c, data=upload.read(), file_name=upload.name
            ),
            _("File read."),
        )
    return render(request, "screening/import.html", {"c": c, "form": form, "outcome": outcome})


@login_required
@require_POST
def campaign_close(request, pk):
    deny_unless(can_run_campaign(request.user))
    c = _campaign(request, pk)
    _submit(
        request,
        ReasonForm(request.POST),
        lambda d: services.campaign_close(actor=request.user, campaign=c, **d),
        _("Campaign closed."),
    )
    return redirect("screening:campaign", pk=c.pk)


# Venues --------------------------------------------------------------------------------


@login_required
def venues(request):
    deny_unless(can_manage_venues(request.user))
    form = VenueForm(request.POST or None, user=request.user)
    if request.method == "POST":
        made = _submit(
            request,
            form,
            lambda d: services.venue_create(actor=request.user, **d),
            _("Venue registered."),
        )
        if made is not None:
            return redirect("screening:venue", pk=made.pk)
    rows = selectors.venues_for(request.user)[:500]
    return render(request, "screening/venues.html", {"venues": rows, "form": form})


@login_required
def venue(request, pk):
    """A venue's signed code, to print and post at its door."""
    deny_unless(can_manage_venues(request.user))
    v = get_scoped_or_404(selectors.venues_for(request.user), request.user, pk=pk)
    text = services.venue_qr(v)
    svg = segno.make(text, error="m").svg_inline(scale=4)
    return render(request, "screening/venue.html", {"v": v, "text": text, "svg": svg})


# Exposure matching ------------------------------------------------------------------


@login_required
def exposure(request):
    """Confirmed cases of the jurisdiction, with their match runs; run one."""
    deny_unless(
        can_run_match(request.user) or (can_read_recalls(request.user) and can_trace(request.user))
    )
    cases = list(
        labs.cases_for(request.user).filter(status="confirmed").order_by("-recorded_at")[:50]
    )
    runs = list(selectors.runs_for(request.user)[:50])
    return render(
        request,
        "screening/exposure.html",
        {"cases": cases, "runs": runs, "can_run": can_run_match(request.user)},
    )


@login_required
def match_run(request, case):
    """Start a match run for a case: an onset of symptoms and a location-ping file, both
    optional; the service's refusals are shown on the form."""
    deny_unless(can_run_match(request.user))
    found = labs.cases_for(request.user).filter(pk=case).first()
    if found is None:
        raise Http404
    form = MatchRunForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = services.match_run_start(
                actor=request.user,
                case_id=case,
                onset=form.cleaned_data["onset"],
                pings=form.cleaned_data["pings"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(
                request, _("Matching queued: its contacts become tasks when it is done.")
            )
            return redirect("screening:run", pk=run.pk)
    return render(request, "screening/match_run.html", {"case": found, "form": form})


@login_required
def run(request, pk):
    deny_unless(can_run_match(request.user) or can_trace(request.user))
    r = get_scoped_or_404(MatchRun.objects, request.user, pk=pk)
    contacts = list(selectors.run_contacts(r, request.user)[:500])
    return render(request, "screening/run.html", {"r": r, "contacts": contacts})
