"""The round report as an .xlsx file (openpyxl write-only: rows stream, nothing is held)."""

import io

from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl import Workbook

from fangkong.core.audit import audit_record

from .selectors import DAY_COLUMNS, REPORT_COLUMNS, Report


def column_titles() -> dict[str, str]:
    return {
        "expected": _("Expected"),
        "sampled": _("Sampled"),
        "tubes": _("Tubes"),
        "results": _("Results back"),
        "positives": _("Positive tubes"),
        "invalid": _("Invalid tubes"),
        "recalls_open": _("Recalls open"),
        "recalls_closed": _("Recalls closed"),
        "recalls_raised": _("Recalls raised"),
        "cases": _("Positive cases"),
        "home_done": _("Door-to-door done"),
    }


def report_xlsx(*, actor, report: Report) -> bytes:
    """Two sheets, by area and by day; the export is written to the audit log."""
    titles = column_titles()
    book = Workbook(write_only=True)
    areas = book.create_sheet(_("By area"))
    areas.append([report.round.name, report.area.name, report.area.code])
    areas.append([_("Area code"), _("Area"), *(titles[c] for c in REPORT_COLUMNS)])
    for row in report.rows:
        areas.append([row.code, row.name, *(row.counts[c] for c in REPORT_COLUMNS)])
    areas.append([report.area.code, _("Total"), *(report.total[c] for c in REPORT_COLUMNS)])
    days = book.create_sheet(_("By day"))
    days.append([_("Day"), *(titles[c] for c in DAY_COLUMNS)])
    for day, counts in report.days:
        days.append([day.isoformat(), *(counts[c] for c in DAY_COLUMNS)])
    out = io.BytesIO()
    book.save(out)
    with transaction.atomic():
        audit_record(
            actor=actor,
            event="labs.report_export",
            target=report.round,
            area_code=report.area.code,
            detail={"round": report.round.pk, "area": report.area.code, "rows": len(report.rows)},
        )
    return out.getvalue()
