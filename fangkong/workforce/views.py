"""Offices' pages (community, street, command centre) and an organ liaison's: workers,
report-ins, bulk enrolment, teams and branches, requests and allocation, posts and
shifts, substitutions, call-outs. Thin: parse, call a service or selector, render."""

import datetime as dt

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fangkong.areas.models import Area, Level
from fangkong.core import ids
from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.paging import paginate
from fangkong.core.shortcuts import deny_unless, get_scoped_or_404

from . import bulk, selectors, services
from .jurisdiction import is_liaison, worker_of
from .models import (
    AllocationRun,
    CallOut,
    CallOutResponse,
    Enrollment,
    EnrollmentStatus,
    PartyBranch,
    Post,
    PostKind,
    ProposedSeat,
    Shift,
    ShiftPattern,
    Skill,
    StaffingRequest,
    Team,
    Worker,
    WorkerStatus,
)
from .permissions import (
    can_allocate,
    can_call_out,
    can_check_in,
    can_confirm_enrollment,
    can_enrol,
    can_manage_posts,
    can_manage_teams,
    can_read_workers,
    can_request_staff,
    can_reveal_worker_pii,
    can_set_status,
    can_substitute,
)


def qr_data_uri(text: str) -> str:
    """An SVG data: URI of a QR holding `text` (pages' CSP allows data: images)."""
    return segno.make_qr(text, error="m").svg_data_uri(scale=8, border=4)


def said(request, exc: DomainError) -> None:
    """A domain error as a page message, in the page's language first."""
    text = f"{exc.zh} / {exc.en}" if get_language().startswith("zh") else f"{exc.en} / {exc.zh}"
    messages.error(request, text)


def _page(request) -> int:
    try:
        return max(1, min(int(request.GET.get("page", 1)), 10_000))
    except ValueError:
        return 1


def _area(request, code: str, *levels) -> Area:
    areas = Area.objects.filter(level__in=levels) if levels else Area.objects
    return get_scoped_or_404(areas, request.user, code=code)


def _worker(request, pk) -> Worker:
    return get_scoped_or_404(Worker.objects, request.user, pk=pk)


def _workers_by_ids(request, ids) -> list[Worker]:
    ids = [int(i) for i in ids if str(i).isdigit()]
    found = list(Worker.objects.for_user(request.user).filter(pk__in=ids))
    if len(found) != len(set(ids)):
        raise DomainError(
            "有人员不在您的辖区内", "some workers are outside your jurisdiction", field="members"
        )
    return found


def _date(text, default=None):
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        return default


def _time(text, default=None):
    try:
        return dt.time.fromisoformat(text)
    except (TypeError, ValueError):
        return default


def home(request):
    if request.user.is_authenticated and can_check_in(request.user):
        return redirect("workforce:me")
    return redirect("workforce:workers")


# Workers -----------------------------------------------------------------------------------


@login_required
def workers(request):
    deny_unless(can_read_workers(request.user))
    found = Worker.objects.for_user(request.user).select_related("organ")
    q = request.GET.get("q", "").strip()
    if q:
        found = found.filter(name__startswith=q)
    status = request.GET.get("status", "")
    if status in WorkerStatus.values:
        found = found.filter(status=status)
    return render(
        request,
        "workforce/workers.html",
        {
            "page": paginate(found.order_by("area_code", "name", "id"), _page(request), 50),
            "q": q,
            "status": status,
            "statuses": WorkerStatus.choices,
            "can_enrol": can_enrol(request.user)
            and (request.user.role != "worker" or is_liaison(request.user)),
        },
    )


@login_required
def worker(request, pk):
    deny_unless(can_read_workers(request.user))
    w = _worker(request, pk)
    context = {
        "w": w,
        "enrollments": w.enrollments.select_related("community")[:10],
        "changes": w.status_changes.all()[:10],
        "shifts": selectors.my_shifts(w, days=7),
        "hours": round(selectors.worker_hours(w), 1),
        "statuses": WorkerStatus.choices,
        "can_status": can_set_status(request.user),
        "can_reveal": can_reveal_worker_pii(request.user)
        and (request.user.role != "worker" or is_liaison(request.user)),
    }
    if request.method == "POST" and request.POST.get("action") == "reveal":
        try:
            context["revealed"] = services.worker_reveal(
                actor=request.user, worker=w, reason=request.POST.get("reason", "")
            )
        except DomainError as exc:
            said(request, exc)
    return render(request, "workforce/worker.html", context)


