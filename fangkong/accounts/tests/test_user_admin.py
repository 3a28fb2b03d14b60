"""User administration services: each checks the actor's role and jurisdiction itself,
and every change is in the audit log; command-line actions name the OS user."""

import getpass

import pytest
from django.db import connections
from django.urls import reverse

from fangkong.accounts import services
from fangkong.accounts.models import ApiToken, User
from fangkong.accounts.tests.helpers import ApiClient
from fangkong.cli import main
from fangkong.core.actors import SYSTEM, System
from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.models import AuditEvent
from fangkong.factories import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "Dongfeng-Qiao-2022"


@pytest.fixture
def grid(worker_a, tree):
    return services.user_create(
        actor=worker_a,
        username="grid_a",
        password=PASSWORD,
        role="grid",
        areas=[tree.building_a1],
        display_name="王网格",
    )


def events(name):
    return list(AuditEvent.objects.filter(event=name).order_by("id"))


# Creating -----------------------------------------------------------------------------


def test_an_administrator_creates_roles_below_theirs_inside_their_area(grid, worker_a, tree):
    assert grid.role == "grid" and grid.scope_prefixes() == [tree.building_a1.code]
    (event,) = events("accounts.user_create")
    assert event.actor == worker_a and event.area_code == tree.building_a1.code
    assert event.detail == {"role": "grid", "areas": [tree.building_a1.code]}


@pytest.mark.parametrize(
    ("role", "area", "why"),
    [
        ("community", "community_a", "a peer"),
        ("street", "street", "a role above"),
        ("grid", "community_b", "another community"),
        ("grid", "street", "an area above"),
    ],
)
def test_creating_outside_ones_rank_or_area_is_refused(worker_a, tree, role, area, why):
    with pytest.raises(PermissionDenied):
        services.user_create(
            actor=worker_a,
            username="x",
            password=PASSWORD,
            role=role,
            areas=[getattr(tree, area)],
        )
    assert not User.objects.filter(username="x").exists(), why
    assert not events("accounts.user_create")


def test_roles_that_administer_nobody_cannot_create(tree):
    for role in ("grid", "building", "worker", "sampler", "lab", "inspector", "resident"):
        actor = make_user(f"a_{role}", role, tree.community_a)
        with pytest.raises(PermissionDenied):
            services.user_create(
                actor=actor, username="x", password=None, role="resident", areas=[tree.building_a1]
            )


def test_a_user_made_on_a_page_holds_an_area_and_a_free_name(worker_a, tree, grid):
    with pytest.raises(DomainError, match="at least one area"):
        services.user_create(actor=worker_a, username="y", password=None, role="grid")
    with pytest.raises(DomainError, match="taken"):
        services.user_create(
            actor=worker_a, username="grid_a", password=None, role="grid", areas=[tree.building_a1]
        )


# Changing --------------------------------------------------------------------------------


def test_role_and_name_changes_are_audited_with_before_and_after(worker_a, grid):
    assert services.user_update(actor=worker_a, user=grid, role="building", display_name="王楼长")
    grid.refresh_from_db()
    assert (grid.role, grid.display_name) == ("building", "王楼长")
    (event,) = events("accounts.user_update")
    assert event.detail == {"role": ["grid", "building"], "display_name": ["王网格", "王楼长"]}
    assert services.user_update(actor=worker_a, user=grid, display_name="王楼长") == []
    assert len(events("accounts.user_update")) == 1  # nothing changed, nothing recorded


def test_nobody_raises_a_user_to_their_own_rank_or_changes_one_outside(
    worker_a, worker_b, street_user, grid
):
    with pytest.raises(PermissionDenied):  # to a peer of the actor
        services.user_update(actor=worker_a, user=grid, role="community")
    with pytest.raises(PermissionDenied):  # another community's worker
        services.user_update(actor=worker_b, user=grid, display_name="x")
    with pytest.raises(PermissionDenied):  # a peer of one's own
        services.user_update(actor=worker_a, user=worker_a, role="grid")
    services.user_update(actor=street_user, user=grid, role="community")
    with pytest.raises(PermissionDenied):  # now a community worker: above grid, beside worker_a
        services.user_update(actor=worker_a, user=grid, display_name="x")


def test_areas_move_only_inside_the_actors_jurisdiction(worker_a, street_user, tree, grid):
    assert services.user_set_areas(actor=worker_a, user=grid, areas=[tree.building_a2])
    assert User.objects.get(pk=grid.pk).scope_prefixes() == [tree.building_a2.code]
    (event,) = events("accounts.user_set_areas")
    assert event.detail == {"from": [tree.building_a1.code], "to": [tree.building_a2.code]}
    for areas in ([tree.community_b], [tree.building_a1, tree.building_b1], [tree.street]):
        with pytest.raises(PermissionDenied):
            services.user_set_areas(actor=worker_a, user=grid, areas=areas)
    with pytest.raises(DomainError):
        services.user_set_areas(actor=worker_a, user=grid, areas=[])
    # A street office widens the grid worker across both communities; then the
    # community worker no longer holds all the user holds, and may not touch them.
    services.user_set_areas(
        actor=street_user, user=grid, areas=[tree.building_a1, tree.building_b1]
    )
    with pytest.raises(PermissionDenied):
        services.user_set_areas(actor=worker_a, user=grid, areas=[tree.building_a1])
    assert not services.user_set_areas(
        actor=street_user, user=grid, areas=[tree.building_b1, tree.building_a1]
    )


