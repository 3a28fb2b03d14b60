"""The apps' declarations: menus, home pages, URLs, API routers and the permission
vocabulary are built from each app's AppConfig and permissions module."""

import pytest
from django.apps import apps
from django.urls import reverse

from fangkong.api import api
from fangkong.core import permissions
from fangkong.core.registry import FangkongApp, fangkong_apps, nav_entries
from fangkong.core.roles import Role
from fangkong.factories import make_user


def test_every_fangkong_app_is_registered_with_its_own_config():
    labels = [config.label for config in fangkong_apps()]
    assert labels[:6] == ["core", "accounts", "areas", "people", "testing", "labs"]
    assert all(isinstance(apps.get_app_config(label), FangkongApp) for label in labels)


def test_every_declared_api_prefix_is_mounted():
    mounted = {prefix.rstrip("/") for prefix, _router in api._routers if prefix}
    declared = {c.api_prefix.rstrip("/") for c in fangkong_apps() if c.api_prefix}
    assert declared and declared <= {"/" + p.strip("/") for p in mounted}


def test_every_menu_entry_resolves_and_names_a_declared_permission():
    for entry in nav_entries():
        assert reverse(entry.url_name)
        if isinstance(entry.permission, str):
            assert permissions.get(entry.permission)


def test_permission_codes_belong_to_the_app_that_declares_them():
    labels = {c.label for c in fangkong_apps()}
    assert all(p.code.split(".")[0] in labels for p in permissions.all_permissions())


def test_a_permission_cannot_be_declared_twice():
    with pytest.raises(Exception, match="declared twice"):
        permissions.permission("people.read_residents", {Role.COMMAND}, "again")


def test_has_perm_follows_the_role_not_the_superuser_flag(tree):
    boss = make_user("boss", "sampler", tree.district)
    boss.is_superuser = True
    assert boss.has_perm("testing.sample")
    assert not boss.has_perm("core.read_audit")
    assert not boss.has_perm("no.such_permission")


@pytest.mark.parametrize(
    ("role", "home"),
    [
        ("resident", "people:mine"),
        ("sampler", "testing:sampler"),
        ("community", "areas:browse"),
        ("command", "areas:browse"),
    ],
)
def test_each_role_lands_on_the_home_its_apps_declare(tree, client, role, home):
    user = make_user(f"u_{role}", role, *([tree.community_a] if role != "resident" else []))
    client.force_login(user)
    assert client.get(reverse("core:home"))["Location"] == reverse(home)


def test_the_menu_shows_only_what_the_role_may_open(tree, client):
    client.force_login(make_user("s", "sampler", tree.community_a))
    nav = client.get(reverse("testing:sampler")).context["nav"]
    assert [url for _label, url, current in nav if current] == [reverse("testing:sampler")]
    nav = [url for _label, url, _current in nav]
    assert reverse("testing:sampler") in nav
    assert reverse("core:audit") not in nav and reverse("labs:upload") not in nav


def test_docs_permissions_md_is_the_current_table():
    from pathlib import Path

    from django.conf import settings

    from fangkong.core.management.commands.permissions import markdown_table

    written = (Path(settings.PROJECT_DIR) / "docs" / "permissions.md").read_text(encoding="utf-8")
    assert written == markdown_table(), "run: fangkong permissions --markdown > docs/permissions.md"


def test_one_menu_entry_is_current_even_when_two_share_a_start(tree, client, command_user):
    client.force_login(command_user)
    nav = client.get(reverse("testing:sampler")).context["nav"]
    assert [url for _label, url, current in nav if current] == [reverse("testing:sampler")]
    assert reverse("testing:rounds") in [url for _label, url, _current in nav]
