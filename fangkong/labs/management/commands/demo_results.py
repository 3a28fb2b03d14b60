from django.core.management.base import BaseCommand, CommandError

from fangkong.core.errors import DomainError
from fangkong.labs.demo import demo_results


class Command(BaseCommand):
    help = (
        "Results for the demo round (after `fangkong demo_round`), stored as the demo `lab` "
        "user: mostly negative, one or two positive 10-in-1 pools in community A and one "
        "invalid pool (so recalls exist), some tubes still at the lab or overdue. "
        "See fangkong/labs/demo.py."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing if the demo round has results already (for re-running `make demo`)",
        )

    def handle(self, *args, if_empty, **options):
        try:
            result = demo_results(if_empty=if_empty)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        if not result.created:
            self.stdout.write(f"{result.round.name} has results already; nothing to do.")
            return
        n = result.counts
        self.stdout.write(
            self.style.SUCCESS(
                f"Results for {result.round.name} in {n.get('uploads', 0)} uploads "
                f"({n.get('created', 0):,} new, {n.get('unchanged', 0):,} unchanged): "
                f"{n.get('negative', 0):,} negative, {n.get('positive', 0)} positive "
                f"({', '.join(result.positive_tubes) or '-'}), {n.get('invalid', 0)} invalid "
                f"({', '.join(result.invalid_tubes) or '-'}); {n.get('recalls', 0)} recalls; "
                f"{n['at_lab']} tubes still at the lab, {n['overdue']} of them overdue."
            )
        )
