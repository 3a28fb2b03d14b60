from django.core.management.base import BaseCommand, CommandError

from fangkong.core.errors import DomainError
from fangkong.workforce.demo import demo_workforce


class Command(BaseCommand):
    help = (
        "The workforce of the demo district (after `fangkong seed`): organs, skills, map "
        "points, a few hundred enrolled workers, teams and a party branch, open requests, "
        "a run allocation, a rota under way with someone checked in and one no-show, an "
        "open call-out, and demo logins for an organ liaison, a team leader and a "
        "volunteer (added to .demo-logins). See fangkong/workforce/demo.py."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if there are workers already"
        )
        parser.add_argument("--workers", type=int, default=300)

    def handle(self, *args, if_empty, workers, **options):
        try:
            result = demo_workforce(if_empty=if_empty, workers=workers)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(result)
