import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from fangkong.accounts.models import User
from fangkong.areas.services import grid_create
from fangkong.cli import main
from fangkong.core.actors import SYSTEM
from fangkong.core.models import AuditEvent
from fangkong.factories import make_user

pytestmark = pytest.mark.django_db


def test_scope_prefixes_drop_nested_areas(tree):
    user = make_user("two", "street", tree.street, tree.community_a)
    assert user.scope_prefixes() == [tree.street.code]
    assert user.may_see_area(tree.building_b1.code)
    assert not make_user("none", "community").scope_prefixes()


def test_grid_keepers_hold_their_buildings(tree):
    keeper = make_user("keeper", "grid")
    grid_create(
        actor=SYSTEM,
        community=tree.community_a,
        name="一网格",
        keeper=keeper,
        buildings=[tree.building_a2],
    )
    assert User.objects.get(pk=keeper.pk).scope_prefixes() == [tree.building_a2.code]


def test_create_user_command(tree, capsys):
    call_command(
        "create_user",
        "li",
        role="community",
        area=[tree.community_a.code],
        password="Dongfeng-2022",
    )
    user = User.objects.get(username="li")
    assert user.role == "community" and user.scope_prefixes() == [tree.community_a.code]
    assert AuditEvent.objects.filter(event="accounts.user_create", target_id=str(user.pk)).exists()
    with pytest.raises(CommandError, match="unknown area"):
        call_command(
            "create_user", "wang", role="community", area=["999999"], password="Dongfeng-2022"
        )


def test_cli_accepts_hyphenated_command_names(tree, capsys, monkeypatch):
    # A command run from argv closes every connection when done; on PostgreSQL that
    # would be this test's own, still inside its transaction.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    main(["fangkong", "create-user", "zhao", "--role", "grid", "--password", "Lingling-2022"])
    assert User.objects.filter(username="zhao", role="grid").exists()
