"""The audit log over the API: the command centre's, filterable, paged."""

import pytest
from django.utils import timezone

from fangkong.accounts.tests.helpers import api_as, error_of
from fangkong.core.audit import audit_record
from fangkong.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(worker_a, worker_b, tree):
    # A reveal is recorded only with its reason (core.audit).
    for actor, building in ((worker_a, tree.building_a1), (worker_b, tree.building_b1)):
        audit_record(
            actor=actor, event="people.resident_reveal", area_code=building.code, reason="核对"
        )
    audit_record(
        actor=worker_a, event="areas.zone_declare", area_code=tree.community_a.code, reason="r"
    )


def _events(response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.content
    return [(e["actor"], e["event"]) for e in response.json()["items"]]


def test_command_centre_reads_the_log_newest_first(command_user, events):
    items = api_as(command_user).get("/audit/").json()["items"]
    # Issuing the command centre's own token is the newest event.
    assert [e["event"] for e in items] == [
        "accounts.token_issue",
        "areas.zone_declare",
        "people.resident_reveal",
        "people.resident_reveal",
    ]
    assert items[1]["reason"] == "r" and items[1]["area_code"] == "431102001001"


@pytest.mark.parametrize(
    "params, expected",
    [
        (
            {"event": "people.resident_"},
            [("worker_b", "people.resident_reveal"), ("worker_a", "people.resident_reveal")],
        ),
        ({"actor": "worker_b"}, [("worker_b", "people.resident_reveal")]),
        ({"area": "431102001001", "event": "areas.zone"}, [("worker_a", "areas.zone_declare")]),
        ({"area": "431102001002"}, [("worker_b", "people.resident_reveal")]),
    ],
)
def test_filters(command_user, events, params, expected):
    assert _events(api_as(command_user).get("/audit/", params)) == expected


def test_date_filters_are_local_days(command_user, events):
    api = api_as(command_user)
    today = timezone.localdate().isoformat()
    assert len(_events(api.get("/audit/", {"since": today, "until": today}))) == 4
    assert _events(api.get("/audit/", {"until": "2020-01-01"})) == []
    bad = api.get("/audit/", {"since": "yesterday"})
    assert bad.status_code == 422 and error_of(bad)["field"] == "since"


def test_pages_of_fifty(command_user):
    AuditEvent.objects.bulk_create(
        AuditEvent(event="core.policy_set", actor_name="s") for _ in range(60)
    )
    api = api_as(command_user)
    first, second = api.get("/audit/").json(), api.get("/audit/", {"page": 2}).json()
    assert (len(first["items"]), first["has_next"]) == (50, True)
    assert (len(second["items"]), second["has_next"]) == (11, False)


@pytest.mark.parametrize("persona", ["street_user", "worker_a", "volunteer"])
def test_others_may_not_read_the_log(request, events, persona):
    response = api_as(request.getfixturevalue(persona)).get("/audit/")
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
