"""Who acts: a user, or the system itself under a name.

Every service takes `actor=`; it is never None. Commands, tasks and the demo act as a
`System` whose name goes to the audit log: `command_line()` names the operating-system
user ("cli:alice"), `SYSTEM` a scheduled or background job. The system holds every
permission and sees every area; only code on the server can act as it.
"""

from typing import Protocol

from .origin import cli_origin


class Actor(Protocol):
    """What services need of whoever acts (a `User` or a `System`)."""

    pk: int | None
    username: str
    role: str
    is_authenticated: bool
    is_active: bool

    def may_see_area(self, code: str) -> bool: ...

    def scope_prefixes(self) -> list[str]: ...


class System:
    """The system acting on its own behalf."""

    pk = None
    id = None
    role = "system"
    is_authenticated = True
    is_active = True
    is_system = True

    def __init__(self, name: str):
        self.username = name

    def __str__(self) -> str:
        return self.username

    def __repr__(self) -> str:
        return f"<System {self.username}>"

    def __eq__(self, other) -> bool:
        return isinstance(other, System) and other.username == self.username

    def __hash__(self) -> int:
        return hash(self.username)

    def may_see_area(self, code: str) -> bool:
        return True

    def scope_prefixes(self) -> list[str]:
        return [""]


SYSTEM = System("system")


def command_line() -> System:
    """The actor of a management command: the operating-system user who ran it."""
    return System(cli_origin())


def is_system(actor) -> bool:
    return getattr(actor, "is_system", False) is True


def user_of(actor):
    """The user behind an actor, for a foreign key (None when the system acts)."""
    return None if is_system(actor) else actor
