from django.core.management.base import BaseCommand, CommandError

from fangkong.core.errors import DomainError
from fangkong.screening.demo import demo_screening


class Command(BaseCommand):
    help = (
        "Screening for the demo district: a case from the demo lab results, venue scans that "
        "match a handful of residents, its match run's trace tasks (one overdue and escalated), "
        "and a screening campaign half done. Run after `fangkong demo_results`."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if screening has data already"
        )

    def handle(self, *args, if_empty: bool = False, **options):
        try:
            made = demo_screening(if_empty=if_empty)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        if not made.created:
            self.stdout.write("screening demo data is there already")
            return
        counts = ", ".join(f"{k} {v}" for k, v in made.counts.items())
        campaign = made.campaign.pk if made.campaign is not None else "-"
        self.stdout.write(f"case {made.case}, campaign {campaign}: {counts}")
