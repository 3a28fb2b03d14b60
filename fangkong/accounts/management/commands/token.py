"""`fangkong token USERNAME`: print a new bearer token for a device or an integration."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fangkong.accounts.models import ApiToken, User
from fangkong.accounts.services import token_issue, token_revoke
from fangkong.core.actors import command_line


def _local(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


class Command(BaseCommand):
    help = (
        "Print a new API bearer token for USERNAME (shown once, only its hash is kept); "
        "--list shows the user's tokens, --revoke PREFIX revokes one. Issuing and revoking are audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for, e.g. a device")
        action = parser.add_mutually_exclusive_group()
        action.add_argument(
            "--revoke", metavar="PREFIX", help="revoke the token that starts with PREFIX"
        )
        action.add_argument(
            "--list", dest="show", action="store_true", help="list the user's tokens"
        )

    def handle(self, *args, username: str, name: str, revoke: str | None, show: bool, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        tokens = ApiToken.objects.filter(user=user)
        if show:
            for t in tokens.order_by("created_at"):
                state = f"revoked {_local(t.revoked_at)}" if t.revoked_at else "active"
                used = _local(t.last_used_at) if t.last_used_at else "never"
                self.stdout.write(f"{t.prefix}  {state:<24} last used {used:<16}  {t.name}")
        elif revoke is not None:
            matches = [
                t
                for t in tokens.filter(revoked_at__isnull=True)
                if revoke.startswith(t.prefix) or t.prefix.startswith(revoke)
            ]
            if len(matches) != 1:
                raise CommandError(
                    f"{len(matches)} active tokens of {username} match {revoke!r}; "
                    "see --list and give the whole prefix"
                )
            token_revoke(actor=command_line(), token=matches[0])
            self.stderr.write(f"revoked {matches[0].prefix}…")
        else:
            if not user.is_active:
                raise CommandError(f"{username} is inactive; a token would not work")
            self.stdout.write(token_issue(actor=command_line(), user=user, name=name))
