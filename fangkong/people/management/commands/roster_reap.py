import datetime as dt

from django.core.management.base import BaseCommand

from fangkong.people.roster.importing import roster_jobs_reap


class Command(BaseCommand):
    help = (
        "Mark roster imports still running after --minutes as failed (their background "
        "worker died), so their pages stop showing them as running. Run it every few "
        "minutes beside the worker."
    )

    def add_arguments(self, parser):
        parser.add_argument("--minutes", type=int, default=60)

    def handle(self, *args, minutes, **options):
        reaped = roster_jobs_reap(older_than=dt.timedelta(minutes=max(1, minutes)))
        if options["verbosity"] >= 1:
            self.stdout.write(f"Marked {reaped} stopped import(s) as failed.")
