from django.core.management.base import BaseCommand, CommandError

from fangkong.core.errors import DomainError
from fangkong.relief.demo import demo_relief


class Command(BaseCommand):
    help = (
        "Relief in the demo district (after `fangkong seed`), through the relief services: "
        "supply points with stock, open and overdue needs across categories, a dispatched "
        "batch, check-in schedules for one compound with one missed, a dialysis patient's "
        "transports, hotline tickets, and logins for a hotline lead and a counsellor. "
        "See fangkong/relief/demo.py."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing if there are needs already (for re-running `make demo`)",
        )
        parser.add_argument("--seed", type=int, default=None, help="random seed")

    def handle(self, *args, if_empty, seed, **options):
        try:
            result = demo_relief(if_empty=if_empty, seed=seed)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        if not result.created:
            self.stdout.write("There are relief needs already; nothing to do.")
            return
        n = result.counts
        self.stdout.write(
            self.style.SUCCESS(
                f"Relief: {n.get('needs', 0)} needs ({n.get('escalated', 0)} overdue and escalated), "
                f"{n.get('supply_points', 0)} supply points, {n.get('care_schedules', 0)} check-in "
                f"schedules ({n.get('missed_checkins', 0)} missed), {n.get('transports', 0)} "
                f"transports, {n.get('hotline_tickets', 0)} hotline tickets; logins: "
                f"{', '.join(result.logins)}."
            )
        )
