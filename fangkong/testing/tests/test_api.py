"""The testing API: uploads, sampler config, rounds, coverage, the not-yet-sampled,
door-to-door tasks; jurisdiction; load shedding."""

import json
import threading

import pytest

from fangkong.accounts.services import token_issue
from fangkong.core.actors import SYSTEM
from fangkong.factories import make_resident, make_user
from fangkong.people.codes import code_for, public_key_b64
from fangkong.testing import gate, services
from fangkong.testing.models import HomeSamplingTask, Sample

from .conftest import cid, new_barcode

pytestmark = pytest.mark.django_db

API = "/api/v1/testing"


@pytest.fixture
def bearer(client):
    def call(user):
        token = token_issue(actor=SYSTEM, user=user)
        return {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    return call


def _body(rnd, channel, residents, barcode=None, at="2026-11-23T08:01:02+08:00"):
    barcode = barcode or new_barcode()
    base = {"round": rnd.pk, "site": channel.site_id, "channel": channel.pk, "tube": barcode}
    events = [{"client_id": cid(), "type": "tube_open", "at": at, "pool_size": 10, **base}]
    events += [
        {"client_id": cid(), "type": "sample", "at": at, "code": code_for(r), **base}
        for r in residents
    ]
    events.append({"client_id": cid(), "type": "tube_seal", "at": at, **base})
    return {"device_id": "phone-7f3a", "events": events}


def _post(client, headers, body):
    return client.post(
        f"{API}/uploads", data=json.dumps(body), content_type="application/json", **headers
    )


def test_a_sampler_uploads_with_a_token_and_a_replay_answers_the_same(
    client, bearer, sampler, rnd, site_a, people_a
):
    headers = bearer(sampler)
    body = _body(rnd, site_a.channels.first(), people_a[:2])
    first = _post(client, headers, body)
    assert first.status_code == 200
    results = first.json()["results"]
    assert [r["status"] for r in results] == ["accepted"] * 4
    assert results[1]["resident"] == {"name": "张*丰", "id_masked": people_a[0].id_masked}
    assert "server_time" in first.json()
    again = _post(client, headers, body)
    assert again.json()["results"] == results
    assert Sample.objects.count() == 2


def test_a_refused_event_carries_both_languages(client, bearer, sampler, rnd, site_a, resident_a):
    body = _body(rnd, site_a.channels.first(), [resident_a])
    body["events"][1]["code"] = "FK1.bad.code"
    result = _post(client, bearer(sampler), body).json()["results"][1]
    assert result["status"] == "rejected" and result["code"] == "bad_code"
    assert result["message"] and result["message_zh"]


def test_a_malformed_upload_is_refused_whole(client, bearer, sampler, rnd):
    response = _post(client, bearer(sampler), {"events": [{"type": "sample"}]})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize("where", ["code", "device_id", "client_id"])
def test_a_nul_character_anywhere_in_an_upload_refuses_it_whole_naming_the_field(
    client, bearer, sampler, rnd, site_a, people_a, where
):
    body = _body(rnd, site_a.channels.first(), people_a[:2])
    if where == "device_id":
        body["device_id"] = "phone\x00"
    else:
        body["events"][2][where] += "\x00"
    response = _post(client, bearer(sampler), body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert "NUL" in error["message"]
    assert error["field"] == ("device_id" if where == "device_id" else f"events.2.{where}")
    assert not Sample.objects.exists()


def test_text_that_only_spells_a_nul_escape_is_not_refused(
    client, bearer, sampler, rnd, site_a, people_a
):
    body = _body(rnd, site_a.channels.first(), people_a[:1])
    body["device_id"] = "phone\\u0000"  # a backslash, then "u0000": no NUL in it
    response = _post(client, bearer(sampler), body)
    assert response.status_code == 200


def test_roles_that_do_not_sample_cannot_upload(client, bearer, volunteer, rnd, site_a, people_a):
    response = _post(client, bearer(volunteer), _body(rnd, site_a.channels.first(), people_a[:1]))
    assert response.status_code == 403
    assert _post(client, {}, _body(rnd, site_a.channels.first(), [])).status_code == 401


def test_a_sampler_cannot_upload_for_a_site_of_another_community(
    client, bearer, sampler, rnd, site_b, resident_b
):
    results = _post(client, bearer(sampler), _body(rnd, site_b.channels.first(), [resident_b]))
    assert {r["code"] for r in results.json()["results"]} == {"forbidden"}


def test_sampler_config_lists_the_rounds_sites_channels_and_the_key(
    client, bearer, sampler, rnd, site_a, site_b
):
    config = client.get(f"{API}/sampler-config", **bearer(sampler)).json()
    assert config["code_public_key"] == public_key_b64()
    (round_,) = config["rounds"]
    assert round_["id"] == rnd.pk and round_["pool_sizes"] == {
        "sealed": 1,
        "controlled": 10,
        "prevention": 20,
    }
    assert [s["id"] for s in round_["sites"]] == [site_a.pk]  # not B's site
    assert [c["name"] for c in round_["sites"][0]["channels"]] == ["1", "2"]
    assert round_["sites"][0]["pool_size"] == 20


def test_closed_sites_are_left_out_of_the_config(client, bearer, sampler, rnd, site_a, worker_a):
    services.site_set_status(actor=worker_a, site=site_a, status="closed", reason="收工")
    config = client.get(f"{API}/sampler-config", **bearer(sampler)).json()
    assert config["rounds"][0]["sites"] == []


def test_rounds_are_listed_for_those_they_touch(client, bearer, worker_a, rnd, command_user, tree):
    from .conftest import launch

    launch(command_user, tree.community_b, name="B only")
    names = [r["name"] for r in client.get(f"{API}/rounds", **bearer(worker_a)).json()]
    assert names == [rnd.name]


def test_coverage_by_area_and_grid(client, bearer, worker_a, tree, people_a, command_user):
    from fangkong.areas.services import grid_create

    from .conftest import launch

    rnd = launch(command_user, tree.street)
    grid = grid_create(
        actor=SYSTEM, community=tree.community_a, name="网格一", buildings=[tree.building_a1]
    )
    headers = bearer(worker_a)
    body = client.get(
        f"{API}/rounds/{rnd.pk}/coverage", {"area": tree.community_a.code}, **headers
    ).json()
    assert body["totals"] == {
        "expected": 5,
        "sampled": 0,
        "exempt": 0,
        "unsampled": 5,
        "percent": 0.0,
    }
    assert [r["code"] for r in body["rows"]] == [tree.compound_a.code]
    by_grid = client.get(f"{API}/rounds/{rnd.pk}/coverage", {"grid": grid.pk}, **headers).json()
    assert (
        by_grid["totals"]["expected"] == 5 and by_grid["rows"][0]["code"] == tree.building_a1.code
    )
    # Without a filter: the caller's own jurisdiction.
    mine = client.get(f"{API}/rounds/{rnd.pk}/coverage", **headers).json()
    assert mine["area"] == tree.community_a.code


def test_another_communitys_coverage_list_and_tasks_are_not_found(
    client, bearer, worker_a, tree, rnd, command_user
):
    from fangkong.areas.services import grid_create

    grid_b = grid_create(
        actor=SYSTEM, community=tree.community_b, name="网格B", buildings=[tree.building_b1]
    )
    headers = bearer(worker_a)
    url = f"{API}/rounds/{rnd.pk}"
    assert (
        client.get(f"{url}/coverage", {"area": tree.community_b.code}, **headers).status_code == 404
    )
    assert client.get(f"{url}/coverage", {"area": tree.street.code}, **headers).status_code == 404
    assert client.get(f"{url}/coverage", {"grid": grid_b.pk}, **headers).status_code == 404
    assert (
        client.get(f"{url}/unsampled", {"building": tree.building_b1.code}, **headers).status_code
        == 404
    )
    make_resident(tree.household_b1, "乙", tags=4)
    services.home_tasks_generate(actor=command_user, round=rnd)
    task_b = HomeSamplingTask.objects.get()
    assert client.get(f"{url}/home-tasks", **headers).json()["items"] == []
    response = client.post(
        f"{API}/home-tasks/{task_b.pk}/close",
        data=json.dumps({"tube": new_barcode()}),
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 404


def test_a_round_outside_the_jurisdiction_is_not_found(
    client, bearer, worker_a, tree, command_user
):
    from .conftest import launch

    only_b = launch(command_user, tree.community_b, name="B only")
    response = client.get(f"{API}/rounds/{only_b.pk}/coverage", **bearer(worker_a))
    assert response.status_code == 404


def test_unsampled_list_of_a_building(
    client, bearer, worker_a, sampler, tree, people_a, command_user, site_a
):
    from .conftest import launch

    rnd = launch(command_user, tree.street)
    _post(client, bearer(sampler), _body(rnd, site_a.channels.first(), people_a[:3]))
    page = client.get(
        f"{API}/rounds/{rnd.pk}/unsampled", {"building": tree.building_a1.code}, **bearer(worker_a)
    ).json()
    assert [r["id"] for r in page["items"]] == [p.pk for p in people_a[3:]]
    assert "*" in page["items"][0]["id_number_masked"]


def test_home_tasks_are_listed_and_closed_with_a_tube(client, bearer, worker_a, tree, command_user):
    from .conftest import launch

    person = make_resident(tree.household_a2, "卧床", tags=4)
    rnd = launch(command_user, tree.street)
    services.home_tasks_generate(actor=worker_a, round=rnd)
    headers = bearer(worker_a)
    (task,) = client.get(f"{API}/rounds/{rnd.pk}/home-tasks", **headers).json()["items"]
    assert task["kind"] == "bedridden" and task["resident"] == person.pk
    barcode = new_barcode()
    for _ in range(2):  # a double tap changes nothing
        response = client.post(
            f"{API}/home-tasks/{task['id']}/close",
            data=json.dumps({"tube": barcode}),
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 200 and response.json()["status"] == "done"
    assert Sample.objects.get().resident == person


def test_a_task_for_someone_isolated_at_home(client, bearer, worker_a, worker_b, tree, rnd):
    person = make_resident(tree.household_a1, "居家隔离")
    url = f"{API}/rounds/{rnd.pk}/home-tasks"
    body = json.dumps({"resident": person.pk, "note": "密接，居家7天"})
    made = client.post(url, data=body, content_type="application/json", **bearer(worker_a))
    assert made.status_code == 200 and made.json()["kind"] == "isolated"
    again = client.post(url, data=body, content_type="application/json", **bearer(worker_a))
    assert again.json()["id"] == made.json()["id"]
    other = client.post(url, data=body, content_type="application/json", **bearer(worker_b))
    assert other.status_code == 404


def test_uploads_are_refused_fast_with_retry_after_when_the_gate_is_full(
    client, bearer, sampler, rnd, site_a, people_a, monkeypatch
):
    full = gate.Gate(slots=1, queue=0, wait_seconds=0.01)
    monkeypatch.setattr(gate, "_gate", full)
    headers = bearer(sampler)
    with full.admit():  # another upload holds the only slot
        response = _post(client, headers, _body(rnd, site_a.channels.first(), people_a[:1]))
    assert response.status_code == 503
    assert 1 <= int(response["Retry-After"]) <= 10
    assert response.json()["error"]["code"] == "busy"
    assert not Sample.objects.exists()
    # Once the slot is free, the same upload goes in.
    response = _post(client, headers, _body(rnd, site_a.channels.first(), people_a[:1]))
    assert response.status_code == 200


def test_a_pressed_gate_asks_devices_for_a_pace_and_a_quiet_one_does_not(
    client, bearer, sampler, rnd, site_a, people_a, monkeypatch
):
    g = gate.Gate(slots=2, queue=4, wait_seconds=1, pace_s=30)
    monkeypatch.setattr(gate, "_gate", g)
    headers, channel = bearer(sampler), site_a.channels.first()
    quiet = _post(client, headers, _body(rnd, channel, people_a[:1]))
    assert quiet.status_code == 200 and "Upload-Pace" not in quiet
    with g.admit():  # another upload holds the other slot: this one takes the last
        pressed = _post(client, headers, _body(rnd, channel, people_a[1:2]))
    assert pressed.status_code == 200 and 15 <= int(pressed["Upload-Pace"]) <= 30
    assert Sample.objects.count() == 2
    g.pace_s = 0  # FANGKONG_INGEST_PACE_S=0: never
    with g.admit():
        assert "Upload-Pace" not in _post(client, headers, _body(rnd, channel, people_a[2:3]))


def test_the_gate_says_when_it_was_pressed():
    backlog = [0]
    g = gate.Gate(slots=2, queue=4, wait_seconds=1, backlog=lambda: backlog[0])
    with g.admit() as first:
        assert first is False
        with g.admit() as second:  # the last slot
            assert second is True
    with g.admit() as alone:
        assert alone is False
    backlog[0] = 1  # requests wait in the server's queue
    with g.admit() as queued:
        assert queued is True
    assert g.in_use == 0


def test_the_gate_admits_up_to_its_slots_and_queue_then_refuses():
    g = gate.Gate(slots=2, queue=1, wait_seconds=2)
    entered, release = threading.Barrier(3), threading.Event()

    def hold():
        with g.admit():
            entered.wait()
            release.wait()

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for t in holders:
        t.start()
    entered.wait()
    waiter_done = []
    waiter = threading.Thread(target=lambda: waiter_done.append(g.admit().__enter__()))
    waiter.start()
    while g.waiting == 0:  # the third waits in the queue ...
        pass
    with pytest.raises(gate.Overloaded), g.admit():  # ... the fourth is refused at once
        pass
    release.set()
    for t in holders:
        t.join()
    waiter.join()
    assert g.refused == 1


def test_the_gate_refuses_at_once_when_the_server_holds_a_queue():
    backlog = [0]
    g = gate.Gate(slots=1, queue=3, wait_seconds=5, backlog=lambda: backlog[0])
    with g.admit():
        backlog[0] = 3  # three requests wait for a thread: no point queueing behind them
        with pytest.raises(gate.Overloaded), g.admit():
            pass
    backlog[0] = 0
    with g.admit():  # a free slot is taken whatever the queue
        pass


def test_the_gate_finds_no_server_queue_outside_gunicorn():
    assert gate.server_backlog() is None


def test_the_gunicorn_configuration_hands_each_worker_s_queue_to_the_gate(monkeypatch):
    """deploy/gunicorn.conf.py's post_worker_init: the gate of a gthread worker reads
    how many accepted requests wait for a thread, and refuses at once past its queue."""
    import runpy
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path
    from types import SimpleNamespace

    from django.conf import settings

    monkeypatch.setattr(gate, "_backlog", None)
    monkeypatch.setattr(gate, "_gate", None)
    conf = runpy.run_path(str(Path(settings.PROJECT_DIR) / "deploy" / "gunicorn.conf.py"))
    pool, release = ThreadPoolExecutor(max_workers=1), threading.Event()
    try:
        conf["post_worker_init"](SimpleNamespace(tpool=pool))
        for _ in range(5):  # one request holds the only thread, four wait for it
            pool.submit(release.wait)
        assert gate.server_backlog()() == 4
        g = gate.upload_gate()
        assert g.backlog is gate.server_backlog()
        # The default two slots are taken, four requests wait: the queue is full.
        with g.admit(), g.admit(), pytest.raises(gate.Overloaded), g.admit():
            pass
    finally:
        release.set()
        pool.shutdown()
    conf["post_worker_init"](SimpleNamespace())  # another kind of worker: no queue to see
    assert gate.server_backlog() is None


def test_a_database_timeout_is_answered_with_503(
    client, bearer, sampler, rnd, site_a, people_a, monkeypatch
):
    from django.db import OperationalError

    def slow(**kwargs):
        raise OperationalError("canceling statement due to statement timeout")

    monkeypatch.setattr(services.ingest, "ingest", slow)
    response = _post(client, bearer(sampler), _body(rnd, site_a.channels.first(), people_a[:1]))
    assert response.status_code == 503 and response["Retry-After"]


def test_a_real_statement_timeout_on_postgresql_is_answered_with_503(
    client, bearer, sampler, rnd, site_a, people_a, monkeypatch
):
    """The upload path's own cursors raise the driver's errors: they must reach the
    service as Django's, or a timeout would be a 500 instead of a 503."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's statement_timeout")
    monkeypatch.setenv("FANGKONG_INGEST_STATEMENT_MS", "100")
    real = services.ingest._stored_results

    def slow(client_ids, before=(), **kwargs):
        services.ingest._run([*before, ("SELECT pg_sleep(1)", [])])  # after the timeouts
        return real(client_ids, **kwargs)

    monkeypatch.setattr(services.ingest, "_stored_results", slow)
    response = _post(client, bearer(sampler), _body(rnd, site_a.channels.first(), people_a[:1]))
    assert response.status_code == 503 and response["Retry-After"]
    assert not Sample.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_upload_on_postgresql_never_plans_a_sequential_scan(
    client, bearer, sampler, rnd, site_a, people_a, monkeypatch
):
    """A plan made while the round's tables were empty (a fresh database, a first round)
    scanned them whole for every upload while its connection lived: 175 million sample
    rows read in 20 seconds, 483 people a second (docs/benchmarks.md)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner")
    seen = {}
    real = services.ingest._stored_results

    def spy(client_ids, before=(), **kwargs):
        found = real(client_ids, before, **kwargs)
        with connection.cursor() as cursor:
            cursor.execute("SHOW enable_seqscan")
            seen["inside"] = cursor.fetchone()[0]
        return found

    monkeypatch.setattr(services.ingest, "_stored_results", spy)
    response = _post(client, bearer(sampler), _body(rnd, site_a.channels.first(), people_a[:1]))
    assert response.status_code == 200 and seen["inside"] == "off"
    with connection.cursor() as cursor:  # local to the upload's transaction
        cursor.execute("SHOW enable_seqscan")
        assert cursor.fetchone()[0] == "on"


def test_a_community_worker_uploads_too(client, bearer, tree, rnd, site_a, people_a):
    clerk = make_user("clerk", "community", tree.community_a)
    response = _post(client, bearer(clerk), _body(rnd, site_a.channels.first(), people_a[:1]))
    assert response.status_code == 200
