"""`fangkong <command>`: the project's management commands, like manage.py.

Command names may be written with hyphens: `fangkong import-roster` runs
`import_roster`. What a command does is audited as the operating-system user who ran it
("cli:<user>", `fangkong.core.actors.command_line()`), not as an anonymous "system".
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
