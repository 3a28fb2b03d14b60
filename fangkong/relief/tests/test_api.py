"""Relief over the JSON API: ask with a client id (a retry never duplicates), the steps
to confirmation, dispatch and batches, stock, numbers; bad input in one error shape."""

import pytest

from fangkong.accounts.tests.helpers import api_as, error_of
from fangkong.relief import services
from fangkong.relief.models import ReliefRequest, Stock, Submission

pytestmark = pytest.mark.django_db


def test_a_resident_asks_and_a_retry_changes_nothing(asker):
    api = api_as(asker)
    body = {"client_id": "abc-1", "category": "medicine", "detail": "降压药"}
    first = api.post("/relief/requests", body)
    assert first.status_code == 201, first.content
    need = first.json()["need"]
    assert first.json()["outcome"] == "created" and need["status"] == "open"
    assert len(need["confirm_code"]) == 6 and need["contact_phone_masked"] == "138****8000"
    again = api.post("/relief/requests", body)
    assert again.status_code == 200 and again.json()["outcome"] == "repeat"
    assert again.json()["need"]["id"] == need["id"]
    merged = api.post("/relief/requests", {**body, "client_id": "abc-2"})
    assert merged.json()["outcome"] == "merged" and "已合并" in merged.json()["message_zh"]
    assert ReliefRequest.objects.count() == 1 and Submission.objects.count() == 2


def test_from_ask_to_delivery_over_the_api(asker, worker_a, volunteer):
    need = (
        api_as(asker)
        .post("/relief/requests", {"client_id": "x1", "category": "groceries"})
        .json()["need"]
    )
    staff = api_as(worker_a)
    queue = staff.get("/relief/requests").json()
    assert [n["id"] for n in queue["items"]] == [need["id"]]
    assert queue["items"][0]["confirm_code"] is None  # staff never see the code
    suggested = staff.get(f"/relief/requests/{need['id']}/suggestions").json()
    assert volunteer.pk in [s["user_id"] for s in suggested]
    sent = staff.post(f"/relief/requests/{need['id']}/dispatch", {"assignee": volunteer.pk})
    assert sent.status_code == 200 and sent.json()["status"] == "assigned"
    vol = api_as(volunteer)
    assert [t["id"] for t in vol.get("/relief/tasks").json()] == [need["id"]]
    assert (
        vol.post(f"/relief/requests/{need['id']}/status", {"action": "accept"}).json()["status"]
        == "accepted"
    )
    wrong = vol.post(
        f"/relief/requests/{need['id']}/status",
        {"action": "deliver", "code": "999999" if need["confirm_code"] != "999999" else "888888"},
    )
    assert wrong.status_code == 400 and error_of(wrong)["field"] == "code"
    done = vol.post(
        f"/relief/requests/{need['id']}/status", {"action": "deliver", "code": need["confirm_code"]}
    )
    assert done.status_code == 200 and done.json()["status"] == "confirmed"
    history = api_as(asker).get(f"/relief/requests/{need['id']}/history").json()
    assert [e["kind"] for e in history] == ["registered", "dispatched", "accepted", "delivered"]


def test_bad_input_names_the_field_in_both_languages(asker, worker_a, tree):
    api = api_as(asker)
    for body, field in [
        ({"client_id": "b1", "category": "caviar"}, "category"),
        ({"client_id": "b2", "category": "meals", "household": tree.household_b1.pk}, "household"),
        ({"client_id": "bad id!", "category": "meals"}, "client_id"),
        ({"client_id": "b3", "category": "meals", "urgency": "someday"}, "urgency"),
    ]:
        response = api.post("/relief/requests", body)
        assert response.status_code in (400, 403, 422), body
        error = error_of(response)
        assert error["field"] == field and error["message_zh"] and error["message"], error
    staff = api_as(worker_a)
    response = staff.post(
        "/relief/requests", {"client_id": "s1", "category": "meals", "household": 10**9}
    )
    assert response.status_code == 404 and error_of(response)["field"] == "household"
    assert ReliefRequest.objects.count() == 0


def test_batch_dispatch_over_the_api_is_all_or_nothing(worker_a, volunteer, tree, asker):
    a = services.request_register(actor=asker, category="groceries", client_id="1").request
    b = services.request_register(
        actor=worker_a, category="groceries", household=tree.household_a2, client_id="2"
    ).request
    services.request_cancel(actor=worker_a, request=b, reason="重复")
    staff = api_as(worker_a)
    refused = staff.post(
        "/relief/requests/dispatch-batch", {"requests": [a.pk, b.pk], "assignee": volunteer.pk}
    )
    assert refused.status_code == 400 and f"#{b.pk}" in error_of(refused)["message_zh"]
    assert not ReliefRequest.objects.filter(assignee=volunteer).exists()
    ok = staff.post(
        "/relief/requests/dispatch-batch", {"requests": [a.pk], "assignee": volunteer.pk}
    )
    assert ok.json()["size"] == 1


def test_stock_over_the_api_never_goes_negative(worker_a, tree):
    point = services.supply_point_create(actor=worker_a, area=tree.community_a, name="点")
    api = api_as(worker_a)
    got = api.post(
        f"/relief/supply-points/{point.pk}/stock",
        {"item": "米", "quantity": 3, "kind": "donation", "source": "企业"},
    )
    assert got.status_code == 200 and got.json()["balance"] == 3
    stock = Stock.objects.get()
    refused = api.post(f"/relief/stock/{stock.pk}/draw", {"quantity": 4})
    assert refused.status_code == 400 and "仅剩3" in error_of(refused)["message_zh"]
    assert api.post(f"/relief/stock/{stock.pk}/draw", {"quantity": 3}).json()["balance"] == 0
    listed = api.get("/relief/supply-points").json()
    assert listed[0]["stock"][0]["quantity"] == 0


def test_numbers_over_the_api(street_user, tree, asker):
    services.request_register(actor=asker, category="gas_cylinder", client_id="g")
    body = api_as(street_user).get(f"/relief/numbers/{tree.street.code}").json()
    assert body["registered"] == 1 and body["open_now"] == 1
    assert [r["code"] for r in body["by_area"]] == [tree.community_a.code]
