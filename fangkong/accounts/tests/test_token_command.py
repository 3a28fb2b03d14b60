"""`fangkong token USERNAME`: issue, list and revoke bearer tokens from the shell."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from fangkong.accounts.models import ApiToken
from fangkong.accounts.tests.helpers import ApiClient
from fangkong.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def token(*args) -> str:
    out = StringIO()
    call_command("token", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_prints_one_working_token_and_audits_it(worker_a):
    key = token("worker_a", "--name", "sampling phone 3")
    assert key.startswith("fk_") and "\n" not in key
    client = ApiClient(headers={"authorization": f"Bearer {key}"})
    assert client.get("/me").json()["username"] == "worker_a"
    event = AuditEvent.objects.get(event="accounts.token_issue")
    assert event.detail == {"user": "worker_a", "scope": "all", "days": 90}
    assert ApiToken.objects.get().name == "sampling phone 3"


def test_revoke_by_prefix_stops_the_token_and_audits_it(worker_a):
    key = token("worker_a")
    token("worker_a", "--revoke", key[:10])
    client = ApiClient(headers={"authorization": f"Bearer {key}"})
    assert client.get("/me").status_code == 401
    assert AuditEvent.objects.filter(event="accounts.token_revoke").count() == 1
    assert "revoked" in token("worker_a", "--list")


def test_revoke_needs_exactly_one_match(worker_a):
    token("worker_a")
    token("worker_a")
    with pytest.raises(CommandError, match="2 active tokens"):
        token("worker_a", "--revoke", "fk_")
    with pytest.raises(CommandError, match="0 active tokens"):
        token("worker_a", "--revoke", "fk_nothing")
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()


def test_another_users_prefix_revokes_nothing(worker_a, worker_b):
    key = token("worker_b")
    with pytest.raises(CommandError):
        token("worker_a", "--revoke", key[:10])


def test_unknown_or_inactive_user_is_refused(worker_a):
    with pytest.raises(CommandError, match="no user"):
        token("nobody")
    worker_a.is_active = False
    worker_a.save()
    with pytest.raises(CommandError, match="inactive"):
        token("worker_a")


def test_scope_and_days_are_set_listed_and_checked(worker_a, clock):
    clock.move_to("2026-11-23T10:00:00+00:00", tick=False)
    key = token("worker_a", "--scope", "upload", "--days", "7", "--name", "phone 3")
    made = ApiToken.objects.get()
    assert made.scope == "upload"
    assert made.expires_at.isoformat() == "2026-11-30T10:00:00+00:00"
    listed = token("worker_a", "--list")
    assert "upload" in listed and "until 2026-11-30 18:00" in listed
    client = ApiClient(headers={"authorization": f"Bearer {key}"})
    assert client.get("/me").status_code == 200
    clock.shift(7 * 86400)
    assert client.get("/me").status_code == 401
    assert "expired 2026-11-30 18:00" in token("worker_a", "--list")
    with pytest.raises(CommandError, match="1 to 366 days"):
        token("worker_a", "--days", "0")
