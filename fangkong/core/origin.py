"""Where an action without a user comes from, for the audit log (core.audit): an
operator's command ("cli:<os user>") or the application itself ("system").

Free of Django models, so that the command-line entry point can set it before Django
is set up.
"""

import getpass
import os
from contextlib import contextmanager
from contextvars import ContextVar

_origin: ContextVar[str] = ContextVar("audit_origin", default="system")


def cli_origin() -> str:
    """ "cli:" and the operating-system user running this process."""
    try:
        who = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        who = f"uid{os.getuid()}"
    return f"cli:{who}"


@contextmanager
def acting_from(origin: str):
    """Records made without an actor inside this block name `origin`."""
    token = _origin.set(origin)
    try:
        yield
    finally:
        _origin.reset(token)


def current_origin() -> str:
    return _origin.get()
