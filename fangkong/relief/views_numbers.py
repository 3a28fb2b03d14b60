"""Relief numbers of a street or a community: a page with charts (Apache ECharts,
vendored) and the same figures as .xlsx."""

import datetime as dt
import io

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.areas.models import Area, Level
from fangkong.core.audit import audit_record
from fangkong.core.shortcuts import deny_unless, get_scoped_or_404

from . import selectors
from .permissions import can_read_numbers

PERIODS = {"today": 1, "7d": 7, "30d": 30, "all": None}


@login_required
def numbers(request):
    deny_unless(can_read_numbers(request.user))
    areas = selectors.area_choices(request.user)
    if not areas:
        raise Http404
    return redirect("relief:numbers_area", code=areas[0].code)


def _period(request) -> tuple[str, dt.datetime | None]:
    period = request.GET.get("period", "7d")
    if period not in PERIODS:
        period = "7d"
    days = PERIODS[period]
    if days is None:
        return period, None
    today = timezone.localdate()
    start = today - dt.timedelta(days=days - 1)
    return period, timezone.make_aware(dt.datetime.combine(start, dt.time()))


def _area(request, code) -> Area:
    deny_unless(can_read_numbers(request.user))
    area = get_scoped_or_404(Area.objects, request.user, code=code)
    if area.level > Level.COMPOUND:
        raise Http404
    return area


@login_required
def numbers_area(request, code):
    area = _area(request, code)
    period, since = _period(request)
    figures = selectors.relief_numbers(area.code, since=since)
    chart = {
        "categories": [r["category"] for r in figures.by_category],
        "registered": [r["registered"] for r in figures.by_category],
        "resolved": [r["resolved"] for r in figures.by_category],
        "areas": [r["name"] for r in figures.by_area],
        "open": [r["open"] for r in figures.by_area],
        "overdue": [r["overdue"] for r in figures.by_area],
        "labels": {
            "registered": _("Registered"),
            "resolved": _("Delivered"),
            "open": _("Open"),
            "overdue": _("Overdue"),
        },
    }
    context = {
        "area": area,
        "figures": figures,
        "chart": chart,
        "period": period,
        "periods": [
            ("today", _("Today")),
            ("7d", _("7 days")),
            ("30d", _("30 days")),
            ("all", _("All")),
        ],
        "choices": selectors.area_choices(request.user),
        "escalations": selectors.escalations(request.user).filter(area_code__startswith=area.code)[
            :20
        ],
    }
    return render(request, "relief/numbers.html", context)


@login_required
def export(request, code):
    """The page's figures as a workbook (no personal data in it; audited all the same)."""
    from openpyxl import Workbook

    area = _area(request, code)
    period, since = _period(request)
    f = selectors.relief_numbers(area.code, since=since)
    book = Workbook(write_only=True)
    summary = book.create_sheet(_("Summary"))
    summary.append([_("Area"), area.name, area.code])
    summary.append(
        [_("Since"), timezone.localtime(since).strftime("%Y-%m-%d") if since else _("All")]
    )
    for label, value in [
        (_("Registered"), f.registered),
        (_("Delivered"), f.deliveries),
        (_("Gas cylinders"), f.gas_cylinders),
        (_("Medicine purchases"), f.medicine),
        (_("Medical transports"), f.transports),
        (_("Hotline calls"), f.hotline_calls),
        (_("Deadlines met"), f.met),
        (_("Deadlines missed"), f.late),
        (_("Share met"), round(f.met_share, 4) if f.met_share is not None else ""),
        (
            _("Median minutes to deliver"),
            round(f.median_minutes, 1) if f.median_minutes is not None else "",
        ),
        (
            _("90th percentile minutes to deliver"),
            round(f.p90_minutes, 1) if f.p90_minutes is not None else "",
        ),
        (_("Open now"), f.open_now),
        (_("Overdue now"), f.overdue_now),
    ]:
        summary.append([label, value])
    sheet = book.create_sheet(_("By category"))
    sheet.append([_("Category"), _("Registered"), _("Delivered")])
    for row in f.by_category:
        sheet.append([row["category"], row["registered"], row["resolved"]])
    sheet = book.create_sheet(_("By area"))
    sheet.append([_("Code"), _("Area"), _("Registered"), _("Delivered"), _("Open"), _("Overdue")])
    for row in f.by_area:
        sheet.append(
            [
                row["code"],
                row["name"],
                row["registered"],
                row["resolved"],
                row["open"],
                row["overdue"],
            ]
        )
    out = io.BytesIO()
    book.save(out)
    audit_record(
        actor=request.user,
        event="relief.numbers_export",
        target=area,
        area_code=area.code,
        detail={"period": period},
    )
    response = HttpResponse(
        out.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="relief-{area.code}-{stamp}.xlsx"'
    return response
