"""What each role sees (core.sight, docs/roles.md), tried row by row for every role.

Each app that declares data kinds gives, in `<app>/tests/sight.py`, the ways to look at
them: `arrange(world)` puts one piece of each kind in community A (where every role's
user works), and `PROBES = {"<app>.<kind>": {"how": look}}` where `look(world)` answers
whether the user `world.user` saw it (a page, an API call with a bearer token, an
export). Every role's user then looks by every way, and what they see must be exactly
what the table says: a role outside a row that gets through fails here, and so does a
role inside it that is shut out. A new app adds its rows and probes without touching
this file.
"""

from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from fangkong import factories
from fangkong.accounts.tests.helpers import api_as
from fangkong.core import sight
from fangkong.core.registry import fangkong_apps
from fangkong.core.roles import Role
from fangkong.people.models import Tag


def _probe_modules():
    for config in fangkong_apps():
        name = f"{config.name}.tests.sight"
        if find_spec(f"{config.name}.tests") is not None and find_spec(name) is not None:
            yield import_module(name)


MODULES = list(_probe_modules())
PROBES = {code: ways for module in MODULES for code, ways in module.PROBES.items()}
KINDS = [k.code for k in sight.all_sights() if not k.code.startswith("core.test_")]


@dataclass
class World:
    """Community A with one of everything, and a user of every role working there."""

    tree: object
    resident: object  # 张三丰 of household A1: pregnant and bedridden
    users: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # what each app's arrange() made
    role: Role | None = None

    @property
    def user(self):
        return self.users[self.role]

    def page(self) -> Client:
        client = Client()
        client.force_login(self.user)
        return client

    def api(self):
        return api_as(self.user)


@pytest.fixture
def world(tree):
    resident = factories.make_resident(
        tree.household_a1, "张三丰", tags=int(Tag.PREGNANT | Tag.BEDRIDDEN)
    )
    w = World(tree=tree, resident=resident)
    for role in Role:
        if role == Role.RESIDENT:
            w.users[role] = factories.make_user("as_resident", role, resident=resident)
        else:
            w.users[role] = factories.make_user(f"as_{role}", role, tree.community_a)
    for module in MODULES:
        arrange = getattr(module, "arrange", None)
        if arrange is not None:
            arrange(w)
    return w


def test_every_data_kind_has_probes_and_every_probe_a_kind():
    assert set(PROBES) == set(KINDS), "add probes in <app>/tests/sight.py for each sight()"


@pytest.mark.parametrize("code", KINDS)
def test_each_role_sees_exactly_its_row(world, code):
    """A role outside the row sees it by no way; a role inside sees it by at least one
    (a resident sees their household by its own pages, not the staff's search)."""
    kind = sight.get(code)
    wrong = []
    for role in Role:
        world.role = role
        seen_by = [how for how, look in PROBES[code].items() if look(world)]
        if role not in kind.roles and seen_by:
            wrong.append(f"{role} saw {code} by {', '.join(seen_by)}")
        if role in kind.roles and not seen_by:
            wrong.append(f"{role} may see {code} but did by no way")
    assert not wrong, "\n".join(wrong)


def test_docs_roles_md_is_the_current_table():
    written = (Path(settings.PROJECT_DIR) / "docs" / "roles.md").read_text(encoding="utf-8")
    assert written == sight.markdown_table(), (
        "run: fangkong permissions --sight --markdown > docs/roles.md"
    )


def test_a_kind_is_declared_once_and_named_by_its_app(db):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        sight.sight("people.roster", {Role.COMMAND}, "again")
    with pytest.raises(ImproperlyConfigured):
        sight.sight("nodot", {Role.COMMAND}, "unnamed")
    assert not sight.sees(None, "people.roster")
    assert not sight.sees(factories.make_user("nobody", Role.COMMAND), "no.such_kind")
