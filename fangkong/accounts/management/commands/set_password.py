import getpass

from django.core.management.base import BaseCommand, CommandError

from fangkong.accounts.models import User
from fangkong.accounts.services import user_set_password
from fangkong.core.actors import command_line
from fangkong.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Set a user's password (it must pass the password validators); audited as the "
        "operating-system user who ran it. Django's own `changepassword` is refused: it "
        "would leave no audit record."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", default=None, help="omit to be asked")

    def handle(self, *args, username, password, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username}")
        if password is None:
            password = getpass.getpass("Password: ")
        try:
            user_set_password(actor=command_line(), user=user, password=password)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"password of {user.username} set")
