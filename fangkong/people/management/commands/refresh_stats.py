from django.core.management.base import BaseCommand, CommandError

from fangkong.areas.models import Area, Level
from fangkong.people.services import building_stats_refresh_under


class Command(BaseCommand):
    help = (
        "Recount the per-building statistics (residents, households, 70+, bedridden, "
        "living alone, tenants) under an area, or under every district. People age, so "
        "run it nightly."
    )

    def add_arguments(self, parser):
        parser.add_argument("--area", default="", help="an area code (default: every district)")

    def handle(self, *args, area, **options):
        if area:
            if not Area.objects.filter(code=area).exists():
                raise CommandError(f"no area with code {area}")
            codes = [area]
        else:
            codes = list(Area.objects.at_level(Level.DISTRICT).values_list("code", flat=True))
        for code in codes:
            building_stats_refresh_under(code)
            if options["verbosity"] >= 1:
                self.stdout.write(f"Recounted the buildings under {code}.")
