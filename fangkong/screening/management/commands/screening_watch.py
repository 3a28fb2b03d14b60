import time

from django.core.management.base import BaseCommand

from fangkong.screening import services


class Command(BaseCommand):
    help = (
        "Escalate overdue trace tasks to the street office and the command centre over them "
        "(each task once: claimed by a conditional UPDATE, so two watchers do no harm), "
        "write staged venue-scan batches to the analytics store, and forget the details "
        "of people on no roster from scans older than FANGKONG_SCAN_DETAILS_DAYS. Run it "
        "every minute (cron or a systemd timer), or keep it running with --every SECONDS."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every", type=int, default=0, help="keep running, checking every SECONDS"
        )

    def handle(self, *args, every: int = 0, **options):
        while True:
            escalated = services.tasks_escalate()
            written = services.scans_flush()
            forgotten = services.identities_prune()
            self.stdout.write(
                f"escalated {escalated} overdue trace tasks; wrote {written} staged venue scans; "
                f"forgot the details of {forgotten} people from old scans"
            )
            if every <= 0:
                return
            time.sleep(every)
