"""The operating-system user behind a command, for the audit log ("cli:<os user>").

Free of Django models, so that it can be used before Django is set up.
"""

import getpass
import os


def cli_origin() -> str:
    """ "cli:" and the operating-system user running this process."""
    try:
        who = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        who = f"uid{os.getuid()}"
    return f"cli:{who}"
