"""`fangkong <command>`: the project's management commands, like manage.py.

Command names may be written with hyphens: `fangkong import-roster` runs
`import_roster`. What a command does is audited as the operating-system user who ran it
("cli:<user>", `fangkong.core.actors.command_line()`), not as an anonymous "system".
"""

import os
import sys

# Django's own commands that change accounts behind the audited services
# (fangkong.accounts.services), refused with the command to use instead.
UNAUDITED = {
    "changepassword": "set-password",
    "createsuperuser": "create-user",
}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
        if argv[1] in UNAUDITED:
            sys.stderr.write(
                f"`{argv[1]}` 不留审计记录，请改用 `fangkong {UNAUDITED[argv[1]]}` / "
                f"`{argv[1]}` leaves no audit record: use `fangkong {UNAUDITED[argv[1]]}`\n"
            )
            raise SystemExit(2)
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
