"""Pages of mass testing: rounds (command centre), sites and channels, coverage with
drill-down, the not-yet-sampled list of a building (printable, for door knocking),
door-to-door tasks by building. Thin: parse, fetch through a scoped getter, call a
service or a selector, render. (The sampler's own page is views_sampler.py.)"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fangkong.areas.models import Area, Grid, Level
from fangkong.areas.selectors import breadcrumbs
from fangkong.core.errors import DomainError
from fangkong.core.shortcuts import deny_unless, get_scoped_or_404
from fangkong.people.models import Resident
from fangkong.people.permissions import HEALTH_TAGS, can_read_residents
from fangkong.testing.permissions import (
    can_close_home_task,
    can_exempt,
    can_manage_sites,
    can_plan_home_sampling,
    can_read_coverage,
    can_run_round,
    can_sample,
)

from . import selectors, services
from .forms import (
    AssignForm,
    ExemptForm,
    ReasonForm,
    RoundEditForm,
    RoundLaunchForm,
    SiteForm,
    StatusForm,
    TubeForm,
)
from .models import (
    Channel,
    Exemption,
    HomeSamplingTask,
    SamplingSite,
    TaskStatus,
    TestingRound,
    UploadEvent,
)


def _round(request, pk) -> TestingRound:
    return get_scoped_or_404(TestingRound.objects, request.user, pk=pk)


def _done(request, call, success: str = "") -> bool:
    """Run a service call; show its DomainError as a message. True if it went through."""
    try:
        call()
    except DomainError as exc:
        messages.error(request, str(exc))
        return False
    messages.success(request, success or _("Saved."))
    return True


def _form_errors(request, form) -> None:
    messages.error(request, form.errors.as_text())


def _submit(request, form, call, success: str = "") -> None:
    """Check `form`; if it is valid, `call(cleaned_data)`, showing what went wrong."""
    if form.is_valid():
        _done(request, lambda: call(form.cleaned_data), success)
    else:
        _form_errors(request, form)


# Rounds ------------------------------------------------------------------------------


@login_required
def rounds(request):
    deny_unless(can_read_coverage(request.user) or can_run_round(request.user))
    rows = []
    for rnd in selectors.rounds_for_user(request.user)[:100]:
        scope = selectors.round_scope(rnd, request.user)
        rows.append((rnd, selectors.coverage_of_codes(rnd, scope)))
    form = RoundLaunchForm(user=request.user) if can_run_round(request.user) else None
    return render(request, "testing/rounds.html", {"rows": rows, "form": form})


@login_required
@require_POST
def round_launch(request):
    deny_unless(can_run_round(request.user))
    form = RoundLaunchForm(request.POST, user=request.user)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect("testing:rounds")
    data = form.cleaned_data
    try:
        rnd = services.round_launch(actor=request.user, **data)
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("testing:rounds")
    messages.success(request, _("Round launched."))
    return redirect("testing:round", pk=rnd.pk)


def _may_open_round(user) -> bool:
    return (
        can_read_coverage(user)
        or can_run_round(user)
        or can_close_home_task(user)
        or can_sample(user)
    )


@login_required
def round_detail(request, pk):
    """A round: its coverage for who may read it; for a sampler or a volunteer working on
    it, the round's times and the way to their tasks and the sampling page."""
    deny_unless(_may_open_round(request.user))
    rnd = _round(request, pk)
    if not (can_read_coverage(request.user) or can_run_round(request.user)):
        return render(
            request,
            "testing/round_worker.html",
            {"rnd": rnd, "can_sample": can_sample(request.user)},
        )
    scope = selectors.round_scope(rnd, request.user)
    roots = list(Area.objects.filter(code__in=scope).order_by("code"))
    if len(roots) == 1:
        rows = selectors.coverage_children(rnd, roots[0])
    else:
        rows = [selectors.CoverageRow(a, selectors.coverage_of_area(rnd, a.code)) for a in roots]
    can_run = can_run_round(request.user)
    context = {
        "rnd": rnd,
        "totals": selectors.coverage_of_codes(rnd, scope),
        "roots": roots,
        "rows": rows,
        "can_run": can_run and rnd.is_active,
        "edit_form": RoundEditForm(
            initial={
                "deadline": rnd.deadline,
                "pool_sealed": rnd.pool_sealed,
                "pool_controlled": rnd.pool_controlled,
                "pool_prevention": rnd.pool_prevention,
            }
        ),
        "close_form": ReasonForm(),
        "refused": UploadEvent.objects.for_user(request.user)
        .rejected()
        .filter(round=rnd)
        .order_by("-received_at")[:20],
        "grids": Grid.objects.filter(community__code__in=[a.code for a in roots]) if roots else [],
    }
    return render(request, "testing/round.html", context)


@login_required
@require_POST
def round_edit(request, pk):
    deny_unless(can_run_round(request.user))
    rnd = _round(request, pk)
    _submit(
        request,
        RoundEditForm(request.POST),
        lambda data: services.round_edit(actor=request.user, round=rnd, **data),
    )
    return redirect("testing:round", pk=rnd.pk)


