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
    # Each message names the row, the field and why, in Chinese and in English.
    assert first["problems"][0]["message_zh"] == "第 3 行「venue_code」：必填，不能为空"
    assert first["problems"][0]["message"] == "row 3, venue_code: is required"
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


def test_a_match_run_with_location_pings_raises_tasks_for_time_space_companions(
    analytics, client_for, command_user, case_a, resident_a, resident_b, tree, clock
):
    from fangkong.factories import make_resident
    from fangkong.screening.models import MatchContact

    far = make_resident(tree.household_b1, "远处的人")
    lines = ["person_id,lat,lon,at"]
    for minute in range(0, 45, 5):
        when = at(10, minute, day=21).isoformat()
        lines.append(f"{resident_a.id_hash},30.0001,120.0001,{when}")  # the case
        lines.append(f"{resident_b.id_hash},30.0002,120.0002,{when}")  # beside them: 40 min
        lines.append(f"{far.id_hash},31.5,121.5,{when}")  # another cell
    from django.core.files.uploadedfile import SimpleUploadedFile

    clock.move_to(at(9, 0, day=23), tick=False)
    r = client_for(command_user).post(
        "/api/v1/screening/match-runs/with-pings",
        {
            "case": case_a.pk,
            "file": SimpleUploadedFile("pings.csv", "\n".join(lines).encode(), "text/csv"),
        },
    )
    assert r.status_code == 200, r.content
    run = MatchRun.objects.get(pk=r.json()["id"])
    assert run.pings_file and run.companion_version >= 0
    from fangkong.screening.services import match_run_execute

    run = match_run_execute(run_id=run.pk)
    assert run.status == "done", run.error
    assert (run.contacts, run.companions, run.tasks_created) == (1, 1, 1)
    task = TraceTask.objects.get()
    assert task.person.resident_id == resident_b.pk
    assert (task.category, task.degree) == ("companion", 1)
    assert task.deadline == at(11, 0, day=23)
    why = task.evidence[0]
    assert why["companion"] and why["overlap_minutes"] == "40.00"
    assert "时空伴随" in task.reason and "companion" in task.reason
    contact = MatchContact.objects.get(run=run)
    assert (contact.category, contact.venue_code) == ("companion", "")


def test_a_venue_contact_who_is_also_a_companion_stays_a_close_contact(
    analytics, command_user, case_a, resident_a, resident_b, clock, tmp_path
):
    services.scans_receive(
        actor=command_user,
        client_id="both",
        scans=[
            _store_scan("MARKET", at(11, 0, day=21), resident_a),
            _store_scan("MARKET", at(11, 20, day=21), resident_b),
        ],
    )
    lines = ["person_id,lat,lon,at"]
    for minute in range(0, 45, 5):
        when = at(10, minute, day=21).isoformat()
        lines += [f"{r.id_hash},30.0,120.0,{when}" for r in (resident_a, resident_b)]
    clock.move_to(at(9, 0, day=23), tick=False)
    run = services.match_run_start(
        actor=command_user, case_id=case_a.pk, pings="\n".join(lines).encode(), enqueue=False
    )
    run = services.match_run_execute(run_id=run.pk)
    assert (run.contacts, run.companions, run.tasks_created) == (1, 0, 1), run.error
    task = TraceTask.objects.get()
    assert task.category == "close"
    assert [bool(e.get("companion")) for e in task.evidence] == [False, True]
