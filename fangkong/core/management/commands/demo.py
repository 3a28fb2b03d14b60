import os

from django.core.management import call_command
from django.core.management.base import BaseCommand

from fangkong.core.registry import fangkong_apps


class Command(BaseCommand):
    help = (
        "Load the demo: every app's demo steps (declared on its AppConfig), app after app "
        "in INSTALLED_APPS order. Each step is idempotent, so re-running changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--residents",
            type=int,
            default=None,
            help="size of the demo district (sets FANGKONG_DEMO_RESIDENTS for the seed)",
        )

    def handle(self, *args, residents, **options):
        if residents is not None:
            os.environ["FANGKONG_DEMO_RESIDENTS"] = str(residents)
        for config in fangkong_apps():
            for name, *arguments in config.demo_steps:
                self.stdout.write(f"== {config.label}: {name} {' '.join(arguments)}".rstrip())
                call_command(name, *arguments, stdout=self.stdout, stderr=self.stderr)
