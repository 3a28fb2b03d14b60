"""`fangkong import-roster FILE --area CODE`: import a roster now, with progress on stderr."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fangkong.areas.models import Area
from fangkong.core.actors import command_line
from fangkong.core.errors import DomainError
from fangkong.people.models import ImportJob, ImportStatus
from fangkong.people.roster.importing import roster_import_path
from fangkong.people.roster.report import roster_report


class Command(BaseCommand):
    help = (
        "Import a roster (.xlsx or .csv) into an area (a community or a compound), as the "
        "system. Valid rows go in; rejected rows are counted, and listed with --report. "
        "Progress goes to stderr; --json prints one line "
        '{"created": N, "updated": N, "unchanged": N, "rejected": N} last on stdout.'
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the roster, .xlsx or .csv")
        parser.add_argument("--area", required=True, help="code of the community or compound")
        parser.add_argument(
            "--report", type=Path, metavar="OUT.xlsx", help="write the rejected rows here"
        )
        parser.add_argument("--json", action="store_true", help="print the counts as JSON last")

    def handle(self, *args, file: Path, area: str, report: Path | None, **options):
        place = Area.objects.filter(code=area).first()
        if place is None:
            raise CommandError(f"no area with code {area}")
        if not file.is_file():
            raise CommandError(f"no such file: {file}")
        self._shown = -1
        try:
            job = roster_import_path(
                actor=command_line(), area=place, path=file, progress=self._progress
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        if self._shown >= 0:
            self.stderr.write("")
        if job.status == ImportStatus.FAILED:
            raise CommandError(f"{job.error_zh} / {job.error_en} ({_counts(job)})")
        if report is not None:
            with open(report, "wb") as out:
                roster_report(actor=command_line(), job=job, out=out)
        if options["json"]:
            self.stdout.write(json.dumps(job.counts()))
        else:
            self.stdout.write(f"{job.file_name}: {_counts(job)}")
            if job.rejected and report is None:
                self.stdout.write("--report OUT.xlsx lists the rejected rows with their reasons.")

    def _progress(self, job: ImportJob) -> None:
        """One line per 5 % (or per chunk when the file does not say its size)."""
        step = job.percent // 5 if job.percent is not None else job.processed_rows
        if step == self._shown:
            return
        self._shown = step
        total = f"/{job.total_rows}" if job.total_rows else ""
        self.stderr.write(f"row {job.processed_rows}{total}: {_counts(job)}")


def _counts(job: ImportJob) -> str:
    counts = {**job.counts(), **({"warned": job.warned} if job.warned else {})}
    return ", ".join(f"{k} {v}" for k, v in counts.items())
