"""The API twins of the call button, escalation acknowledgement and stocktake (issue 8,
§5): same services, same jurisdiction, the one error shape."""

import pytest

from fangkong.accounts.tests.helpers import api_as, error_of
from fangkong.core.models import AuditEvent
from fangkong.relief import services
from fangkong.relief.models import Escalation, Stock, StockMovement

from .conftest import ask

pytestmark = pytest.mark.django_db


def test_the_carrier_gets_the_contact_number_audited(asker, worker_a, volunteer, worker_b):
    need = ask(asker, "medicine").request
    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    assert api_as(worker_b).post(f"/relief/requests/{need.pk}/contact").status_code == 404
    r = api_as(volunteer).post(f"/relief/requests/{need.pk}/contact")
    assert r.status_code == 200, r.content
    assert r.json() == {"phone": "13800138000"} and "no-store" in r["Cache-Control"]
    assert AuditEvent.objects.filter(event="relief.contact_reveal").count() == 1


def test_an_escalation_is_acknowledged_in_its_community_only(asker, worker_a, worker_b):
    need = ask(asker, "medicine").request
    row = Escalation.objects.create(request=need, area_code=need.area_code, urgency="urgent")
    r = api_as(worker_b).post(f"/relief/escalations/{row.pk}/ack", {"note": "x"})
    assert r.status_code == 404
    error_of(r)
    r = api_as(worker_a).post(f"/relief/escalations/{row.pk}/ack", {"note": "已联系120"})
    assert r.status_code == 200 and r.json()["note"] == "已联系120"
    row.refresh_from_db()
    assert row.acknowledged_at is not None


def test_a_stocktake_over_the_api_needs_a_reason(tree, worker_a, worker_b):
    point = services.supply_point_create(actor=worker_a, area=tree.community_a, name="东风物资点")
    services.stock_receive(actor=worker_a, point=point, item="大米", quantity=20)
    stock = Stock.objects.get(point=point)
    url = f"/relief/stock/{stock.pk}/adjust"
    assert api_as(worker_b).post(url, {"counted": 1, "reason": "x"}).status_code == 404
    r = api_as(worker_a).post(url, {"counted": 18, "reason": "盘点少两袋"})
    assert r.status_code == 200 and r.json()["balance"] == 18
    assert StockMovement.objects.get(kind="adjust").quantity == -2