@login_required
@require_POST
def worker_status(request, pk):
    deny_unless(can_set_status(request.user))
    w = _worker(request, pk)
    day = _date(request.POST.get("until", ""))
    try:
        status = request.POST.get("status", "")
        if status not in WorkerStatus.values:
            raise DomainError("状态无效", "unknown status", field="status")
        services.worker_set_status(
            actor=request.user,
            worker=w,
            status=status,
            reason=request.POST.get("reason", ""),
            until=timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59))) if day else None,
        )
        messages.success(request, _("Status recorded."))
    except DomainError as exc:
        said(request, exc)
    return redirect("workforce:worker", pk=pk)


@login_required
def bulk_enrol(request):
    """An organ's liaison (or an office) enrols staff from a spreadsheet."""
    deny_unless(
        can_enrol(request.user) and (request.user.role != "worker" or is_liaison(request.user))
    )
    job = None
    if request.method == "POST" and request.FILES.get("file"):
        f = request.FILES["file"]
        organ = request.POST.get("organ", "")
        try:
            job = bulk.bulk_enrol(
                actor=request.user,
                file_name=f.name,
                stream=f,
                organ_id=int(organ) if organ.isdigit() else None,
            )
        except DomainError as exc:
            said(request, exc)
    from .models import BulkEnrolJob, Organ

    jobs = BulkEnrolJob.objects.filter(by=request.user)[:10]
    return render(
        request,
        "workforce/bulk.html",
        {
            "job": job,
            "jobs": jobs,
            "organs": Organ.objects.filter(active=True),
            "columns": bulk.COLUMNS,
        },
    )


# Report-ins ----------------------------------------------------------------------------------


@login_required
def enrollments(request):
    deny_unless(can_confirm_enrollment(request.user))
    communities = selectors.communities_for(request.user)
    code = request.GET.get("community") or (communities[0].code if len(communities) == 1 else "")
    community = next((c for c in communities if c.code == code), None)
    waiting = Enrollment.objects.for_user(request.user).filter(status=EnrollmentStatus.PENDING)
    if community is not None:
        waiting = waiting.within(community)
    return render(
        request,
        "workforce/enrollments.html",
        {
            "communities": communities,
            "community": community,
            "page": paginate(
                waiting.select_related("worker__organ", "community"), _page(request), 50
            ),
        },
    )


@login_required
@require_POST
def enrollment_decide(request, pk):
    deny_unless(can_confirm_enrollment(request.user))
    enrollment = get_scoped_or_404(Enrollment.objects, request.user, pk=pk)
    try:
        services.enrollment_decide(
            actor=request.user,
            enrollment=enrollment,
            confirm=request.POST.get("decision") == "confirm",
            reason=request.POST.get("reason", ""),
        )
    except DomainError as exc:
        said(request, exc)
    return redirect(request.POST.get("next") or "workforce:enrollments")


@login_required
@require_POST
def enrollments_confirm_all(request, code):
    deny_unless(can_confirm_enrollment(request.user))
    community = _area(request, code, Level.COMMUNITY)
    n = services.enrollments_confirm_all(actor=request.user, community=community)
    messages.success(request, _("%(n)d report-ins confirmed.") % {"n": n})
    return redirect(f"{reverse('workforce:enrollments')}?community={code}")


@login_required
def community_code(request, code):
    """The community's report-in code, big enough to print and scan."""
    deny_unless(can_confirm_enrollment(request.user))
    community = _area(request, code, Level.COMMUNITY)
    text = services.community_code(actor=request.user, community=community)
    return render(
        request,
        "workforce/code.html",
        {
            "title": community.name,
            "subtitle": _("Scan to report in"),
            "qr": qr_data_uri(text),
            "text": text,
        },
    )


# Teams and branches ---------------------------------------------------------------------------


