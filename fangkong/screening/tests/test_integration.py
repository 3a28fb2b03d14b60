"""The app on the analytics core: venue-scan batches through the API into the Parquet
store (a replay changes nothing, bad rows reported by number and field), and a match run
for a case through the matcher into trace tasks with their evidence."""

import datetime as dt

from fangkong.accounts.services import token_issue
from fangkong.screening import services
from fangkong.screening.models import MatchRun, ScanBatch, ScanStage, TraceTask

from .conftest import at


def _scan(venue, when, *, resident=None, key="", number=""):
    return {
        "venue_code": venue,
        "scanned_at": when.isoformat(),
        "person_key": key or (resident.id_hash if resident else ""),
        "id_number": number,
    }


def test_a_scan_batch_goes_to_the_store_once_and_bad_rows_are_named(
    analytics, client_for, command_user, resident_a, resident_b
):
    c = client_for(command_user)
    batch = {
        "client_id": "place-code-0001",
        "scans": [
            _scan("V1", at(12, 0, day=22), resident=resident_a),
            _scan("V1", at(12, 5, day=22), number=resident_b.id_number()),
            _scan("", at(12, 6, day=22), resident=resident_b),  # no venue
            _scan("V1", at(12, 7, day=22), key="not-a-key"),
            {**_scan("V1", at(12, 8, day=22), resident=resident_b), "scanned_at": "昨天"},
        ],
    }
    first = c.post("/api/v1/screening/scans", batch, content_type="application/json").json()
    assert (first["stored"], first["refused"], first["replayed"]) == (2, 3, False)
    assert [(p["row"], p["field"]) for p in first["problems"]] == [
        (3, "venue_code"),
        (4, "person_key"),
        (5, "scanned_at"),
    ]
    assert first["problems"][0]["message_zh"]
    again = c.post("/api/v1/screening/scans", batch, content_type="application/json").json()
    assert again["replayed"] and again["stored"] == 2
    assert ScanBatch.objects.get().rows == 2
    changed = {**batch, "scans": batch["scans"][:1]}
    assert (
        c.post("/api/v1/screening/scans", changed, content_type="application/json").status_code
        == 409
    )
    assert ScanStage.objects.count() == 1  # acknowledged: staged in the database, once
    assert not list((analytics / "scans").glob("day=*"))
    assert services.scans_flush() == 2
    parts = sorted(p.name for p in (analytics / "scans").glob("day=*"))
    assert parts == ["day=2026-11-22"]
    assert not ScanStage.objects.exists() and services.scans_flush() == 0
    again = c.post("/api/v1/screening/scans", batch, content_type="application/json").json()
    assert again["replayed"] and again["stored"] == 2 and not ScanStage.objects.exists()


def test_only_the_place_code_account_sends_scans(analytics, client_for, worker_a):
    r = client_for(worker_a).post(
        "/api/v1/screening/scans", {"client_id": "x", "scans": []}, content_type="application/json"
    )
    assert r.status_code == 403


def test_a_match_run_finds_the_venue_contacts_of_a_case_and_raises_their_tasks(
    analytics,
    command_user,
    case_a,
    resident_a,
    resident_b,
    tree,
    worker_b,
    clock,
    django_capture_on_commit_callbacks,
):
    from fangkong.factories import make_resident

    far = make_resident(tree.household_b1, "远处的人")
    services.scans_receive(
        actor=command_user,
        client_id="b1",
        scans=[
            _store_scan("MARKET", at(11, 0, day=21), resident_a),  # the case, in its window
            _store_scan("MARKET", at(11, 20, day=21), resident_b),  # 20 min after: a contact
            _store_scan("MARKET", at(13, 0, day=21), far),  # two hours after: not
        ],
    )
    clock.move_to(at(9, 0, day=23), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.match_run_start(actor=command_user, case_id=case_a.pk, run_now=True)
    run = MatchRun.objects.get(pk=run.pk)
    assert run.status == "done", run.error
    assert (run.engine, run.contacts, run.tasks_created) == ("duckdb", 1, 1)
    task = TraceTask.objects.get()
    assert task.person.resident_id == resident_b.pk and task.category == "close"
    assert task.deadline == at(11, 0, day=23)  # raised 09:00 by day: two hours
    why = task.evidence[0]
    assert (why["venue"], why["minutes_apart"]) == ("MARKET", "20.00")


def _store_scan(venue, when, resident):
    from fangkong.screening.analytics.store import ScanIn

    return ScanIn(venue_code=venue, scanned_at=when, person_key=resident.id_hash)


def test_tokens_work_for_the_place_code_system(analytics, client, command_user):
    key = token_issue(actor=command_user, user=command_user, name="场所码系统")
    r = client.post(
        "/api/v1/screening/scans",
        {"client_id": "t-1", "scans": []},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert r.status_code == 200, r.content
    assert dt.datetime is not None


def test_a_file_of_scans_is_stored_once_by_the_command(analytics, tmp_path, resident_a, db):
    import json
    from io import StringIO

    from django.core.management import call_command

    path = tmp_path / "scans.csv"
    path.write_text(
        "person_key,venue_code,scanned_at\n"
        f"{resident_a.id_hash},V9,2026-11-21T10:00:00+08:00\n"
        f"{resident_a.id_hash},V9,not a time\n"
    )
    out, err = StringIO(), StringIO()
    call_command("import_scans", str(path), stdout=out, stderr=err)
    first = json.loads(out.getvalue())
    assert (first["stored"], first["refused"], first["replayed"]) == (1, 1, False)
    assert "row 3" in err.getvalue()
    out = StringIO()
    call_command("import_scans", str(path), stdout=out, stderr=StringIO())
    assert json.loads(out.getvalue())["replayed"] is True
    assert ScanBatch.objects.get().source == "file"
