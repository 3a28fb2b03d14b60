"""`fangkong token USERNAME`: print a new bearer token for a device or an integration."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fangkong.accounts.models import ApiToken, TokenScope, User
from fangkong.accounts.services import token_issue, token_revoke
from fangkong.core.actors import command_line
from fangkong.core.errors import DomainError


def _local(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


class Command(BaseCommand):
    help = (
        "Print a new API bearer token for USERNAME (shown once, only its hash is kept), "
        "reaching what --scope allows for --days; --list shows the user's tokens, --revoke "
        "PREFIX revokes one at once. Issuing and revoking are audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for, e.g. a device")
        parser.add_argument(
            "--scope",
            choices=TokenScope.values,
            default=TokenScope.ALL,
            help="upload: a sampling device; results: a lab system; all: all the role may",
        )
        parser.add_argument(
            "--days", type=int, default=None, help="how long it lasts (default FANGKONG_TOKEN_DAYS)"
        )
        action = parser.add_mutually_exclusive_group()
        action.add_argument(
            "--revoke", metavar="PREFIX", help="revoke the token that starts with PREFIX"
        )
        action.add_argument(
            "--list", dest="show", action="store_true", help="list the user's tokens"
        )

    def handle(
        self,
        *args,
        username: str,
        name: str,
        scope: str,
        days: int | None,
        revoke: str | None,
        show: bool,
        **options,
    ):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        tokens = ApiToken.objects.filter(user=user)
        if show:
            now = timezone.now()
            for t in tokens.order_by("created_at"):
                if t.revoked_at:
                    state = f"revoked {_local(t.revoked_at)}"
                elif t.expires_at <= now:
                    state = f"expired {_local(t.expires_at)}"
                else:
                    state = f"until {_local(t.expires_at)}"
                used = _local(t.last_used_at) if t.last_used_at else "never"
                self.stdout.write(
                    f"{t.prefix}  {t.scope:<7} {state:<24} last used {used:<16}  {t.name}"
                )
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
            try:
                key = token_issue(
                    actor=command_line(), user=user, name=name, scope=scope, days=days
                )
            except DomainError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(key)