@login_required
def teams(request):
    deny_unless(can_read_workers(request.user))
    mine = Team.objects.for_user(request.user).select_related("leader")
    branches = PartyBranch.objects.for_user(request.user).select_related("secretary")
    if request.method == "POST":
        deny_unless(can_manage_teams(request.user))
        try:
            community = _area(request, request.POST.get("area", ""))
            people = _workers_by_ids(request, request.POST.getlist("members"))
            lead = _workers_by_ids(request, [request.POST.get("leader", "")])
            if not lead:
                raise DomainError("请选择组长", "choose a leader", field="leader")
            if request.POST.get("kind") == "branch":
                made = services.branch_create(
                    actor=request.user,
                    area=community,
                    name=request.POST.get("name", ""),
                    secretary=lead[0],
                    members=people,
                )
                return redirect("workforce:branch", pk=made.pk)
            made = services.team_create(
                actor=request.user,
                community=community,
                name=request.POST.get("name", ""),
                leader=lead[0],
                members=people,
            )
            return redirect("workforce:team", pk=made.pk)
        except DomainError as exc:
            said(request, exc)
    return render(
        request,
        "workforce/teams.html",
        {
            "teams": mine[:200],
            "branches": branches[:200],
            "can_manage": can_manage_teams(request.user),
            "communities": selectors.communities_for(request.user),
            "candidates": Worker.objects.for_user(request.user).order_by("name")[:300]
            if can_manage_teams(request.user)
            else [],
        },
    )


@login_required
def team(request, pk):
    deny_unless(can_read_workers(request.user))
    t = get_scoped_or_404(Team.objects.select_related("leader", "community"), request.user, pk=pk)
    members = selectors.team_members(t)
    return render(
        request,
        "workforce/team.html",
        {"team": t, "members": members, "on_duty": selectors.on_duty(members)},
    )


@login_required
def branch(request, pk):
    deny_unless(can_read_workers(request.user))
    b = get_scoped_or_404(
        PartyBranch.objects.select_related("secretary", "area"), request.user, pk=pk
    )
    members = list(b.members.all())
    return render(
        request,
        "workforce/branch.html",
        {
            "branch": b,
            "members": members,
            "activity": selectors.branch_activity(b),
            "on_duty": selectors.on_duty(members),
        },
    )


# Requests and allocation ------------------------------------------------------------------------


@login_required
def requests(request):
    deny_unless(can_request_staff(request.user))
    if request.method == "POST":
        post = request.POST
        try:
            skill = {s.code: s for s in Skill.objects.all()}
            made = services.request_file(
                actor=request.user,
                area=_area(request, post.get("area", ""), Level.STREET, Level.COMMUNITY),
                count=int(post.get("count") or 0),
                post_kind=post.get("post_kind", ""),
                first_day=_date(post.get("first_day"), timezone.localdate()),
                last_day=_date(post.get("last_day"), timezone.localdate()),
                hours_from=_time(post.get("hours_from"), dt.time(8)),
                hours_until=_time(post.get("hours_until"), dt.time(18)),
                required_skill=skill.get(post.get("required_skill", "")),
                preferred_skill=skill.get(post.get("preferred_skill", "")),
                note=post.get("note", ""),
                client_id=post.get("client_id", ""),
            )
            messages.success(request, _("Request filed: %(n)d people.") % {"n": made.count})
            return redirect("workforce:requests")
        except (DomainError, ValueError) as exc:
            if isinstance(exc, DomainError):
                said(request, exc)
            else:
                messages.error(request, _("The number of people is not a number."))
    found = StaffingRequest.objects.for_user(request.user).select_related(
        "area", "required_skill", "preferred_skill"
    )
    return render(
        request,
        "workforce/requests.html",
        {
            "page": paginate(found, _page(request), 50),
            "areas": Area.objects.for_user(request.user).filter(
                level__in=[Level.STREET, Level.COMMUNITY]
            ),
            "kinds": PostKind.choices,
            "skills": Skill.objects.all(),
            "today": timezone.localdate(),
            "runs": AllocationRun.objects.for_user(request.user)[:10]
            if can_allocate(request.user)
            else [],
            "can_allocate": can_allocate(request.user),
            "client_id": ids.client_id(),
        },
    )


