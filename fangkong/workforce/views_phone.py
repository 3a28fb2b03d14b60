"""A worker's pages, made for a phone: register, my duty, report in, check in and out
(offline; duty.js), answer a call-out, report oneself unavailable."""

import datetime as dt
from pathlib import Path

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from fangkong.areas.models import Area, Level
from fangkong.core import ids, signing
from fangkong.core.actors import System
from fangkong.core.errors import DomainError
from fangkong.core.registry import panels_for
from fangkong.core.shortcuts import deny_unless, get_scoped_or_404

from . import selectors, services
from .jurisdiction import worker_of
from .models import CallOut, Organ, Skill, TeamMember, WorkerStatus
from .permissions import can_check_in, can_report_in
from .views import said

# Self-registration acts as this named system actor (the audit log says so).
PUBLIC_REGISTRATION = System("public:register")
# The sampler's service worker serves this page as well (it names no page or asset of
# its own: the page tells it what to keep).
SERVICE_WORKER = "testing/sw.js"
ATTENDANCE_URL = "/api/v1/workforce/attendance"
DAYS = [
    (1, gettext_lazy("Mon")),
    (2, gettext_lazy("Tue")),
    (4, gettext_lazy("Wed")),
    (8, gettext_lazy("Thu")),
    (16, gettext_lazy("Fri")),
    (32, gettext_lazy("Sat")),
    (64, gettext_lazy("Sun")),
]


def _time(text: str, default: dt.time) -> dt.time:
    try:
        return dt.time.fromisoformat(text) if text else default
    except ValueError:
        return default


