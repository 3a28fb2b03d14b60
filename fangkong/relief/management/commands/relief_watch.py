import time

from django.core.management.base import BaseCommand

from fangkong.core.actors import command_line
from fangkong.relief import services


class Command(BaseCommand):
    help = (
        "One pass of the relief watch: escalate every need now overdue (once each, to the "
        "levels the SLA policy names), record missed check-ins and raise their follow-up "
        "tasks, and make the next week's treatment transports. Run it every minute (cron or "
        "a systemd timer); two at once do no harm (rows are claimed by conditional UPDATE)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7, help="transports made this far ahead")

    def handle(self, *args, days, **options):
        actor = command_line()
        started = time.perf_counter()
        result = services.sla_watch(actor=actor)
        escalated_s = time.perf_counter() - started
        missed = services.care_watch(actor=actor)
        trips = services.transports_schedule(actor=actor, days=max(1, min(days, 31)))
        self.stdout.write(
            f"escalated {result.escalated} needs ({result.notified} people told) in "
            f"{escalated_s:.3f} s; {missed} missed check-ins raised; {trips} transports made"
        )
