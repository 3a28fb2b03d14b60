"""Contacts on no roster (issue 11, items 1, 4 and 6): a visitor whose venue scans carry
their details (document number, name, phone) is registered by the roster's ID rules,
encrypted and masked, where they were found (the venue's area) when a match run finds
them, and gets a trace task there with its "2+6" deadline; one known by no detail is
kept by key and counted and listed for that community. Bad details are reported by row
and field (the scans still go in); replays change nothing."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from fangkong.core import pii
from fangkong.core.idnumbers import make_mainland
from fangkong.screening import selectors, services
from fangkong.screening.models import MatchRun, Person, ScanIdentity, TraceTask

from .conftest import at

# A traveller from Beijing: on no roster here.
VISITOR_ID = make_mainland("110101", dt.date(1990, 5, 17), 21)
STRANGER_KEY = "e" * 40  # on no roster, known by no detail


@pytest.fixture
def market(command_user, tree):
    """A market in community B (building B1)."""
    return services.venue_create(
        actor=command_user, area=tree.building_b1, name="菜市场", kind="market"
    )


def _batch(venue, resident_a, *, client_id="pcs-1", phone="139 0000 0009"):
    return {
        "client_id": client_id,
        "scans": [
            {
                "venue_code": venue.code,
                "scanned_at": at(11, 0, day=21).isoformat(),
                "person_key": resident_a.id_hash,  # the case
            },
            {
                "venue_code": venue.code,
                "scanned_at": at(11, 10, day=21).isoformat(),
                "id_number": VISITOR_ID,
                "name": "  赵 旅客 ",
                "phone": phone,
            },
            {
                "venue_code": venue.code,
                "scanned_at": at(11, 25, day=21).isoformat(),
                "person_key": STRANGER_KEY,
            },
        ],
    }


def _post(client, batch):
    return client.post("/api/v1/screening/scans", batch, content_type="application/json")


def _run(command_user, case_a):
    run = services.match_run_start(actor=command_user, case_id=case_a.pk, enqueue=False)
    run = services.match_run_execute(run_id=run.pk)
    assert run is not None and run.status == "done", run and run.error
    return run


@pytest.mark.parametrize(
    ("now", "deadline"),
    [
        (at(10, 0, day=23), at(12, 0, day=23)),  # raised by day: two hours
        (at(22, 30, day=23), at(4, 30, day=24)),  # raised at night: six hours
    ],
)
def test_a_matched_visitor_on_no_roster_gets_a_task_where_they_scanned_in(
    analytics, client_for, command_user, case_a, resident_a, market, tree, clock, now, deadline
):
    r = _post(client_for(command_user), _batch(market, resident_a))
    assert r.status_code == 200 and r.json()["stored"] == 3, r.content
    kept = ScanIdentity.objects.get()
    assert (kept.name, kept.venue_code) == ("赵 旅客", market.code)
    assert pii.decrypt(kept.id_cipher) == VISITOR_ID and VISITOR_ID not in kept.id_masked
    clock.move_to(now, tick=False)
    run = _run(command_user, case_a)
    assert (run.contacts, run.tasks_created, run.registered, run.unknown) == (2, 1, 1, 1)
    person = Person.objects.get(found=True)
    # Registered by the roster's rules, where found: the market's building in community B.
    assert (person.name, person.area_code, person.resident_id) == (
        "赵 旅客",
        tree.building_b1.code,
        None,
    )
    assert person.id_number() == VISITOR_ID and person.phone() == "13900000009"
    assert person.id_masked == "1101**********" + VISITOR_ID[-4:]
    assert person.phone_masked != "13900000009" and person.phone_masked.endswith("0009")
    assert "菜市场" in person.found_note
    task = TraceTask.objects.get()
    assert (task.person_id, task.area_code, task.category) == (
        person.pk,
        tree.building_b1.code,
        "close",
    )
    assert task.deadline == deadline
    why = task.evidence[0]
    assert (why["venue"], why["minutes_apart"], why["case"]) == (market.code, "10.00", case_a.pk)


def test_a_found_visitors_task_and_the_unidentified_contact_stay_in_their_community(
    analytics, client_for, command_user, case_a, resident_a, market, worker_a, worker_b, clock
):
    assert _post(client_for(command_user), _batch(market, resident_a)).status_code == 200
    clock.move_to(at(10, 0, day=23), tick=False)
    _run(command_user, case_a)
    task = TraceTask.objects.get()
    # Community B (the market's) holds the task and the one known by no detail ...
    assert list(selectors.tasks_for(worker_b)) == [task]
    assert [m.person_key for m in selectors.unidentified_for(worker_b)] == [STRANGER_KEY]
    assert selectors.task_counts(worker_b).unidentified == 1
    b = client_for(worker_b)
    assert b.get(f"/api/v1/screening/tasks/{task.pk}").status_code == 200
    listed = b.get("/api/v1/screening/unidentified-contacts").json()["items"]
    assert [(m["person_key"], m["venue_code"], m["case"]) for m in listed] == [
        (STRANGER_KEY, market.code, case_a.pk)
    ]
    page = b.get("/screening/").content.decode()
    assert STRANGER_KEY in page
    # ... community A (the case's) reads neither, by list, by id, by page.
    a = client_for(worker_a)
    assert not selectors.tasks_for(worker_a).exists()
    assert a.get(f"/api/v1/screening/tasks/{task.pk}").status_code == 404
    assert a.get("/api/v1/screening/unidentified-contacts").json()["items"] == []
    assert a.get("/api/v1/screening/tasks").json()["items"] == []
    assert STRANGER_KEY not in a.get("/screening/").content.decode()
    assert selectors.task_counts(worker_a).unidentified == 0


def test_replays_change_nothing_and_a_second_run_merges(
    analytics, client_for, command_user, case_a, resident_a, market, clock
):
    c = client_for(command_user)
    batch = _batch(market, resident_a)
    assert _post(c, batch).status_code == 200
    kept = ScanIdentity.objects.get()
    clock.move_to(at(10, 0, day=23), tick=False)
    again = _post(c, batch).json()
    assert again["replayed"] and again["stored"] == 3
    assert ScanIdentity.objects.get().updated_at == kept.updated_at
    # Other details under the same client id are another batch: refused.
    assert _post(c, _batch(market, resident_a, phone="13900000008")).status_code == 409
    first = _run(command_user, case_a)
    task = TraceTask.objects.get()
    second = _run(command_user, case_a)
    assert (second.tasks_created, second.tasks_merged, second.registered) == (0, 1, 0)
    assert Person.objects.filter(found=True).count() == 1
    assert TraceTask.objects.get().pk == task.pk
    assert [e["run"] for e in TraceTask.objects.get().evidence] == [first.pk, second.pk]
    assert MatchRun.objects.filter(unknown=1).count() == 2


def test_bad_details_are_named_by_row_and_field_and_the_scans_still_go_in(
    analytics, client_for, command_user, resident_a, market
):
    scan = {"venue_code": market.code, "scanned_at": at(11, 0, day=21).isoformat()}
    batch = {
        "client_id": "pcs-bad",
        "scans": [
            {**scan, "id_number": VISITOR_ID, "name": "赵旅客", "phone": "12345"},
            {**scan, "person_key": STRANGER_KEY, "name": "无证件"},
            {**scan, "id_number": VISITOR_ID, "phone": "13900000009"},
            {**scan, "id_number": VISITOR_ID, "name": "名" * 101},
            {**scan, "id_number": "110101199005170000", "name": "校验错"},
            {**scan, "id_number": VISITOR_ID, "name": "赵旅客"},
        ],
    }
    out = _post(client_for(command_user), batch).json()
    assert (out["stored"], out["refused"]) == (5, 1)
    assert [(p["row"], p["field"]) for p in out["problems"]] == [
        (1, "phone"),
        (2, "id_number"),
        (3, "name"),
        (4, "name"),
        (5, "id_number"),
    ]
    first = out["problems"][0]
    assert first["message_zh"].startswith("第 1 行「phone」：")
    assert "扫码已保存" in first["message_zh"] and "the scan is stored" in first["message"]
    assert "document number" in out["problems"][1]["message"]
    # Only the good row's details are kept.
    assert ScanIdentity.objects.get().name == "赵旅客"


def test_a_file_of_scans_may_carry_details_too(analytics, tmp_path, command_user, market, db):
    path = tmp_path / "scans.csv"
    path.write_text(
        "id_number,name,phone,venue_code,scanned_at\n"
        f"{VISITOR_ID},赵旅客,13900000009,{market.code},2026-11-21T11:10:00+08:00\n"
        f"{make_mainland('110101', dt.date(1991, 1, 1), 33)},钱旅客,call me,{market.code},"
        "2026-11-21T11:12:00+08:00\n"
        f"{make_mainland('110101', dt.date(1992, 2, 2), 45)},,,{market.code},"
        "2026-11-21T11:13:00+08:00\n"
    )
    out, err = StringIO(), StringIO()
    call_command("import_scans", str(path), stdout=out, stderr=err)
    assert '"stored": 3' in out.getvalue() and '"refused": 0' in out.getvalue()
    assert "row 3" in err.getvalue() and "phone" in err.getvalue()
    kept = ScanIdentity.objects.get()
    assert (kept.name, kept.phone_masked[-4:]) == ("赵旅客", "0009")
    stamp = kept.updated_at
    call_command("import_scans", str(path), stdout=StringIO(), stderr=StringIO())
    assert ScanIdentity.objects.get().updated_at == stamp


def test_details_from_old_scans_are_forgotten_by_the_watch(
    analytics, client_for, command_user, resident_a, market, clock, monkeypatch
):
    assert _post(client_for(command_user), _batch(market, resident_a)).status_code == 200
    assert ScanIdentity.objects.count() == 1  # scanned 2026-11-21 11:10
    clock.move_to(at(11, 0, day=21) + dt.timedelta(days=28), tick=False)
    call_command("screening_watch", stdout=StringIO())
    assert ScanIdentity.objects.count() == 1  # 27 days 23 hours 50 minutes: kept
    monkeypatch.setenv("FANGKONG_SCAN_DETAILS_DAYS", "7")
    out = StringIO()
    call_command("screening_watch", stdout=out)
    assert not ScanIdentity.objects.exists() and "details of 1 people" in out.getvalue()