@login_required
@require_POST
def request_cancel(request, pk):
    deny_unless(can_request_staff(request.user))
    r = get_scoped_or_404(StaffingRequest.objects, request.user, pk=pk)
    try:
        services.request_cancel(
            actor=request.user, request=r, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        said(request, exc)
    return redirect("workforce:requests")


@login_required
@require_POST
def allocation_run(request):
    deny_unless(can_allocate(request.user))
    area = _area(request, request.POST.get("area", "") or request.user.scope_prefixes()[0])
    try:
        run = services.allocation_run(actor=request.user, area=area)
    except DomainError as exc:
        said(request, exc)
        return redirect("workforce:requests")
    return redirect("workforce:run", pk=run.pk)


@login_required
def run(request, pk):
    deny_unless(can_allocate(request.user))
    r = get_scoped_or_404(AllocationRun.objects, request.user, pk=pk)
    seats = ProposedSeat.objects.filter(run=r).select_related(
        "worker__organ", "request__area", "shift__post"
    )
    unfilled = request.GET.get("show") == "unfilled"
    if unfilled:
        seats = seats.filter(worker__isnull=True)
    return render(
        request,
        "workforce/run.html",
        {"run": r, "page": paginate(seats, _page(request), 100), "unfilled": unfilled},
    )


@login_required
@require_POST
def run_decide(request, pk):
    deny_unless(can_allocate(request.user))
    r = get_scoped_or_404(AllocationRun.objects, request.user, pk=pk)
    try:
        if request.POST.get("decision") == "confirm":
            n = services.allocation_confirm(actor=request.user, run=r)
            messages.success(request, _("Confirmed: %(n)d workers placed and told.") % {"n": n})
        else:
            services.allocation_discard(
                actor=request.user, run=r, reason=request.POST.get("reason", "")
            )
    except DomainError as exc:
        said(request, exc)
    return redirect("workforce:run", pk=pk)


@login_required
@require_POST
def seat_adjust(request, pk):
    deny_unless(can_allocate(request.user))
    seat = ProposedSeat.objects.filter(
        pk=pk, run__in=AllocationRun.objects.for_user(request.user)
    ).first()
    if seat is None:
        raise Http404
    chosen = request.POST.get("worker", "").strip()
    try:
        w = _workers_by_ids(request, [chosen])[0] if chosen else None
        services.seat_adjust(
            actor=request.user, seat=seat, worker=w, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        said(request, exc)
    return redirect("workforce:run", pk=seat.run_id)


# Posts, shifts, substitutions ------------------------------------------------------------------


@login_required
def posts(request):
    deny_unless(can_manage_posts(request.user))
    if request.method == "POST":
        post = request.POST
        try:
            made = services.post_create(
                actor=request.user,
                area=_area(request, post.get("area", "")),
                name=post.get("name", ""),
                kind=post.get("kind", ""),
                place=post.get("place", ""),
                pattern=post.get("pattern", "day"),
                heads=int(post.get("heads") or 1),
            )
            return redirect("workforce:post", pk=made.pk)
        except (DomainError, ValueError) as exc:
            if isinstance(exc, DomainError):
                said(request, exc)
    return render(
        request,
        "workforce/posts.html",
        {
            "page": paginate(Post.objects.for_user(request.user), _page(request), 50),
            "areas": Area.objects.for_user(request.user).filter(
                level__in=[Level.COMMUNITY, Level.COMPOUND]
            ),
            "kinds": PostKind.choices,
            "patterns": ShiftPattern.choices,
        },
    )


@login_required
def post(request, pk):
    deny_unless(can_manage_posts(request.user))
    p = get_scoped_or_404(Post.objects.select_related("area", "team"), request.user, pk=pk)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "pattern":
                first = _date(request.POST.get("first_day"), timezone.localdate())
                days = min(7, max(1, int(request.POST.get("days") or 1)))
                slots = [(a, b, None) for a, b in services.pattern_slots(p, first, days)]
                made = services.shifts_create(actor=request.user, post=p, slots=slots)
                messages.success(request, _("%(n)d open shifts made.") % {"n": len(made)})
            elif request.POST.get("action") == "rota":
                first = _date(request.POST.get("first_day"), timezone.localdate())
                made = services.rota_build(actor=request.user, posts=[p], first_day=first, days=7)
                messages.success(
                    request,
                    _("Rota built: %(filled)d shifts filled, %(open)d open.")
                    % {"filled": made["filled"], "open": made["open"]},
                )
            elif request.POST.get("action") == "assign":
                shift = get_scoped_or_404(
                    Shift.objects.filter(post=p), request.user, pk=request.POST.get("shift")
                )
                chosen = request.POST.get("worker", "").strip()
                w = _workers_by_ids(request, [chosen])[0] if chosen else None
                services.shift_assign(
                    actor=request.user, shift=shift, worker=w, reason=request.POST.get("reason", "")
                )
        except (DomainError, ValueError) as exc:
            if isinstance(exc, DomainError):
                said(request, exc)
        return redirect("workforce:post", pk=pk)
    now = timezone.now()
    shifts = (
        Shift.objects.filter(post=p, ends_at__gt=now - dt.timedelta(hours=12))
        .select_related("worker", "proposed")
        .order_by("starts_at")[:200]
    )
    return render(
        request,
        "workforce/post.html",
        {
            "post": p,
            "shifts": shifts,
            "on_duty": selectors.on_duty(Worker.objects.filter(attendance__post=p).distinct()),
            "today": timezone.localdate(),
        },
    )


@login_required
def post_code(request, pk):
    deny_unless(can_manage_posts(request.user))
    p = get_scoped_or_404(Post.objects, request.user, pk=pk)
    text = services.post_code(actor=request.user, post=p)
    return render(
        request,
        "workforce/code.html",
        {
            "title": p.name,
            "subtitle": _("Scan to check in and out"),
            "qr": qr_data_uri(text),
            "text": text,
        },
    )


@login_required
def substitutions(request):
    """Opened shifts and their proposed substitutes, for the team leader or an office."""
    deny_unless(can_substitute(request.user))
    opened = selectors.substitutions_open(request.user)
    if request.method == "POST":
        shift = opened.filter(pk=request.POST.get("shift")).first()
        if shift is None:
            raise Http404
        try:
            services.substitute_confirm(actor=request.user, shift=shift)
            messages.success(request, _("Substitute confirmed and told."))
        except DomainError as exc:
            said(request, exc)
        return redirect("workforce:substitutions")
    return render(
        request, "workforce/substitutions.html", {"shifts": opened.order_by("starts_at")[:200]}
    )


# Call-outs ---------------------------------------------------------------------------------------


@login_required
def callouts(request):
    deny_unless(can_call_out(request.user) or can_check_in(request.user))
    if request.method == "POST":
        deny_unless(can_call_out(request.user))
        post = request.POST
        try:
            area = Area.objects.filter(code=post.get("area", ""), level=Level.COMMUNITY).first()
            if area is None:
                raise DomainError("请选择社区", "choose a community", field="area")
            point = services.point_for(area.code)
            skill = Skill.objects.filter(code=post.get("skill", "")).first()
            made = services.callout_post(
                actor=request.user,
                area=area,
                place=post.get("place", ""),
                lat=point[0] if point else 0.0,
                lon=point[1] if point else 0.0,
                needed=int(post.get("needed") or 0),
                skill=skill,
                note=post.get("note", ""),
                client_id=post.get("client_id", ""),
                urgent=post.get("urgent") == "on",
            )
            messages.success(request, _("Call-out sent to %(n)d workers.") % {"n": made.notified})
            return redirect("workforce:callout", pk=made.pk)
        except PermissionDenied:
            # Another community's place (a team leader may call out only at the team's):
            # refused as every other page refuses what is out of reach.
            raise Http404 from None
        except (DomainError, ValueError) as exc:
            if isinstance(exc, DomainError):
                said(request, exc)
    me = worker_of(request.user)
    communities = selectors.communities_for(request.user)
    if me is not None and not communities:
        communities = list(
            Area.objects.filter(code__in=Team.objects.filter(leader=me).values("area_code"))
        )
    return render(
        request,
        "workforce/callouts.html",
        {
            "callouts": CallOut.objects.for_user(request.user).select_related("skill")[:50],
            "communities": communities,
            "skills": Skill.objects.all(),
            "client_id": ids.client_id(),
            "can_call_out": can_call_out(request.user) and bool(communities),
        },
    )


@login_required
def callout(request, pk):
    deny_unless(can_call_out(request.user) or can_check_in(request.user))
    c = get_scoped_or_404(CallOut.objects.select_related("skill", "area"), request.user, pk=pk)
    me = worker_of(request.user)
    mine = CallOutResponse.objects.filter(callout=c, worker=me).first() if me else None
    context = {"c": c, "mine": mine}
    if (
        can_call_out(request.user)
        and request.user.role != "worker"
        or (me is not None and c.posted_by_id == request.user.pk)
    ):
        context["accepted"] = (
            CallOutResponse.objects.filter(callout=c, answer="accepted")
            .select_related("worker")
            .order_by("answered_at")
        )
    return render(request, "workforce/callout.html", context)
