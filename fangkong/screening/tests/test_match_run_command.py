"""`fangkong match_run CASE --pings FILE`: a match run for a case with its time-space
companions from a location-ping file on this machine (not only by upload); the file's
bad rows are kept on the run and named by row and field, never silently dropped."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fangkong.screening.models import MatchRun, TraceTask

from .conftest import at


def _pings(tmp_path, resident_a, resident_b):
    lines = ["person_id,lat,lon,at"]
    for minute in range(0, 45, 5):
        when = at(10, minute, day=21).isoformat()
        lines.append(f"{resident_a.id_hash},30.0001,120.0001,{when}")  # the case
        lines.append(f"{resident_b.id_hash},30.0002,120.0002,{when}")  # beside them: 40 min
    lines.append(f"{resident_b.id_hash},91,120.0,{at(10, 50, day=21).isoformat()}")  # row 20
    lines.append(f"{resident_b.id_hash},30.0,120.0,yesterday")  # row 21
    path = tmp_path / "pings.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_ping_file_on_this_machine_finds_companions_and_names_its_bad_rows(
    analytics, tmp_path, case_a, resident_a, resident_b, clock
):
    path = _pings(tmp_path, resident_a, resident_b)
    clock.move_to(at(9, 0, day=23), tick=False)
    out, err = StringIO(), StringIO()
    call_command("match_run", str(case_a.pk), "--pings", str(path), "--now", stdout=out, stderr=err)
    said = json.loads(out.getvalue())
    assert said["status"] == "done", said
    assert (said["companions"], said["tasks_created"]) == (1, 1)
    assert (said["pings_read"], said["pings_refused"]) == (18, 2)
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("pings.csv row 20 lat: 纬度") and "latitude" in lines[0]
    assert lines[1].startswith("pings.csv row 21 at: ")
    run = MatchRun.objects.get()
    assert [(p["row"], p["field"]) for p in run.pings_problems] == [(20, "lat"), (21, "at")]
    assert "纬度" in run.pings_problems[0]["zh"] and "latitude" in run.pings_problems[0]["en"]
    path.unlink()  # the run keeps its own copy
    task = TraceTask.objects.get()
    assert task.person.resident_id == resident_b.pk and task.category == "companion"
    assert task.deadline == at(11, 0, day=23)


def test_without_now_the_run_is_queued_and_the_api_shows_the_ping_problems(
    analytics, tmp_path, case_a, resident_a, resident_b, client_for, command_user, clock
):
    path = _pings(tmp_path, resident_a, resident_b)
    clock.move_to(at(9, 0, day=23), tick=False)
    out = StringIO()
    call_command("match_run", str(case_a.pk), "--pings", str(path), stdout=out, stderr=StringIO())
    run = MatchRun.objects.get(pk=json.loads(out.getvalue())["run"])
    assert run.status == "queued" and run.pings_file.endswith(f"run-{run.pk}.csv")
    from fangkong.screening.services import match_run_execute

    match_run_execute(run_id=run.pk)
    shown = client_for(command_user).get(f"/api/v1/screening/match-runs/{run.pk}").json()
    assert (shown["pings_rows"], shown["pings_refused"]) == (18, 2)
    assert [p["row"] for p in shown["pings_problems"]] == [20, 21]


def test_a_missing_ping_file_or_case_is_refused_with_no_run(analytics, tmp_path, case_a):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("match_run", str(case_a.pk), "--pings", str(tmp_path / "none.csv"))
    with pytest.raises(CommandError, match="no such case"):
        call_command("match_run", "999999")
    assert not MatchRun.objects.exists()