@login_required
@require_POST
def round_close(request, pk):
    deny_unless(can_run_round(request.user))
    rnd = _round(request, pk)
    _submit(
        request,
        ReasonForm(request.POST),
        lambda data: services.round_close(actor=request.user, round=rnd, **data),
        _("Round closed."),
    )
    return redirect("testing:round", pk=rnd.pk)


# Coverage ----------------------------------------------------------------------------


@login_required
def coverage(request, pk, code):
    """Coverage of one area with its children, drilling down to a building."""
    deny_unless(can_read_coverage(request.user))
    rnd = _round(request, pk)
    area = get_scoped_or_404(Area.objects, request.user, code=code)
    if not selectors.area_in_round(rnd, area.code):
        raise Http404
    context = {
        "rnd": rnd,
        "area": area,
        "crumbs": breadcrumbs(area, request.user),
        "totals": selectors.coverage_of_area(rnd, area.code),
        "rows": selectors.coverage_children(rnd, area),
        "grids": Grid.objects.filter(community=area) if area.level == Level.COMMUNITY else [],
    }
    return render(request, "testing/coverage.html", context)


@login_required
def grid_coverage(request, pk, grid):
    deny_unless(can_read_coverage(request.user))
    rnd = _round(request, pk)
    grid = get_scoped_or_404(Grid.objects.select_related("community"), request.user, pk=grid)
    context = {
        "rnd": rnd,
        "grid": grid,
        "totals": selectors.coverage_of_grid(rnd, grid),
        "rows": selectors.grid_buildings_coverage(rnd, grid),
    }
    return render(request, "testing/coverage.html", context)


@login_required
def unsampled(request, pk, code):
    """The residents of a building still to sample, by door; printable for knocking."""
    deny_unless(can_read_coverage(request.user) and can_read_residents(request.user))
    rnd = _round(request, pk)
    building = get_scoped_or_404(Area.objects, request.user, code=code, level=Level.BUILDING)
    residents = list(selectors.unsampled_residents(rnd, building)[:1000])
    context = {
        "rnd": rnd,
        "building": building,
        "crumbs": breadcrumbs(building, request.user),
        "totals": selectors.coverage_of_area(rnd, building.code),
        "residents": residents,
        "households": len({r.household_id for r in residents}),
        "exempt": selectors.exempt_residents(rnd, building),
        "show_tags": HEALTH_TAGS(request.user),
        "can_exempt": can_exempt(request.user) and rnd.is_active,
        "exempt_form": ExemptForm(),
    }
    return render(request, "testing/unsampled.html", context)


@login_required
@require_POST
def exemption_grant(request, pk, resident):
    deny_unless(can_exempt(request.user))
    rnd = _round(request, pk)
    person = get_scoped_or_404(Resident.objects, request.user, pk=resident)
    _submit(
        request,
        ExemptForm(request.POST),
        lambda data: services.exemption_grant(
            actor=request.user, round=rnd, resident=person, **data
        ),
    )
    return redirect("testing:unsampled", pk=rnd.pk, code=person.area_code)


@login_required
@require_POST
def exemption_end(request, pk):
    deny_unless(can_exempt(request.user))
    exemption = get_scoped_or_404(Exemption.objects, request.user, pk=pk)
    _submit(
        request,
        ReasonForm(request.POST),
        lambda data: services.exemption_end(
            actor=request.user, exemption=exemption, reason=data["reason"]
        ),
    )
    return redirect("testing:unsampled", pk=exemption.round_id, code=exemption.area_code)


# Sites and channels ------------------------------------------------------------------


@login_required
def sites(request, code):
    deny_unless(can_manage_sites(request.user) or can_read_coverage(request.user))
    area = get_scoped_or_404(Area.objects, request.user, code=code)
    can_manage = can_manage_sites(request.user)
    if request.method == "POST":
        deny_unless(can_manage)
        _submit(
            request,
            SiteForm(request.POST),
            lambda data: services.site_create(actor=request.user, area=area, **data),
        )
        return redirect("testing:sites", code=area.code)
    context = {
        "area": area,
        "crumbs": breadcrumbs(area, request.user),
        "sites": selectors.sites_of_area(area),
        "can_manage": can_manage,
        "form": SiteForm(),
        "statuses": StatusForm.base_fields["status"].choices,
    }
    return render(request, "testing/sites.html", context)


@login_required
@require_POST
def site_status(request, pk):
    deny_unless(can_manage_sites(request.user))
    site = get_scoped_or_404(SamplingSite.objects, request.user, pk=pk)
    _submit(
        request,
        StatusForm(request.POST),
        lambda data: services.site_set_status(actor=request.user, site=site, **data),
    )
    return redirect("testing:sites", code=site.area_code)


@login_required
@require_POST
def channel_add(request, pk):
    deny_unless(can_manage_sites(request.user))
    site = get_scoped_or_404(SamplingSite.objects, request.user, pk=pk)
    _done(request, lambda: services.channel_add(actor=request.user, site=site))
    return redirect("testing:sites", code=site.area_code)


