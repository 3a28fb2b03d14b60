"""What each role may see: one table of data kinds and the roles that see them.

Permissions (permissions.py) say what a role may *do*; this table says what it may
*see*, so that a role's work never shows it more than the work needs (a sampler
resolves a scanned code, it does not browse the roster; a lab sees tubes, not people).
Each app declares the kinds of data it holds in its `permissions.py`, next to the
rights that read them:

    ROSTER = sight("people.roster", {Role.COMMAND, ...}, "Residents: names, households ...",
                   where="pages, API and exports of residents")

and reads the kind where it shows it: a `ScopedQuerySet` whose rows are of one kind names
it (`sight = "people.roster"`), so `for_user` gives a role without it nothing; a
serializer or template that shows a kind among others asks `sees(user, "labs.recall_people")`.
`docs/roles.md` is generated from this table (`fangkong permissions --sight --markdown`), and
`core/tests/test_roles_sight.py` tries each row for every role.
"""

from collections.abc import Iterable

from django.core.exceptions import ImproperlyConfigured

from .roles import Role, holds_role, roles_table


class Sight:
    """A kind of data (`<app>.<kind>`), and the roles whose users may see it (inside their
    jurisdiction: this table never widens the scope, it narrows what is shown in it)."""

    def __init__(self, code: str, roles: Iterable[str], description: str, where: str = ""):
        self.code = code
        self.roles = frozenset(Role(r) for r in roles)
        self.description = description
        self.where = where

    def __call__(self, user) -> bool:
        return holds_role(user, self.roles)

    def __repr__(self) -> str:
        return f"<Sight {self.code}>"


_TABLE: dict[str, Sight] = {}


def sight(code: str, roles: Iterable[str], description: str, *, where: str = "") -> Sight:
    """Declare a kind of data and who sees it (at import of an app's permissions module).
    `where`: the pages, API operations and exports that show it."""
    if code in _TABLE:
        raise ImproperlyConfigured(f"data kind {code} is declared twice")
    if code.count(".") != 1:
        raise ImproperlyConfigured(f"data kind {code} must be named <app>.<kind>")
    _TABLE[code] = kind = Sight(code, roles, description, where)
    return kind


def get(code: str) -> Sight:
    try:
        return _TABLE[code]
    except KeyError:
        raise ImproperlyConfigured(f"no data kind {code} is declared") from None


def sees(user, code: str) -> bool:
    """Whether `user` may see data of the kind `code` (an undeclared kind: no one)."""
    kind = _TABLE.get(code)
    return kind is not None and kind(user)


def all_sights() -> list[Sight]:
    return sorted(_TABLE.values(), key=lambda s: s.code)


def markdown_table() -> str:
    """The table as docs/roles.md."""
    intro = [
        "# What each role sees",
        "",
        "The data each role may see, inside its own jurisdiction: generated from the apps'",
        "declarations (`sight(...)` in each app's `permissions.py`, `fangkong/core/sight.py`)",
        "by `fangkong permissions --sight --markdown > docs/roles.md` (a test keeps it current;",
        "`fangkong/core/tests/test_roles_sight.py` tries every row for every role).",
        "What each role may *do* is in `docs/permissions.md`.",
        "",
    ]
    rows = [
        ([f"`{k.code}`", k.description, k.where], k.roles)
        for k in all_sights()
        if not k.code.startswith("core.test_")
    ]
    return roles_table(intro, ["data", "what it is", "where it shows"], rows)
