"""Pages: result upload for labs, recalls for communities, the round report, throughput."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fangkong.core.errors import DomainError
from fangkong.core.paging import paginate
from fangkong.core.shortcuts import deny_unless, get_scoped_or_404
from fangkong.labs.permissions import (
    RECALLED_PEOPLE,
    can_manage_recalls,
    can_read_recalls,
    can_read_round_report,
    can_read_turnaround,
    can_rule_out_cases,
    can_upload_results,
)
from fangkong.testing.models import SamplingSite, TestingRound

from . import exports, selectors, services
from .conf import labs_conf
from .models import Recall


def _page(request) -> int:
    try:
        return max(1, min(int(request.GET.get("page", 1)), 10_000))
    except ValueError:
        return 1


# Results (labs) ---------------------------------------------------------------------


@login_required
def upload(request):
    """A lab uploads a CSV or XLSX of results; bad rows are listed, good rows go in."""
    deny_unless(can_upload_results(request.user))
    if request.method == "POST" and request.FILES.get("file"):
        f = request.FILES["file"]
        record = services.results_upload_submit(actor=request.user, file_name=f.name, data=f.read())
        return redirect("labs:upload_detail", pk=record.pk)
    uploads = paginate(selectors.uploads_for(request.user), _page(request), 20)
    return render(request, "labs/upload.html", {"page": uploads})


@login_required
def upload_detail(request, pk):
    deny_unless(can_upload_results(request.user) or can_rule_out_cases(request.user))
    record = selectors.uploads_for(request.user).filter(pk=pk).first()
    if record is None:
        raise Http404
    template = "labs/upload_detail.html"
    return render(request, f"{template}#status" if request.htmx else template, {"upload": record})


# Recalls (communities, streets, the command centre) ----------------------------------------


@login_required
def recalls(request):
    deny_unless(can_read_recalls(request.user))
    rounds = list(selectors.rounds_for(request.user)[:50])
    rnd = next((r for r in rounds if str(r.pk) == request.GET.get("round")), None)
    status = request.GET.get("status", "open")
    area = request.GET.get("area", "").strip()
    if area and not area.isdigit():
        area = ""
    found = selectors.recalls_for(request.user, rnd=rnd, area=area, status=status)
    page = paginate(found, _page(request), 50)
    can_manage = can_manage_recalls(request.user)
    context = {
        "page": page,
        "rounds": rounds,
        "round": rnd,
        "status": status,
        "area": area,
        "statuses": [("open", _("Awaiting resample")), ("closed", _("Closed")), ("", _("All"))],
        "banner": selectors.recall_banner(request.user, limit=50),
        "cases": selectors.cases_for(request.user, rnd=rnd, area=area).confirmed()[:50],
        "can_manage": can_manage,
        # Who is recalled, for the roles that see it (a lab sees tubes: core.sight).
        "show_people": RECALLED_PEOPLE(request.user),
        "sites": SamplingSite.objects.for_user(request.user).open()[:200] if can_manage else [],
        "query": request.GET.urlencode(),
    }
    return render(request, "labs/recalls.html", context)


@login_required
@require_POST
def recalls_arrange(request):
    deny_unless(can_manage_recalls(request.user))
    ids = [int(i) for i in request.POST.getlist("recall") if i.isdigit()]
    chosen = list(
        Recall.objects.for_user(request.user).filter(pk__in=ids).select_related("round", "resident")
    )
    site = None
    if request.POST.get("site", "").isdigit():
        site = get_scoped_or_404(SamplingSite.objects, request.user, pk=int(request.POST["site"]))
    try:
        count = services.recalls_arrange(
            actor=request.user, recalls=chosen, via=request.POST.get("via", ""), site=site
        )
        messages.success(request, _("%(count)d recalls arranged.") % {"count": count})
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect(f"{reverse('labs:recalls')}?{request.POST.get('back', '')}")


@login_required
@require_POST
def recall_cancel(request, pk):
    deny_unless(can_manage_recalls(request.user))
    recall = get_scoped_or_404(Recall.objects, request.user, pk=pk)
    try:
        services.recall_cancel(
            actor=request.user, recall=recall, reason=request.POST.get("reason", "")
        )
        messages.success(request, _("Saved."))
    except DomainError as exc:
        messages.error(request, str(exc))
    return redirect(f"{reverse('labs:recalls')}?{request.POST.get('back', '')}")


# The round report, throughput, turnaround and the advisor ------------------------------------


@login_required
def rounds(request):
    """Choose a round for its report."""
    deny_unless(can_read_round_report(request.user) or can_read_turnaround(request.user))
    return render(request, "labs/rounds.html", {"rounds": selectors.rounds_for(request.user)[:100]})


def _report_area(request):
    area = selectors.report_root(request.user, request.GET.get("area", "").strip())
    if area is None:
        raise Http404
    return area


@login_required
def report(request, pk):
    deny_unless(can_read_round_report(request.user))
    rnd = get_scoped_or_404(TestingRound.objects, request.user, pk=pk)
    area = _report_area(request)
    services.sampling_tally_refresh()
    data = selectors.round_report(rnd, area)
    if request.GET.get("format") == "xlsx":
        body = exports.report_xlsx(actor=request.user, report=data)
        response = HttpResponse(
            body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        name = f"round-{rnd.pk}-{area.code}-{timezone.localdate():%Y%m%d}.xlsx"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    crumbs = [a for a in selectors.report_crumbs(area) if request.user.may_see_area(a.code)]
    return render(request, "labs/report.html", {"report": data, "round": rnd, "crumbs": crumbs})


@login_required
def flow(request, pk):
    """Throughput per site and channel, turnaround and overdue tubes, the pool-size advisor."""
    deny_unless(can_read_round_report(request.user))
    rnd = get_scoped_or_404(TestingRound.objects, request.user, pk=pk)
    prefixes = request.user.scope_prefixes()
    now = timezone.now()
    hours_left = (rnd.deadline - now).total_seconds() / 3600
    services.sampling_tally_refresh()
    sites = selectors.throughput(rnd, request.user, now=now)
    overdue = selectors.overdue_tubes(rnd, prefixes)
    context = {
        "round": rnd,
        "sites": [(s, s.channels_needed(hours_left)) for s in sites],
        "hours_left": round(hours_left, 1),
        "turnaround": selectors.turnaround_total(rnd, prefixes),
        "labs": selectors.turnaround_by_lab(rnd, prefixes),
        "overdue": overdue[:50],
        "overdue_count": overdue.count(),
        "overdue_hours": labs_conf().overdue_hours,
        "advice": selectors.pool_advice(rnd, prefixes),
    }
    return render(request, "labs/flow.html", context)
