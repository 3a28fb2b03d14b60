from django.core.management.base import BaseCommand, CommandError

from fangkong.accounts.models import User
from fangkong.accounts.services import user_create
from fangkong.core.actors import command_line
from fangkong.core.errors import DomainError
from fangkong.core.roles import Role


class Command(BaseCommand):
    help = (
        "Create a user with a role and the area subtrees they hold. The password must pass "
        "the password validators (length, common, numeric, similarity to the name)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--area", action="append", default=[], help="area code (repeatable)")
        parser.add_argument("--name", default="", help="display name")
        parser.add_argument("--password", default=None, help="omit to be asked")

    def handle(self, *args, username, role, area, name, password, **options):
        # The area tree lives above accounts: reached through the relation, not imported.
        areas = list(User._meta.get_field("areas").related_model.objects.filter(code__in=area))
        missing = set(area) - {a.code for a in areas}
        if missing:
            raise CommandError(f"unknown area code(s): {', '.join(sorted(missing))}")
        if password is None:
            import getpass

            password = getpass.getpass("Password: ")
        try:
            user = user_create(
                actor=command_line(),
                username=username,
                password=password,
                role=role,
                areas=areas,
                display_name=name,
            )
        except DomainError as exc:  # a weak password, a name taken: say which, change nothing
            raise CommandError(str(exc)) from None
        self.stdout.write(f"created {user.username} ({role}) holding {', '.join(area) or '-'}")