@login_required
@require_POST
def channel_status(request, pk):
    deny_unless(can_manage_sites(request.user))
    channel = get_scoped_or_404(Channel.objects.select_related("site"), request.user, pk=pk)
    _submit(
        request,
        StatusForm(request.POST),
        lambda data: services.channel_set_status(
            actor=request.user, channel=channel, status=data["status"]
        ),
    )
    return redirect("testing:sites", code=channel.area_code)


# Door-to-door ------------------------------------------------------------------------


@login_required
def tasks(request, pk):
    """Door-to-door tasks by building, for handing a building to a team."""
    deny_unless(can_close_home_task(request.user))
    rnd = _round(request, pk)
    area = request.GET.get("area", "").strip()
    status = request.GET.get("status", TaskStatus.OPEN)
    if status not in TaskStatus.values:
        status = ""
    found = selectors.home_tasks(
        rnd, request.user, area=area if area.isdigit() else "", status=status
    )
    can_plan = can_plan_home_sampling(request.user)
    context = {
        "rnd": rnd,
        "groups": selectors.home_tasks_by_building(found[:2000]),
        "area": area,
        "status": status,
        "statuses": TaskStatus.choices,
        "can_plan": can_plan and rnd.is_active,
        "assign_form": AssignForm(user=request.user) if can_plan else None,
        "now": timezone.now(),
    }
    return render(request, "testing/tasks.html", context)


@login_required
@require_POST
def tasks_generate(request, pk):
    deny_unless(can_plan_home_sampling(request.user))
    rnd = _round(request, pk)
    try:
        counts = services.home_tasks_generate(actor=request.user, round=rnd)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("New tasks: %(sealed)d households in sealed buildings, %(bedridden)d bedridden.")
            % {"sealed": counts["sealed_households"], "bedridden": counts["bedridden"]},
        )
    return redirect("testing:tasks", pk=rnd.pk)


@login_required
@require_POST
def tasks_assign(request, pk, code):
    deny_unless(can_plan_home_sampling(request.user))
    rnd = _round(request, pk)
    form = AssignForm(request.POST, user=request.user)
    if form.is_valid():
        open_tasks = list(
            HomeSamplingTask.objects.for_user(request.user).filter(
                round=rnd, area_code=code, status=TaskStatus.OPEN
            )
        )
        data = form.cleaned_data
        _done(
            request,
            lambda: services.home_tasks_assign(
                actor=request.user,
                tasks=open_tasks,
                team=data["assignee"],
                team_name=data["team_name"],
                due_at=data["due_at"],
            ),
        )
    else:
        _form_errors(request, form)
    return redirect(f"{_tasks_url(rnd)}#b{code}")


@login_required
def my_tasks(request):
    """The door-to-door tasks given to me (a sampler, a volunteer, a building leader), in
    the rounds under way: open first, by deadline, by building and door."""
    deny_unless(can_close_home_task(request.user))
    found = selectors.my_home_tasks(request.user)
    context = {
        "groups": selectors.home_tasks_by_building(found[:500]),
        "now": timezone.now(),
        "mine": True,
    }
    return render(request, "testing/my_tasks.html", context)


def _tasks_url(rnd) -> str:
    from django.urls import reverse

    return reverse("testing:tasks", kwargs={"pk": rnd.pk})


@login_required
@require_POST
def task_close(request, pk):
    deny_unless(can_close_home_task(request.user))
    task = get_scoped_or_404(
        HomeSamplingTask.objects.select_related("round", "tube", "resident", "household"),
        request.user,
        pk=pk,
    )
    form = TubeForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            task = services.home_task_close(
                actor=request.user, task=task, tube=form.cleaned_data["tube"]
            )
        except DomainError as exc:
            error = str(exc)
    else:
        error = form.errors.as_text()
    # A household in single tubes is closed a tube a person: say who is next.
    due = services.home_task_due(task) if task.status == TaskStatus.OPEN else []
    next_due = (
        _("Next tube: %(name)s (%(n)d still due)") % {"name": due[0].name, "n": len(due)}
        if due
        else ""
    )
    if request.htmx:
        context = {"t": task, "error": error, "next_due": next_due}
        return render(request, "testing/tasks.html#task", context)
    if error:
        messages.error(request, error)
    elif next_due:
        messages.info(request, next_due)
    return redirect(f"{_tasks_url(task.round)}#b{task.area_code}")


@login_required
@require_POST
def task_cancel(request, pk):
    deny_unless(can_plan_home_sampling(request.user))
    task = get_scoped_or_404(HomeSamplingTask.objects.select_related("round"), request.user, pk=pk)
    _submit(
        request,
        ReasonForm(request.POST),
        lambda data: services.home_task_cancel(
            actor=request.user, task=task, reason=data["reason"]
        ),
    )
    return redirect(f"{_tasks_url(task.round)}#b{task.area_code}")
