"""Setting up the area tree and grids from the browser: thin views over the services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from fangkong.core.forms import submit
from fangkong.core.shortcuts import deny_unless, get_scoped_or_404

from . import selectors, services
from .divisions import read_divisions
from .forms import (
    AreaAddForm,
    AreaMoveForm,
    AreaRenameForm,
    AreaRetireForm,
    DivisionImportForm,
    GridForm,
)
from .models import Area, Grid, Level
from .permissions import can_manage_areas, can_manage_grids


def _may_manage(user) -> bool:
    return can_manage_areas(user) or can_manage_grids(user)


def _area(request, code) -> Area:
    deny_unless(_may_manage(request.user))
    return get_scoped_or_404(Area.objects.active(), request.user, code=code)


@login_required
def manage_home(request):
    """The top of the user's jurisdiction: one area goes straight to its set-up page."""
    deny_unless(_may_manage(request.user))
    roots = list(Area.objects.active().filter(code__in=request.user.scope_prefixes()))
    if len(roots) == 1:
        return redirect("areas:manage", code=roots[0].code)
    return render(request, "areas/manage_home.html", {"roots": roots})


def _forms(request, area: Area, post=None, which: str = "") -> dict:
    """The page's forms; the one named `which` bound to the POST."""

    def bound(name):
        return post if which == name else None

    return {
        "add_form": AreaAddForm(bound("add"), prefix="add"),
        "rename_form": AreaRenameForm(
            bound("rename"), prefix="rename", initial={"name": area.name}
        ),
        "move_form": AreaMoveForm(
            selectors.move_candidates(request.user, area), bound("move"), prefix="move"
        ),
        "retire_form": AreaRetireForm(bound("retire"), prefix="retire"),
    }


@login_required
def manage(request, code):
    """An area's set-up page: its children, add one, rename, move, retire; a
    community's grids."""
    area = _area(request, code)
    which = request.POST.get("action", "") if request.method == "POST" else ""
    forms = _forms(request, area, request.POST, which)
    if which:
        deny_unless(can_manage_areas(request.user))
        actor = request.user
        calls = {
            "add": lambda d: services.area_create(
                actor=actor, parent=area, name=d["name"], code=d["code"]
            ),
            "rename": lambda d: services.area_rename(
                actor=actor, area=area, name=d["name"], reason=d["reason"]
            ),
            "move": lambda d: services.area_move(
                actor=actor,
                area=area,
                parent=get_scoped_or_404(Area.objects, actor, code=d["parent"]),
                reason=d["reason"],
            ),
            "retire": lambda d: services.area_retire(actor=actor, area=area, reason=d["reason"]),
        }
        if which not in calls:
            deny_unless(False)
        ok, result = submit(forms[f"{which}_form"], calls[which])
        if ok:
            messages.success(request, _("Saved."))
            if which == "add":
                return redirect("areas:manage", code=result.code)
            if which == "retire":
                return redirect("areas:manage", code=area.ancestor_codes[-1])
            area.refresh_from_db()
            return redirect("areas:manage", code=area.code)
    parent = area.ancestor_codes[-1] if area.ancestor_codes else "\0"
    context = {
        "area": area,
        "crumbs": selectors.breadcrumbs(area, request.user),
        "children": selectors.active_children(area),
        "child_level": Level(area.level + 1).label if area.level < Level.BUILDING else "",
        "can_manage_areas": can_manage_areas(request.user),
        # One's own areas are changed by the office above: only below them here.
        "may_change": can_manage_areas(request.user) and request.user.may_see_area(parent),
        "grids": selectors.community_grids(area) if area.level == Level.COMMUNITY else None,
        "can_manage_grids": can_manage_grids(request.user),
        "open": which,
        "failed": forms.get(f"{which}_form"),
        **forms,
    }
    return render(request, "areas/manage.html", context, status=400 if which else 200)


@login_required
def division_import(request):
    deny_unless(can_manage_areas(request.user))
    form = DivisionImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST":
        ok, report = submit(
            form,
            lambda d: services.division_import(actor=request.user, rows=read_divisions(d["file"])),
            {"": "file"},
        )
    return render(request, "areas/import.html", {"form": form, "report": report})


def _grid_page(request, community: Area, grid: Grid | None):
    deny_unless(can_manage_grids(request.user))
    buildings = selectors.community_buildings(community)
    keepers = selectors.grid_keepers(community, grid.keeper if grid else None)
    initial = {}
    if grid is not None:
        initial = {"name": grid.name, "keeper": grid.keeper, "buildings": grid.buildings.all()}
    form = GridForm(buildings, keepers, request.POST or None, initial=initial)
    if request.method == "POST":

        def save(data):
            if grid is None:
                return services.grid_create(actor=request.user, community=community, **data)
            return services.grid_update(actor=request.user, grid=grid, **data)

        ok, _result = submit(form, save)
        if ok:
            messages.success(request, _("Saved."))
            return redirect("areas:manage", code=community.code)
    if form.is_bound:
        chosen = {str(v) for v in form.data.getlist("buildings")}
    else:
        chosen = {str(b.pk) for b in initial.get("buildings", [])}
    groups: dict[Area, list] = {}
    for b in buildings:
        groups.setdefault(b.parent, []).append((b, str(b.pk) in chosen))
    context = {"community": community, "grid": grid, "form": form, "groups": groups}
    return render(request, "areas/grid.html", context, status=400 if form.errors else 200)


@login_required
def grid_new(request, code):
    community = _area(request, code)
    deny_unless(community.level == Level.COMMUNITY)
    return _grid_page(request, community, None)


@login_required
def grid_edit(request, pk):
    deny_unless(can_manage_grids(request.user))
    grid = get_scoped_or_404(
        Grid.objects.select_related("community", "keeper"), request.user, pk=pk
    )
    # A keeper sees their grid; only who holds its community changes it.
    deny_unless(request.user.may_see_area(grid.community.code))
    return _grid_page(request, grid.community, grid)
