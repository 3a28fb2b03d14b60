"""Logins: one person's typos lock only themselves; a name under attack is slowed, never
locked for long; the real client address is read from a trusted proxy only; every
password that is set passes Django's validators."""

import ipaddress
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import RequestFactory, override_settings
from django.urls import reverse

from fangkong.accounts import services
from fangkong.accounts.clientip import client_ip
from fangkong.accounts.models import User
from fangkong.core.actors import SYSTEM
from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.models import AuditEvent
from fangkong.factories import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "Dongfeng-Qiao-2022"
LOGIN = reverse("accounts:login")
PROXY = override_settings(
    CLIENT_IP_HEADER="X-Forwarded-For",
    TRUSTED_PROXIES=[ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.9.0.0/16")],
)


@pytest.fixture
def chief(tree):
    return services.user_create(
        actor=SYSTEM, username="chief", password=PASSWORD, role="command", areas=[tree.district]
    )


def attempt(client, username, password, **meta):
    return client.post(LOGIN, {"username": username, "password": password}, **meta)


def logged_in(response) -> bool:
    return response.status_code == 302


def test_the_limit_locks_the_name_on_that_address_only(client, chief, tree):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "chief", "wrong", REMOTE_ADDR="203.0.113.7").status_code == 200
    # The last failure allowed is answered with the lock, and so is the right password.
    assert attempt(client, "chief", "wrong", REMOTE_ADDR="203.0.113.7").status_code == 429
    locked = attempt(client, "chief", PASSWORD, REMOTE_ADDR="203.0.113.7")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "登录尝试过多" in page and "Too many login attempts" in page
    assert "15 分钟" in page and "for 15 minutes" in page
    # The owner at another address logs in; another user at the same address too.
    assert logged_in(attempt(client, "chief", PASSWORD, REMOTE_ADDR="198.51.100.2"))
    client.logout()
    services.user_create(actor=SYSTEM, username="li", password="Xishan-Road-88", role="community")
    assert logged_in(attempt(client, "li", "Xishan-Road-88", REMOTE_ADDR="203.0.113.7"))


def test_the_lock_ends_after_its_cool_off(client, chief, clock):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "chief", "wrong", REMOTE_ADDR="203.0.113.7")
    assert attempt(client, "chief", PASSWORD, REMOTE_ADDR="203.0.113.7").status_code == 429
    clock.shift(settings.AXES_COOLOFF_TIME.total_seconds() + 1)
    assert logged_in(attempt(client, "chief", PASSWORD, REMOTE_ADDR="203.0.113.7"))


