from django.core.management.base import BaseCommand

from fangkong.core.permissions import all_permissions
from fangkong.core.roles import roles_table
from fangkong.core.sight import all_sights
from fangkong.core.sight import markdown_table as sight_table


def markdown_table() -> str:
    """Every permission of the vocabulary and the roles that hold it, as docs/permissions.md."""
    intro = [
        "# Permissions",
        "",
        "What each role may do: generated from the apps' `permissions.py` by",
        "`fangkong permissions --markdown > docs/permissions.md` (a test keeps it current).",
        "What each role may *see* is in `docs/roles.md`.",
        "",
    ]
    rows = [
        ([f"`{p.code}`", p.description], p.roles)
        for p in all_permissions()
        if not p.code.startswith("core.test_")
    ]
    return roles_table(intro, ["permission", "what it allows"], rows)


class Command(BaseCommand):
    help = (
        "Print the permission vocabulary: each permission and the roles holding it; with "
        "--sight, the data each role may see."
    )

    def add_arguments(self, parser):
        parser.add_argument("--markdown", action="store_true", help="as docs/permissions.md")
        parser.add_argument(
            "--sight",
            action="store_true",
            help="what each role may see instead (with --markdown or alone: as docs/roles.md)",
        )

    def handle(self, *args, markdown, sight, **options):
        if sight:
            if markdown:
                self.stdout.write(sight_table(), ending="")
                return
            for kind in all_sights():
                self.stdout.write(f"{kind.code:32} {', '.join(sorted(kind.roles)) or '-'}")
            return
        if markdown:
            self.stdout.write(markdown_table(), ending="")
            return
        for p in all_permissions():
            self.stdout.write(f"{p.code:32} {', '.join(sorted(p.roles))}")