def register(request):
    """The public phone page: a cadre or volunteer registers and gets a login."""
    communities = Area.objects.filter(level=Level.COMMUNITY).order_by("code")
    context = {
        "communities": communities,
        "organs": Organ.objects.filter(active=True),
        "skills": Skill.objects.all(),
        "days": DAYS,
        "form": request.POST,
        # A retry of the same form (a double tap, a reload) carries the same id.
        "client_id": request.POST.get("client_id") or ids.client_id(),
    }
    if request.method == "POST":
        post = request.POST
        try:
            data = services.worker_validate(
                name=post.get("name", ""),
                id_number=post.get("id_number", ""),
                phone=post.get("phone", ""),
                home_community=post.get("home_community", ""),
                organ=int(post["organ"]) if post.get("organ", "").isdigit() else None,
                party_member=post.get("party_member") == "on",
                skills=post.getlist("skills"),
                days=sum(int(d) for d in post.getlist("days") if d.isdigit()),
                day_from=_time(post.get("day_from", ""), dt.time(7)),
                day_until=_time(post.get("day_until", ""), dt.time(22)),
                nights=post.get("nights") == "on",
            )
            here = post.get("enrol_at", "")
            enrol_at = communities.filter(code=here).first() if here else None
            if here and enrol_at is None:
                raise DomainError("所在社区不存在", "no such community", field="enrol_at")
            password = post.get("password", "")
            if len(password) < 8:
                raise DomainError(
                    "密码至少8位", "the password needs 8 characters or more", field="password"
                )
            worker = services.worker_register(
                actor=PUBLIC_REGISTRATION,
                data=data,
                enrol_at=enrol_at
                if enrol_at and enrol_at.code != data.home_community.code
                else None,
                password=password,
                client_id=post.get("client_id", ""),
            )
        except DomainError as exc:
            said(request, exc)
            context["error_field"] = exc.field
            return render(request, "workforce/register.html", context, status=400)
        login(request, worker.user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Registered. Report in at your community."))
        return redirect("workforce:report_in")
    return render(request, "workforce/register.html", context)


@login_required
def me(request):
    deny_unless(can_check_in(request.user))
    worker = worker_of(request.user)
    context = {"worker": worker}
    if worker is not None:
        membership = TeamMember.objects.filter(worker=worker).select_related("team__leader").first()
        team = membership.team if membership else None
        context.update(
            enrollment=worker.enrollments.open().select_related("community").first(),
            team=team,
            team_members=selectors.team_members(team) if team else [],
            shifts=selectors.my_shifts(worker),
            callouts=selectors.my_callouts(worker),
            hours=round(selectors.worker_hours(worker), 1),
            on_duty=selectors.on_duty([worker]),
            unavailable=[(s, label) for s, label in WorkerStatus.choices if s in ("sick", "other")],
            leads=team is not None and team.leader_id == worker.pk,
            # What later apps add to a worker's phone (relief: their deliveries).
            panels=panels_for("workforce.me", request, worker),
        )
    return render(request, "workforce/me.html", context)


@login_required
def report_in(request):
    """Scan the community's printed code (checked offline on the phone) or choose it."""
    deny_unless(can_report_in(request.user))
    if request.method == "POST":
        code = request.POST.get("code", "").strip()
        chosen = request.POST.get("community", "")
        community = (
            Area.objects.filter(code=chosen, level=Level.COMMUNITY).first() if chosen else None
        )
        try:
            enrollment, created = services.report_in(
                actor=request.user,
                client_id=request.POST.get("client_id", "") or ids.client_id(),
                community=community,
                code=code,
            )
        except DomainError as exc:
            said(request, exc)
            return redirect("workforce:report_in")
        messages.success(
            request,
            _("Reported in at %(name)s; waiting for the community to confirm.")
            % {"name": enrollment.community.name},
        )
        return redirect("workforce:me")
    context = {
        "communities": Area.objects.filter(level=Level.COMMUNITY).order_by("code"),
        "keys": signing.public_keys(),
        "client_id": ids.client_id(),
    }
    return render(request, "workforce/report_in.html", context)


@login_required
def duty(request):
    """Check in and out by scanning a post's code; works offline (duty.js)."""
    deny_unless(can_check_in(request.user))
    worker = worker_of(request.user)
    page = reverse("workforce:duty")
    context = {
        "worker": worker,
        "keys": signing.public_keys(),
        "upload_url": ATTENDANCE_URL,
        "sw_url": reverse("workforce:duty_sw"),
        "sw_scope": page,
        "login_url": f"{reverse('accounts:login')}?next={page}",
        # The duty open now (if any), so a phone that lost its own record still knows.
        "open": [
            {"client_id": a.in_client_id, "post": a.post.name, "at": a.check_in_at.isoformat()}
            for a in (selectors.on_duty([worker]) if worker else [])
        ],
    }
    return render(request, "workforce/duty.html", context)


@require_GET
def duty_service_worker(request):
    """The duty page's service worker (public, never cached: see testing's sampler)."""
    response = HttpResponse(
        Path(finders.find(SERVICE_WORKER)).read_bytes(), content_type="text/javascript"
    )
    response["Cache-Control"] = "no-cache"
    return response


@login_required
@require_POST
def callout_answer(request, pk):
    deny_unless(can_check_in(request.user))
    callout = get_scoped_or_404(CallOut.objects, request.user, pk=pk)
    try:
        answer = services.callout_answer(
            actor=request.user, callout=callout, accept=request.POST.get("answer") != "decline"
        )
    except DomainError as exc:
        said(request, exc)
        return redirect("workforce:callout", pk=pk)
    texts = {
        "accepted": _("You are in: go to %(place)s now."),
        "too_late": _("Thank you: it is filled already."),
        "declined": _("Noted: you declined."),
    }
    messages.success(request, texts[answer] % {"place": callout.place})
    return redirect("workforce:callout", pk=pk)


@login_required
@require_POST
def unavailable(request):
    """A worker reports themself sick or otherwise unavailable until a date."""
    deny_unless(can_report_in(request.user))
    worker = worker_of(request.user)
    try:
        day = dt.date.fromisoformat(request.POST.get("until", ""))
    except ValueError:
        day = None
    until = timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59))) if day else None
    status = request.POST.get("status", "")
    try:
        if worker is None:
            raise DomainError("账号未关联人员登记", "your login is not linked to a worker record")
        if status not in (WorkerStatus.SICK, WorkerStatus.OTHER):
            raise DomainError("状态无效", "choose sick or other", field="status")
        services.worker_set_status(
            actor=request.user,
            worker=worker,
            status=status,
            reason=request.POST.get("reason", ""),
            until=until,
        )
    except DomainError as exc:
        said(request, exc)
    else:
        messages.success(request, _("Recorded. Your team leader and community are told."))
    return redirect("workforce:me")
