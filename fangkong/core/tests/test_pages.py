import pytest
from django.urls import reverse

from fangkong.core.actors import SYSTEM
from fangkong.core.audit import audit_record

pytestmark = pytest.mark.django_db


def test_login_page_is_chinese_by_default(client):
    page = client.get(reverse("accounts:login")).content.decode()
    assert 'lang="zh-hans"' in page


def test_english_can_be_chosen(client):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("accounts:login")).content.decode()
    assert 'lang="en"' in page


def test_pages_need_a_login(client, tree):
    for url in [reverse("areas:browse"), reverse("people:search"), reverse("core:audit")]:
        response = client.get(url)
        assert response.status_code == 302 and reverse("accounts:login") in response.url


def test_only_the_command_centre_reads_the_audit_log(client_for, worker_a, command_user):
    assert client_for(worker_a).get(reverse("core:audit")).status_code == 403
    audit_record(
        actor=worker_a,
        event="people.resident_reveal",
        target_label="张三",
        area_code="431102001001",
        reason="核对",
    )
    audit_record(
        actor=worker_a,
        event="people.roster_export",
        target_label="东风社区",
        area_code="431102001001",
    )
    client = client_for(command_user)
    page = client.get(reverse("core:audit"), {"event": "people.resident_"}).content.decode()
    assert "<code>people.resident_reveal</code>" in page
    assert "<code>people.roster_export</code>" not in page
    assert "查看完整号码" in page  # the event's label, in Chinese
    page = client.get(reverse("core:audit"), {"actor": "nobody"}).content.decode()
    assert "<code>people.resident_reveal</code>" not in page
    # A malformed date is ignored, not a crash.
    assert client.get(reverse("core:audit"), {"since": "2026-13-45"}).status_code == 200


def test_healthz(client):
    assert client.get(reverse("core:healthz")).content == b"ok"


def test_security_headers(client):
    response = client.get(reverse("accounts:login"))
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_the_audit_log_is_cut_to_the_readers_jurisdiction(client_for, tree):
    from fangkong.factories import make_user

    street_chief = make_user("chief", "command", tree.community_a)
    audit_record(
        actor=SYSTEM, event="areas.zone_declare", target_label="甲", area_code=tree.community_a.code
    )
    audit_record(
        actor=SYSTEM, event="areas.zone_declare", target_label="乙", area_code=tree.community_b.code
    )
    audit_record(actor=SYSTEM, event="accounts.token_issue", target_label="丙")
    page = client_for(street_chief).get(reverse("core:audit")).content.decode()
    assert "<td>甲</td>" in page and "<td>丙</td>" in page
    assert "<td>乙</td>" not in page


def test_a_nul_character_is_refused_not_a_server_error(client_for, worker_a):
    client = client_for(worker_a)
    response = client.get(reverse("people:search") + "?q=%00")
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    response = client.post(reverse("people:import"), {"area": "\x00"})
    assert response.status_code == 400
