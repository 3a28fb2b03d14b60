"""POST /labs/results: a lab system's batch, idempotent, refused items named by index."""

import datetime as dt

import pytest
from django.utils import timezone

from fangkong.accounts.tests.helpers import API, api_as, error_of
from fangkong.core.models import AuditEvent
from fangkong.labs.models import Recall, ResultUpload, TubeResult

from .helpers import make_tube, people


@pytest.fixture
def tubes(tree, rnd, channel):
    make_tube(rnd, channel, "T1", people(tree.household_a1, 2))
    make_tube(rnd, channel, "T2", people(tree.household_a2, 2))


def _batch(*items):
    at = (timezone.localtime() - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    return {"results": [{"tube": t, "result": r, "tested_at": at} for t, r in items]}


def test_a_batch_goes_in_and_raises_recalls(lab, tubes):
    response = api_as(lab).post("/labs/results", _batch(("T1", "positive"), ("T2", "阴性")))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["recalls_raised"], body["rejected"]) == (2, 2, 0)
    assert Recall.objects.count() == 2
    assert ResultUpload.objects.get(pk=body["upload"]).source == "api"
    assert AuditEvent.objects.filter(event="labs.results_upload").count() == 1


def test_resending_a_batch_changes_nothing(lab, tubes):
    api = api_as(lab)
    api.post("/labs/results", _batch(("T1", "positive"), ("T2", "negative")))
    again = api.post("/labs/results", _batch(("T1", "positive"), ("T2", "negative"))).json()
    assert (again["created"], again["unchanged"], again["recalls_raised"]) == (0, 2, 0)
    assert TubeResult.objects.count() == 2 and Recall.objects.count() == 2


def test_refused_items_are_named_by_index_and_field(lab, tubes):
    body = (
        api_as(lab)
        .post("/labs/results", _batch(("T1", "negative"), ("NOPE", "negative"), ("T2", "maybe")))
        .json()
    )
    assert body["created"] == 1
    assert [(e["index"], e["field"], e["code"]) for e in body["errors"]] == [
        (2, "result", "invalid"),
        (1, "tube", "unknown_tube"),
    ]
    assert all(e["message"] and e["message_zh"] for e in body["errors"])


def test_a_correction_over_the_api_needs_a_reason(lab, tubes):
    api = api_as(lab)
    api.post("/labs/results", _batch(("T1", "negative")))
    refused = api.post("/labs/results", _batch(("T1", "positive"))).json()
    assert refused["errors"][0]["code"] == "differs"
    fixed = _batch(("T1", "positive"))
    fixed["results"][0]["reason"] = "复核阳性"
    assert api.post("/labs/results", fixed).json()["corrected"] == 1


def test_only_labs_may_post_results(worker_a, command_user, tubes):
    for user in (worker_a, command_user):
        response = api_as(user).post("/labs/results", _batch(("T1", "positive")))
        assert response.status_code == 403 and error_of(response)["code"] == "forbidden"
    assert not TubeResult.objects.exists()


def test_without_a_token_the_answer_is_401(client, tubes):
    response = client.post(
        f"{API}/labs/results", _batch(("T1", "positive")), content_type="application/json"
    )
    assert response.status_code == 401


def test_a_malformed_batch_is_422_in_the_error_shape(lab):
    response = api_as(lab).post("/labs/results", {"results": [{"tube": "T1"}]})
    assert response.status_code == 422 and error_of(response)["code"] == "invalid"
