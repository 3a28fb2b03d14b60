"""What the busy paths cost in statements, so a slow path cannot come back unseen: a
resident's ask and its retry, the queue's pages however many needs they show, and the
SLA watch in batches (each overdue need escalated once, its history and escalation
written set-based)."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fangkong.accounts.tests.helpers import api_as
from fangkong.areas.models import Household
from fangkong.core.actors import SYSTEM
from fangkong.core.models import Notification
from fangkong.relief import services
from fangkong.relief.models import Escalation, ReliefRequest, RequestEvent

from .conftest import SHANGHAI_DAY, ask, local

pytestmark = pytest.mark.django_db


def _statements(context) -> list[str]:
    """The statements that reached the database (savepoints are the test's transaction)."""
    return [
        q["sql"]
        for q in context.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))
    ]


def test_an_ask_reads_two_rows_and_a_retry_one(asker, held):
    api = api_as(asker)
    api.post("/relief/requests", {"client_id": "warm", "category": "other"})  # fills the cache
    body = {"client_id": uuid.uuid4().hex, "category": "medicine", "detail": "降压药"}
    with CaptureQueriesContext(connection) as made:
        assert api.post("/relief/requests", body).status_code == 201
    sql = _statements(made)
    # token, the submission, the resident; need, submission, history, audit; the address.
    assert len(sql) <= 8, sql
    assert not any(s.startswith(('SELECT "relief_category', 'SELECT "core_policy')) for s in sql)
    with CaptureQueriesContext(connection) as again:
        assert api.post("/relief/requests", body).json()["outcome"] == "repeat"
    assert len(_statements(again)) <= 2, _statements(again)  # the token and the submission


def test_a_category_a_community_adds_is_offered_at_once_while_held(asker, worker_a, tree, held):
    ask(asker, "groceries")  # the list is in memory now
    services.category_add(
        actor=worker_a, community=tree.community_a, code="baby_formula", name_zh="婴儿奶粉"
    )
    assert ask(asker, "baby_formula").request.category.area_code == tree.community_a.code


def _many(tree, count: int) -> None:
    first = Household.objects.filter(unit="9").count()
    houses = Household.objects.bulk_create(
        Household(building=tree.building_a1, area_code=tree.building_a1.code, unit="9", room=str(n))
        for n in range(first, first + count)
    )
    for house in houses:
        services.request_register(actor=SYSTEM, household=house.pk, category="groceries")


def test_the_queue_costs_the_same_for_few_needs_and_many(tree, street_user, client_for):
    _many(tree, 2)
    client = client_for(street_user)
    api = api_as(street_user)
    api.get("/relief/requests")  # the token's first use is noted (once a minute)
    with CaptureQueriesContext(connection) as few_page:
        client.get("/relief/queue/")
    with CaptureQueriesContext(connection) as few_api:
        api.get("/relief/requests")
    _many(tree, 20)
    with CaptureQueriesContext(connection) as many_page:
        page = client.get("/relief/queue/")
    with CaptureQueriesContext(connection) as many_api:
        items = api.get("/relief/requests").json()["items"]
    assert len(items) == 22 and "幸福小区1号楼9单元" in page.content.decode()
    assert len(many_page) == len(few_page) and len(many_api) == len(few_api)


def test_the_watch_escalates_in_batches_each_need_once(
    tree, asker, worker_a, street_user, command_user, clock
):
    clock.move_to(local(SHANGHAI_DAY, 9), tick=False)
    _many(tree, 4)
    ask(asker, "transport_dialysis")
    clock.move_to(local(SHANGHAI_DAY + dt.timedelta(days=1), 10), tick=False)
    result = services.sla_watch(actor=SYSTEM, batch=2)
    assert result.escalated == 5
    assert Escalation.objects.count() == 5
    assert ReliefRequest.objects.filter(escalated_at__isnull=True).count() == 0
    steps = RequestEvent.objects.filter(kind="escalated")
    assert steps.count() == 5
    critical = steps.get(request__kind="transport_dialysis")
    assert critical.detail == {"levels": ["street", "command"], "told": 2}
    assert critical.note == "street、command" and critical.actor_name == SYSTEM.username
    assert Escalation.objects.get(urgency="critical").levels == ["street", "command"]
    # One notification a person a batch; the community worker hears of the four normal ones.
    assert Notification.objects.filter(recipient=worker_a, kind="relief.escalation").exists()
    assert services.sla_watch(actor=SYSTEM).escalated == 0
