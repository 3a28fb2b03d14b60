"""`fangkong allocate` on files: formats, messages, nothing written on bad input."""

import csv
import io
import json
import unicodedata

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.workforce.allocation import Seat, Worker, allocate, pair_cost
from fangkong.workforce.allocation.files import (
    BadInput,
    RowError,
    parse_seats,
    parse_workers,
    write_workers,
)

WORKERS = """worker_id,lat,lon,skills,hours_7d
w1,36.05,103.80,driving;medical,10
w2,36.06,103.81,,0
w3,36.20,103.95,driving,30
"""
SEATS = """seat_id,request_id,lat,lon,required_skill,preferred_skill
s1,r1,36.05,103.80,medical,
s2,r1,36.06,103.81,,driving
s3,r2,36.20,103.95,driving,
s4,r2,36.20,103.95,sign_language,
"""


def invoke(*args):
    """(stdout, stderr, CommandError or None) of `fangkong allocate *args`."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("allocate", *map(str, args), stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def files(tmp_path, workers=WORKERS, seats=SEATS, encoding="utf-8"):
    (tmp_path / "workers.csv").write_bytes(workers.encode(encoding))
    (tmp_path / "seats.csv").write_bytes(seats.encode(encoding))
    return (
        *("--workers", tmp_path / "workers.csv"),
        *("--seats", tmp_path / "seats.csv"),
        *("--out", tmp_path / "assignment.csv"),
    )


def run(tmp_path, workers=WORKERS, seats=SEATS, *args, encoding="utf-8"):
    out, err, error = invoke(*files(tmp_path, workers, seats, encoding), *args)
    if error is not None:
        raise error
    return out, err


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_the_assignment_and_the_last_line(tmp_path):
    out, _ = run(tmp_path, WORKERS, SEATS, "--unfilled", str(tmp_path / "unfilled.csv"))
    rows = read_csv(tmp_path / "assignment.csv")
    assert rows == [["seat_id", "worker_id"], ["s1", "w1"], ["s2", "w2"], ["s3", "w3"]]
    last = json.loads(out.strip().splitlines()[-1])
    assert set(last) == {"filled", "cost", "seconds"}
    assert last["filled"] == 3 and last["seconds"] >= 0
    # The exact cost of this assignment, from the input: w2 lacks the preferred driving.
    w = {
        "w1": Worker("w1", 36.05, 103.80, frozenset({"driving", "medical"}), 10),
        "w2": Worker("w2", 36.06, 103.81, frozenset(), 0),
        "w3": Worker("w3", 36.20, 103.95, frozenset({"driving"}), 30),
    }
    s1, s2, s3 = (
        Seat("s1", "r1", 36.05, 103.80, "medical"),
        Seat("s2", "r1", 36.06, 103.81, "", "driving"),
        Seat("s3", "r2", 36.20, 103.95, "driving"),
    )
    expected = pair_cost(w["w1"], s1) + pair_cost(w["w2"], s2) + pair_cost(w["w3"], s3)
    assert expected == pytest.approx(0.1 + 3 + 0.3)
    assert last["cost"] == pytest.approx(expected, abs=1e-6)
    assert read_csv(tmp_path / "unfilled.csv") == [
        ["seat_id", "reason", "with_skill", "candidates"],
        ["s4", "no_skill", "0", "0"],
    ]


def test_bom_spaces_columns_in_any_order_and_full_width_text(tmp_path):
    workers = "\ufeff hours_7d , worker_id ,lat,lon,skills,note\n 10 , w1 ,３６.05, 103.80 , medical ； driving ,x\n"
    seats = "\ufeffseat_id,request_id,lat,lon,required_skill,preferred_skill\n s1 ,r1, 36.05,103.80, medical ,\n"
    out, _ = run(tmp_path, workers, seats)
    assert read_csv(tmp_path / "assignment.csv") == [["seat_id", "worker_id"], ["s1", "w1"]]
    assert json.loads(out.splitlines()[-1])["cost"] == pytest.approx(0.1)


def test_gbk_files_from_excel_are_read(tmp_path):
    workers = "worker_id,lat,lon,skills,hours_7d\n张三,36.05,103.80,驾驶,0\n"
    seats = (
        "seat_id,request_id,lat,lon,required_skill,preferred_skill\n岗1,需求1,36.05,103.80,驾驶,\n"
    )
    run(tmp_path, workers, seats, encoding="gbk")
    assert read_csv(tmp_path / "assignment.csv")[1] == ["岗1", "张三"]


def test_bad_rows_stop_the_run_with_every_reason_and_write_nothing(tmp_path):
    workers = (
        WORKERS
        + "w4,95,103.8,,1\nw5,36.1,abc,,1\nw1,36.1,103.8,,1\nw6,36.1,103.8,,-2\n,36,103,,0\n"
    )
    seats = SEATS + "s5,,36.1,103.8,,\n"
    (tmp_path / "assignment.csv").write_text("old\n")
    with pytest.raises(CommandError, match="6 error"):
        run(tmp_path, workers, seats)
    assert (tmp_path / "assignment.csv").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "assignment.csv",
        "seats.csv",
        "workers.csv",
    ]


def test_each_message_names_file_row_field_and_reason_in_both_languages(tmp_path):
    _, err, error = invoke(*files(tmp_path, WORKERS + "w4,95,103.8,,1\nw1,36.1,103.8,,1\n"))
    assert error is not None
    assert err.strip().splitlines() == [
        "workers.csv 第5行 lat：应在-90到90之间：95 / workers.csv, row 5, lat: must be -90 to 90: 95",
        "workers.csv 第6行 worker_id：重复的编号 w1（第2行已有） / "
        "workers.csv, row 6, worker_id: duplicate id w1 (already on row 2)",
    ]


def test_skip_bad_rows_reports_them_and_allocates_the_rest(tmp_path):
    workers = WORKERS + "w4,36.1,103.8,,lots\n"
    seats = SEATS.replace("s2,r1", "s1,r1")
    out, err = run(tmp_path, workers, seats, "--skip-bad-rows")
    assert "row 5, hours_7d: not a number: 'lots'" in err
    assert "row 3, seat_id: duplicate id s1" in err and "skipped" in err
    rows = read_csv(tmp_path / "assignment.csv")
    assert [r[0] for r in rows[1:]] == ["s1", "s3"]
    assert "2 bad rows skipped" in out


def test_a_missing_file_is_named(tmp_path):
    args = files(tmp_path)
    _, err, error = invoke("--workers", tmp_path / "nope.csv", *args[2:])
    assert error is not None
    assert "nope.csv" in err and "cannot read the file" in err


def test_missing_columns_are_named(tmp_path):
    _, err, error = invoke(*files(tmp_path, WORKERS.replace("hours_7d", "hours"), "seat_id\n"))
    assert error is not None
    assert "workers.csv, row 1: missing column(s): hours_7d" in err
    assert "workers.csv 第1行：缺少列：hours_7d" in err


def test_an_output_in_a_missing_directory_is_refused(tmp_path):
    args = files(tmp_path)
    _, _, error = invoke(*args[:4], "--out", tmp_path / "no" / "a.csv")
    assert error is not None and "no such directory" in str(error)


def test_empty_inputs_and_only_unfilled_seats(tmp_path):
    out, _ = run(tmp_path, "worker_id,lat,lon,skills,hours_7d\n", SEATS)
    assert read_csv(tmp_path / "assignment.csv") == [["seat_id", "worker_id"]]
    assert json.loads(out.splitlines()[-1])["filled"] == 0


def test_the_command_and_the_solver_agree(tmp_path):
    out, _ = run(tmp_path)
    workers = [
        Worker("w1", 36.05, 103.80, frozenset({"driving", "medical"}), 10),
        Worker("w2", 36.06, 103.81, frozenset(), 0),
        Worker("w3", 36.20, 103.95, frozenset({"driving"}), 30),
    ]
    seats = [
        Seat("s1", "r1", 36.05, 103.80, "medical"),
        Seat("s2", "r1", 36.06, 103.81, "", "driving"),
        Seat("s3", "r2", 36.20, 103.95, "driving"),
        Seat("s4", "r2", 36.20, 103.95, "sign_language"),
    ]
    direct = allocate(workers, seats)
    assert json.loads(out.splitlines()[-1])["cost"] == pytest.approx(direct.cost, abs=1e-6)


names = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=8,
).filter(lambda t: t == t.strip() and ";" not in t and unicodedata.normalize("NFKC", t) == t)
workers_st = st.lists(
    st.builds(
        Worker,
        worker_id=names,
        lat=st.floats(-90, 90).map(lambda x: round(x, 6)),
        lon=st.floats(-180, 180).map(lambda x: round(x, 6)),
        skills=st.frozensets(names, max_size=3),
        hours_7d=st.floats(0, 168).map(lambda x: round(x, 1)),
    ),
    max_size=6,
    unique_by=lambda w: w.worker_id,
)


@settings(max_examples=60, deadline=None)
@given(workers_st)
def test_workers_written_are_read_back_the_same(tmp_path_factory, workers):
    path = tmp_path_factory.mktemp("rt") / "workers.csv"
    write_workers(path, workers)
    parsed = parse_workers(path.read_bytes())
    assert parsed.errors == [] and parsed.items == workers


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8")))
def test_any_bytes_give_rows_or_clear_errors(raw):
    for parse in (parse_workers, parse_seats):
        try:
            parsed = parse(
                b"worker_id,lat,lon,skills,hours_7d,seat_id,request_id,"
                b"required_skill,preferred_skill\n" + raw
            )
        except BadInput as exc:
            errors = exc.errors
        else:
            errors = parsed.errors
        for error in errors:
            assert isinstance(error, RowError) and error.zh and error.en and error.file
