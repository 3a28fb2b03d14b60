"""`fangkong export-roster --area CODE OUT.xlsx`: the residents under an area, audited."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fangkong.areas.models import Area
from fangkong.core.actors import command_line
from fangkong.people.roster.exporting import roster_export


class Command(BaseCommand):
    help = (
        "Export the residents under an area to .xlsx, in the columns import-roster reads. "
        "ID and phone numbers are masked unless --full with a --reason (only a full export "
        "can be imported again). Written to the audit log, with the reason."
    )

    def add_arguments(self, parser):
        parser.add_argument("out", type=Path, metavar="OUT.xlsx")
        parser.add_argument("--area", required=True, help="an area code")
        parser.add_argument("--full", action="store_true", help="full ID and phone numbers")
        parser.add_argument(
            "--reason", default="", help="why full numbers are needed (required with --full)"
        )

    def handle(self, *args, out: Path, area: str, full: bool, reason: str, **options):
        place = Area.objects.filter(code=area).first()
        if place is None:
            raise CommandError(f"no area with code {area}")
        if full and not reason.strip():  # before the file is opened: nothing half-written
            raise CommandError("--full needs --reason: why full numbers are needed")
        with open(out, "wb") as stream:
            n = roster_export(
                actor=command_line(), area=place, out=stream, full=full, reason=reason
            )
        self.stderr.write(f"{n} residents of {place.name} written to {out}")