# Disabling -------------------------------------------------------------------------------


def test_disabling_needs_a_reason_and_ends_sessions_and_tokens_at_once(client, worker_a, grid):
    key = services.token_issue(actor=worker_a, user=grid, name="phone")
    bearer = ApiClient(headers={"authorization": f"Bearer {key}"})
    client.force_login(grid)
    assert client.get(reverse("people:search")).status_code == 200
    with pytest.raises(DomainError) as refused:
        services.user_disable(actor=worker_a, user=grid, reason=" ")
    assert refused.value.field == "reason"
    services.user_disable(actor=worker_a, user=grid, reason="调离本社区")
    assert client.get(reverse("people:search")).status_code == 302  # to the login page
    assert bearer.get("/me").status_code == 401
    (event,) = events("accounts.user_disable")
    assert event.reason == "调离本社区" and event.actor == worker_a
    services.user_enable(actor=worker_a, user=grid, reason="返岗")
    assert bearer.get("/me").status_code == 200
    assert events("accounts.user_enable")[0].reason == "返岗"


def test_nobody_disables_themselves_or_someone_outside(worker_a, worker_b, grid):
    with pytest.raises(DomainError):
        services.user_disable(actor=worker_a, user=worker_a, reason="x")
    with pytest.raises(PermissionDenied):
        services.user_disable(actor=worker_b, user=grid, reason="x")
    assert User.objects.get(pk=grid.pk).is_active


# Tokens ----------------------------------------------------------------------------------


def test_tokens_are_made_and_revoked_by_their_user_or_administrator(worker_a, worker_b, grid):
    own = services.token_issue(actor=grid, user=grid, name="own")
    services.token_issue(actor=worker_a, user=grid, name="by admin")
    with pytest.raises(PermissionDenied):
        services.token_issue(actor=worker_b, user=grid)
    with pytest.raises(PermissionDenied):  # a grid worker administers nobody
        services.token_issue(actor=grid, user=worker_a)
    token = ApiToken.objects.get(key_hash=ApiToken.hash_key(own))
    with pytest.raises(PermissionDenied):
        services.token_revoke(actor=worker_b, token=token)
    services.token_revoke(actor=worker_a, token=token)
    services.token_revoke(actor=grid, token=token)  # again: nothing more happens
    assert [e.actor for e in events("accounts.token_revoke")] == [worker_a]
    assert len(events("accounts.token_issue")) == 2


def test_a_disabled_user_gets_no_new_token(worker_a, grid):
    services.user_disable(actor=worker_a, user=grid, reason="离职")
    with pytest.raises(DomainError):
        services.token_issue(actor=worker_a, user=grid)


# Who did it ------------------------------------------------------------------------------


def test_command_line_actions_name_the_operating_system_user(tree, monkeypatch):
    monkeypatch.setattr(connections, "close_all", lambda: None)  # see test_users.py
    main(["fangkong", "create-user", "zhao", "--role", "grid", "--password", PASSWORD])
    main(["fangkong", "token", "zhao", "--name", "tablet"])
    names = {e.event: e.actor_name for e in AuditEvent.objects.all()}
    who = f"cli:{getpass.getuser()}"
    assert names == {"accounts.user_create": who, "accounts.token_issue": who}
    assert AuditEvent.objects.filter(actor__isnull=True).count() == 2


def test_a_password_set_at_the_command_line_is_audited_as_the_os_user(tree, monkeypatch):
    monkeypatch.setattr(connections, "close_all", lambda: None)
    main(["fangkong", "create-user", "zhao", "--role", "grid", "--password", PASSWORD])
    main(["fangkong", "set-password", "zhao", "--password", "Xishan-Lu-2023-b"])
    assert User.objects.get(username="zhao").check_password("Xishan-Lu-2023-b")
    (event,) = events("accounts.user_set_password")
    assert event.actor_name == f"cli:{getpass.getuser()}" and event.detail == {"by": "admin"}


@pytest.mark.parametrize("command", ["changepassword", "createsuperuser"])
def test_djangos_unaudited_account_commands_are_refused(tree, command, capsys, monkeypatch):
    """They write users behind the services, so nothing would be in the audit log."""
    monkeypatch.setattr(connections, "close_all", lambda: None)
    make_user("zhao", "grid")
    with pytest.raises(SystemExit) as exit_:
        main(["fangkong", command, "zhao"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "审计" in err and "audit" in err
    assert User.objects.get(username="zhao").check_password("pw")
    assert not User.objects.filter(is_superuser=True).exists()


def test_the_system_acts_under_its_name_and_never_as_nobody(tree):
    services.user_create(actor=SYSTEM, username="a", password=None, role="grid")
    services.user_create(actor=System("cli:ops"), username="b", password=None, role="grid")
    assert [e.actor_name for e in events("accounts.user_create")] == ["system", "cli:ops"]
    with pytest.raises(TypeError):
        services.user_create(actor=None, username="c", password=None, role="grid")
