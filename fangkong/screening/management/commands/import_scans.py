import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fangkong.core.actors import command_line
from fangkong.core.errors import DomainError
from fangkong.screening import services


class Command(BaseCommand):
    help = (
        "Store a file of venue scans (CSV or Parquet: venue_code, scanned_at with its offset, "
        "and person_key or id_number [id_type]) for exposure matching. The same file twice is "
        "stored once; bad rows are listed by row and field, the rest go in. Prints JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--client-id", default=None, help="default: the file's SHA-256")

    def handle(self, *args, path: Path, client_id=None, **options):
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            outcome = services.scans_import(actor=command_line(), path=path, client_id=client_id)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        for p in outcome.problems:
            self.stderr.write(
                f"row {p.row} {p.field}: {p.text_zh or p.code} / {p.text_en or p.code}"
            )
        self.stdout.write(
            json.dumps(
                {
                    "client_id": outcome.client_id,
                    "stored": outcome.rows,
                    "refused": outcome.bad_rows,
                    "replayed": outcome.replayed,
                    "days": outcome.days,
                }
            )
        )
