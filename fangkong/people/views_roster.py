"""Roster import and export pages. Thin: the work is in `people.roster`."""

import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import redirect, render

from fangkong.areas.models import Area
from fangkong.core.errors import DomainError
from fangkong.core.shortcuts import deny_unless, get_scoped_or_404
from fangkong.people.permissions import can_export_roster, can_import_roster, can_reveal_pii

from .forms import RosterExportForm, RosterImportForm
from .models import ImportJob
from .roster.exporting import roster_export
from .roster.importing import roster_import_submit
from .roster.report import XLSX_TYPE, roster_report

REJECTIONS_SHOWN = 50


def _xlsx_response(write, filename: str) -> FileResponse:
    """Write a workbook to a temporary file and stream it from there."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it when sent)
    try:
        write(out)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=filename, content_type=XLSX_TYPE)


@login_required
def import_page(request):
    deny_unless(can_import_roster(request.user))
    form = RosterImportForm(request.user, request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = roster_import_submit(
                actor=request.user,
                area=form.cleaned_data["area"],
                file_name=upload.name,
                data=upload.read(),
            )
        except DomainError as exc:
            form.add_error("area" if exc.field == "area" else "file", str(exc))
        else:
            return redirect("people:import_status", pk=job.pk)
    context = {
        "form": form,
        "jobs": ImportJob.objects.for_user(request.user).select_related("area", "created_by")[:20],
        "export_form": RosterExportForm(request.user),
        "can_export": can_export_roster(request.user),
        "can_reveal": can_reveal_pii(request.user),
    }
    return render(request, "people/import.html", context)


@login_required
def import_status(request, pk):
    """The job's progress; htmx polls the #progress partial every second while it runs."""
    job = get_scoped_or_404(
        ImportJob.objects.select_related("area", "created_by"), request.user, pk=pk
    )
    deny_unless(can_import_roster(request.user))
    rejections, warnings = [], []
    if not job.is_active:
        rejections = job.rejections.defer("cells_cipher")[:REJECTIONS_SHOWN]
        warnings = job.warnings.all()[:REJECTIONS_SHOWN]
    context = {"job": job, "rejections": rejections, "warnings": warnings}
    template = "people/import_status.html"
    return render(request, f"{template}#progress" if request.htmx else template, context)


@login_required
def import_report(request, pk):
    job = get_scoped_or_404(ImportJob.objects, request.user, pk=pk)
    deny_unless(can_import_roster(request.user))
    return _xlsx_response(
        lambda out: roster_report(actor=request.user, job=job, out=out),
        f"{Path(job.file_name).stem}-rejected.xlsx",
    )


@login_required
def export(request):
    """`?area=CODE`: the residents the user may see there; `&full=1&reason=…` for full
    numbers (a reason is required and kept in the audit log)."""
    deny_unless(can_export_roster(request.user))
    code = request.GET.get("area", "").strip()
    roots = request.user.scope_prefixes()
    if not code and len(roots) == 1:
        code = roots[0]
    area = get_scoped_or_404(Area.objects, request.user, code=code)
    full = request.GET.get("full", "") in ("1", "on", "true")
    deny_unless(not full or can_reveal_pii(request.user))
    reason = request.GET.get("reason", "")
    try:
        return _xlsx_response(
            lambda out: roster_export(
                actor=request.user, area=area, out=out, full=full, reason=reason
            ),
            f"{area.name}-{area.code}.xlsx",
        )
    except DomainError as exc:  # a full export without a reason: back to the form, saying so
        messages.error(request, str(exc))
        return redirect("people:import")
