import os
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fangkong.core.errors import DomainError
from fangkong.people.seeding import seed_district


class Command(BaseCommand):
    help = (
        "Build the demo district 零陵区 (431102): streets, communities, compounds, "
        "buildings, households, residents and a demo user for every role. The users' "
        "passwords go to .demo-logins at the repository root (see `demo_logins`)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--residents",
            type=int,
            default=int(os.environ.get("FANGKONG_DEMO_RESIDENTS", 20_000)),
            help="how many residents (default FANGKONG_DEMO_RESIDENTS or 20000)",
        )
        parser.add_argument("--seed", type=int, default=None, help="random seed, to repeat a seed")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing if the district is already there (for re-running `make demo`)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="processes drawing people (default: one a core for big seeds on PostgreSQL)",
        )
        parser.add_argument(
            "--logins-file",
            type=Path,
            default=settings.PROJECT_DIR / ".demo-logins",
            help="where to write the demo passwords (default .demo-logins at the repository root)",
        )

    def handle(self, *args, residents, seed, if_empty, logins_file, workers, **options):
        started = time.perf_counter()

        def progress(text):
            if options["verbosity"] >= 2:
                self.stderr.write(f"  {text} residents")

        try:
            result = seed_district(
                residents=residents,
                seed=seed,
                if_empty=if_empty,
                logins_path=logins_file,
                progress=progress,
                workers=workers,
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        if not result.created:
            self.stdout.write("The demo district is already there; nothing to do.")
            return
        seconds = time.perf_counter() - started
        areas = ", ".join(f"{level}: {n:,}" for level, n in result.areas.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {result.residents:,} residents in {result.households:,} households "
                f"({areas}) in {seconds:.1f} s; seed {result.seed}."
            )
        )
        if options["verbosity"] >= 2:
            self.stdout.write(f"  steps: {result.seconds}")
            if result.database_cpu is not None:
                self.stdout.write(f"  database server CPU: {result.database_cpu:.1f} s")
        self.stdout.write(f"Demo logins are in {logins_file}; `fangkong demo_logins` prints them.")
