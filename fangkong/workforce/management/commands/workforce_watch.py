import time

from django.core.management.base import BaseCommand

from fangkong.core.actors import System
from fangkong.workforce import services

WATCHER = System("workforce_watch")


class Command(BaseCommand):
    help = (
        "Periodic workforce work: flag no-shows (not checked in N minutes after a shift "
        "began, N by policy) to the team leader and the community; close call-outs past "
        "their time; end unavailability whose date has come. Each row is claimed by a "
        "conditional UPDATE, so several watchers never tell anyone twice. Run it every "
        "minute (cron, or --every 60)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every", type=int, default=0, help="keep running, once every this many seconds"
        )

    def handle(self, *args, every, **options):
        while True:
            no_shows = services.no_shows_flag(actor=WATCHER)
            expired = services.callouts_expire(actor=WATCHER)
            released = services.statuses_expire(actor=WATCHER)
            self.stdout.write(
                f"no-shows flagged: {no_shows}; call-outs closed: {expired}; "
                f"workers available again: {released}"
            )
            if every <= 0:
                return
            time.sleep(every)
