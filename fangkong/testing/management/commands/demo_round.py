import time

from django.core.management.base import BaseCommand, CommandError

from fangkong.core.errors import DomainError
from fangkong.testing.demo import demo_round


class Command(BaseCommand):
    help = (
        "Start a testing round under way over the demo district (after `fangkong seed`), "
        "through the testing services: zones, the round, a sampling site a community, "
        "samples of about half the residents uploaded as the sites' devices would, "
        "exemptions and door-to-door tasks. See fangkong/testing/demo.py."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing if the demo district has a round already (for re-running `make demo`)",
        )
        parser.add_argument("--seed", type=int, default=None, help="random seed, to repeat a run")

    def handle(self, *args, if_empty, seed, **options):
        started = time.perf_counter()
        try:
            result = demo_round(seed=seed, if_empty=if_empty)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        if not result.created:
            self.stdout.write("The demo district has a testing round already; nothing to do.")
            return
        n = result.counts
        flags = ", ".join(
            f"{k.removeprefix('flag_')} {v}" for k, v in sorted(n.items()) if k.startswith("flag_")
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Started {result.round.name} (round {result.round.pk}): {n['sites']} sites, "
                f"{n['channels']} channels, {n['samples']:,} samples in {n['tubes']:,} tubes "
                f"({n.get('tubes_open', 0)} still open), {n['exemptions']} exemptions, "
                f"{n['tasks_sealed_households'] + n['tasks_bedridden']} door-to-door tasks "
                f"({n['tasks_done']} done) in {time.perf_counter() - started:.1f} s; "
                f"seed {result.seed}."
            )
        )
        self.stdout.write(f"  flagged samples: {flags}; refused events: {n.get('refused', 0)}")
        if options["verbosity"] >= 2:
            self.stdout.write(f"  steps: {result.seconds}")
