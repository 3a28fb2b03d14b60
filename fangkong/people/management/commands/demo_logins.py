import unicodedata
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from fangkong.people.seeding.users import demo_table, logins_read


def _width(text: str) -> int:
    """Columns a string takes on a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = "Print the demo users: user name, role, jurisdiction and password."

    def add_arguments(self, parser):
        parser.add_argument(
            "--logins-file",
            type=Path,
            default=settings.PROJECT_DIR / ".demo-logins",
            help="the file the seed wrote (default .demo-logins at the repository root)",
        )

    def handle(self, *args, logins_file, **options):
        rows = demo_table(logins_read(logins_file))
        if not rows:
            self.stdout.write(
                f"No demo logins in {logins_file}. Seed a demo district first: "
                "`fangkong seed --residents 20000` (into an empty database)."
            )
            return
        header = ("user name", "role", "who", "jurisdiction", "password")
        widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, tuple("-" * w for w in widths), *rows]:
            self.stdout.write("  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)))
        self.stdout.write(
            "\nLog in at /accounts/login/ on the demo server (`fangkong run_demo`, by default "
            "http://127.0.0.1:8000/)."
        )
