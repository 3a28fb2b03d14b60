import datetime as dt

from django.core.management.base import BaseCommand

from fangkong.labs import services


class Command(BaseCommand):
    help = (
        "Catch the round report's sampling tallies up with new samples and tubes, and raise "
        "recalls for samples that reached a positive or invalid tube after its result, and "
        "list the tubes overdue for a result, and fail results uploads still running after "
        "an hour (their worker died). "
        "Run it every minute (cron or a systemd timer); two at once do no harm."
    )

    def handle(self, *args, **options):
        moved = services.sampling_tally_refresh()
        raised = services.recalls_reconcile()
        overdue = services.overdue_refresh()
        reaped = services.results_uploads_reap(older_than=dt.timedelta(hours=1))
        self.stdout.write(
            f"tallied {moved} rows, raised {raised} late recalls, {overdue} tubes overdue, "
            f"{reaped} stalled uploads failed"
        )
