from django.core.management.base import BaseCommand

from fangkong.core.ratelimit import prune


class Command(BaseCommand):
    help = (
        "Drop rate-limit counters whose window ended more than --hours ago (names tried "
        "once at the login page, users who stopped searching). Run it nightly."
    )

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=24)

    def handle(self, *args, hours, **options):
        dropped = prune(older_than_s=max(1, hours) * 3600)
        if options["verbosity"] >= 1:
            self.stdout.write(f"Dropped {dropped} stale rate counter(s).")