@PROXY
def test_behind_the_proxy_each_client_counts_alone(client, chief):
    """All requests come from the proxy (127.0.0.1); the header tells clients apart."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "chief", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert attempt(client, "chief", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
    assert logged_in(attempt(client, "chief", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2"))


@PROXY
def test_a_client_that_writes_the_header_itself_is_not_believed(client, chief):
    """Straight to the server, not through a trusted proxy: a new header each attempt
    does not escape the lock."""
    for i in range(settings.AXES_FAILURE_LIMIT):
        attempt(
            client, "chief", "wrong", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"1.2.3.{i}"
        )
    response = attempt(
        client, "chief", PASSWORD, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="5.6.7.8"
    )
    assert response.status_code == 429


@pytest.mark.parametrize(
    ("remote", "header", "client"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),
        # Each proxy appends what it saw: the right-most untrusted hop is the client;
        # what the client wrote itself on the left is ignored.
        ("127.0.0.1", "6.6.6.6, 203.0.113.7, 10.9.1.1", "203.0.113.7"),
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "not-an-address", "127.0.0.1"),
        ("127.0.0.1", "2001:db8::1", "2001:db8::1"),
        ("198.51.100.9", "203.0.113.7", "198.51.100.9"),  # not from a trusted proxy
    ],
)
def test_client_address(remote, header, client):
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=header)
    with PROXY:
        assert client_ip(request) == client
    # Without a header configured, the connection's own address, whatever is sent.
    assert client_ip(request) == remote


@override_settings(LOGIN_NAME_FAILURE_LIMIT=5, LOGIN_NAME_WINDOW_S=60)
def test_a_name_tried_from_many_addresses_is_throttled_not_locked(client, chief, clock):
    clock.move_to("2026-11-23T10:00:00+00:00", tick=False)
    for i in range(5):  # one failure from each of five addresses: no pair is locked
        assert attempt(client, "chief", "wrong", REMOTE_ADDR=f"203.0.113.{i}").status_code == 200
    # Now even the right password, from a new address, waits: the guess is not checked.
    throttled = attempt(client, "chief", PASSWORD, REMOTE_ADDR="198.51.100.2")
    assert throttled.status_code == 429
    page = throttled.content.decode()
    assert "已暂停登录" in page and "Try again in 60 seconds" in page
    # Another name is not slowed.
    services.user_create(actor=SYSTEM, username="li", password="Xishan-Road-88", role="community")
    assert logged_in(attempt(client, "li", "Xishan-Road-88", REMOTE_ADDR="198.51.100.2"))
    client.logout()
    # The window ends and the owner logs in: nobody can hold the name for longer.
    clock.shift(61)
    assert logged_in(attempt(client, "chief", PASSWORD, REMOTE_ADDR="198.51.100.2"))


def test_the_throttle_is_by_name_whatever_its_case(client, chief, clock):
    with override_settings(LOGIN_NAME_FAILURE_LIMIT=2):
        attempt(client, "chief", "wrong", REMOTE_ADDR="203.0.113.1")
        attempt(client, "CHIEF ", "wrong", REMOTE_ADDR="203.0.113.2")
        assert attempt(client, "chief", PASSWORD, REMOTE_ADDR="203.0.113.3").status_code == 429


# Passwords -------------------------------------------------------------------------------


def test_settings_hold_the_four_validators():
    names = {v["NAME"].rsplit(".", 1)[1] for v in settings.AUTH_PASSWORD_VALIDATORS}
    assert names == {
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    }


@pytest.mark.parametrize(
    ("password", "zh", "en"),
    [
        ("Ab1-xyz", "太短", "too short"),
        ("password123", "太常见", "too common"),
        ("58203917465821", "全是数字", "entirely numeric"),
        ("zhangwei.dongfeng", "太相似", "too similar"),
    ],
)
def test_a_weak_password_is_refused_on_every_path(tree, worker_a, password, zh, en):
    with pytest.raises(DomainError) as refused:
        services.user_create(
            actor=SYSTEM, username="zhangwei.dongfeng", password=password, role="grid"
        )
    assert zh in refused.value.zh and en in refused.value.en
    assert refused.value.field == "password"
    assert not User.objects.filter(username="zhangwei.dongfeng").exists()
    # The command line says why and makes nobody.
    with pytest.raises(CommandError, match=en):
        call_command(
            "create_user", "zhangwei.dongfeng", role="grid", password=password, stdout=StringIO()
        )
    assert not User.objects.filter(username="zhangwei.dongfeng").exists()
    # Setting one later, by an administrator or oneself, is held to the same rules.
    grid = services.user_create(
        actor=worker_a,
        username="zhangwei.dongfeng",
        password=None,
        role="grid",
        areas=[tree.community_a],
    )
    for actor in (worker_a, grid, SYSTEM):
        with pytest.raises(DomainError, match=en):
            services.user_set_password(actor=actor, user=grid, password=password)
    assert not User.objects.get(pk=grid.pk).has_usable_password()


def test_setting_a_password_is_audited_without_it(worker_a, tree, client):
    grid = services.user_create(
        actor=worker_a, username="grid1", password=None, role="grid", areas=[tree.community_a]
    )
    services.user_set_password(actor=worker_a, user=grid, password=PASSWORD)
    assert logged_in(attempt(client, "grid1", PASSWORD))
    event = AuditEvent.objects.get(event="accounts.user_set_password")
    assert event.actor == worker_a and event.target_id == str(grid.pk)
    assert PASSWORD not in str(event.detail) + event.target_label


def test_only_an_administrator_above_and_over_the_user_may_set_their_password(
    tree, worker_a, worker_b, command_user
):
    grid = services.user_create(
        actor=worker_a, username="grid1", password=None, role="grid", areas=[tree.community_a]
    )
    volunteer = make_user("vol", "worker", tree.community_a)
    for actor in (worker_b, volunteer):  # another community; a role not above
        with pytest.raises(PermissionDenied):
            services.user_set_password(actor=actor, user=grid, password=PASSWORD)
    with pytest.raises(PermissionDenied):  # a peer, even in the same community
        services.user_set_password(
            actor=worker_a, user=make_user("peer", "community", tree.community_a), password=PASSWORD
        )
    services.user_set_password(actor=command_user, user=grid, password=PASSWORD)
