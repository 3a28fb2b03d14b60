"""Ways to look at the testing app's data kinds (core/tests/test_roles_sight.py walks
them): a round over the street, a site in community A, a door-to-door task for the
world's resident."""

import datetime as dt
import json
import uuid

from django.test import Client

from fangkong.accounts.services import token_issue
from fangkong.core.actors import SYSTEM
from fangkong.testing import services

START = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC)  # 08:00 in Shanghai


def arrange(world):
    tree = world.tree
    rnd = services.round_launch(
        actor=SYSTEM,
        name="第一轮",
        areas=[tree.street],
        starts_at=START,
        deadline=START + dt.timedelta(hours=24),
    )
    site = services.site_create(actor=SYSTEM, area=tree.community_a, name="东风广场", channels=1)
    services.home_task_create(actor=SYSTEM, round=rnd, resident=world.resident, kind="bedridden")
    world.extra["testing"] = (rnd, site)


def home_tasks_api(world):
    rnd, _site = world.extra["testing"]
    response = world.api().get(f"/testing/rounds/{rnd.pk}/home-tasks")
    if response.status_code != 200:
        return False
    return any(t["resident_name"] == world.resident.name for t in response.json()["items"])


def scan_confirm_upload(world):
    """Sample the resident by their typed ID number: the answer confirms them, masked."""
    rnd, site = world.extra["testing"]
    event = {
        "client_id": uuid.uuid4().hex,
        "type": "sample",
        "at": "2026-11-23T17:59:00+08:00",
        "round": rnd.pk,
        "site": site.pk,
        "channel": site.channels.first().pk,
        "tube": f"T{uuid.uuid4().hex[:10]}",
        "id_type": "ID",
        "id_number": world.resident.id_number(),
    }
    token = token_issue(actor=SYSTEM, user=world.user)
    response = Client().post(
        "/api/v1/testing/uploads",
        data=json.dumps({"device_id": f"dev-{world.role}", "events": [event]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    if response.status_code != 200:
        return False
    (answer,) = response.json()["results"]
    return (answer.get("resident") or {}).get("id_masked") == world.resident.id_masked


PROBES = {
    "testing.home_tasks": {"API home tasks": home_tasks_api},
    "testing.scan_confirm": {"API upload": scan_confirm_upload},
}
