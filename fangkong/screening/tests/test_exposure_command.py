"""`fangkong exposure-match`: files in, contacts.csv and a JSON line out, bad rows named."""

import csv
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

CASES = (
    "case_id,person_id,window_start,window_end\n"
    "C1,p1,2026-11-20T00:00:00+08:00,2026-11-21T00:00:00+08:00\n"
    "C2,p9,2026-11-20T00:00:00+08:00,2026-11-20T00:00:00+08:00\n"
)
SCANS = (
    "person_id,venue_code,scanned_at\n"
    "p1,V1,2026-11-20T10:00:00+08:00\n"
    "p2,V1,2026-11-20T10:30:00+08:00\n"  # exactly at the margin
    "p3,V1,2026-11-20T10:30:01+08:00\n"  # a second beyond it
    "p4,V1,2026-11-20 02:20:00Z\n"
    "p4,V1,2026-11-20 10:05\n"  # no offset: Shanghai, 02:05Z, the closer one
    "p1,V2,2026-11-20T12:00:00.250+08:00\n"
    "p5,V2,2026-11-20T12:00:00+08:00\n"
)


def run(tmp_path, scans=SCANS, cases=CASES, *args, scans_name="scans.csv"):
    (tmp_path / "cases.csv").write_text(cases, encoding="utf-8")
    scans_path = tmp_path / scans_name
    if isinstance(scans, str):
        scans_path.write_text(scans, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "exposure_match",
        "--scans",
        str(scans_path),
        "--cases",
        str(tmp_path / "cases.csv"),
        "--out",
        str(tmp_path / "contacts.csv"),
        *args,
        stdout=out,
        stderr=err,
    )
    with open(tmp_path / "contacts.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return rows, out.getvalue(), err.getvalue()


def test_contacts_csv_and_the_json_summary(analytics, tmp_path):
    rows, out, err = run(tmp_path)
    assert rows == [
        [
            "case_id",
            "person_id",
            "venue_code",
            "case_scanned_at",
            "contact_scanned_at",
            "minutes_apart",
        ],
        ["C1", "p2", "V1", "2026-11-20T02:00:00+00:00", "2026-11-20T02:30:00+00:00", "30.00"],
        ["C1", "p4", "V1", "2026-11-20T02:00:00+00:00", "2026-11-20T02:05:00+00:00", "5.00"],
        ["C1", "p5", "V2", "2026-11-20T04:00:00.250000+00:00", "2026-11-20T04:00:00+00:00", "0.00"],
    ]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary.pop("seconds") >= 0
    assert summary == {"cases": 2, "contacts": 3, "pairs": 3, "engine": "duckdb"}
    assert err == ""


def test_the_margin_can_be_changed(analytics, tmp_path):
    rows, out, _ = run(tmp_path, SCANS, CASES, "--margin-minutes", "5")
    assert [r[1] for r in rows[1:]] == ["p4", "p5"]
    assert json.loads(out.splitlines()[-1])["pairs"] == 2


def test_bad_rows_are_named_in_both_languages_and_the_rest_matched(analytics, tmp_path):
    scans = SCANS + "p6,,2026-11-20T10:00:00+08:00\np7,V1,10 o'clock\np8,V1\n"
    cases = CASES + "C3,p3,2026-11-22T00:00:00+08:00,2026-11-21T00:00:00+08:00\nC1,p2,,\n"
    rows, out, err = run(tmp_path, scans, cases)
    assert len(rows) == 4
    assert err.splitlines() == [
        "cases.csv 第 4 行 window_end：窗口结束早于开始 / cases.csv row 4, window_end: ends "
        "before the window starts",
        "cases.csv 第 5 行 window_start：必填，不能为空 / cases.csv row 5, window_start: is required",
        "cases.csv 第 5 行 window_end：必填，不能为空 / cases.csv row 5, window_end: is required",
        "scans.csv 第 9 行 venue_code：必填，不能为空 / scans.csv row 9, venue_code: is required",
        "scans.csv 第 10 行 scanned_at：不是 ISO 8601 时间（如 2026-11-20T10:00:00+08:00） / "
        "scans.csv row 10, scanned_at: is not an ISO 8601 time (such as 2026-11-20T10:00:00+08:00)",
        "scans.csv 第 11 行 scanned_at：列数不足 / scans.csv row 11, scanned_at: has too few columns",
    ]
    assert "cases.csv: 2 rows read, 2 left out" in out
    assert json.loads(out.splitlines()[-1])["cases"] == 2


def test_a_row_after_a_rejected_row_keeps_its_own_number(analytics, tmp_path):
    scans = "person_id,venue_code,scanned_at\np1,V1,2026-11-20T10:00:00+08:00,extra\np2,,x\n"
    _, _, err = run(tmp_path, scans, CASES)
    assert [line.split("：")[0] for line in err.splitlines()] == [
        "scans.csv 第 2 行",
        "scans.csv 第 3 行 venue_code",
        "scans.csv 第 3 行 scanned_at",
    ]


def test_a_file_without_a_required_column_is_refused_whole(analytics, tmp_path):
    with pytest.raises(CommandError, match="lacks the column.*scanned_at"):
        run(tmp_path, "person_id,venue_code,when\np1,V1,2026-11-20T10:00:00+08:00\n")


def test_an_unmatched_quote_refuses_the_file(analytics, tmp_path):
    scans = SCANS + 'p9,"V1,2026-11-20T10:00:00+08:00\n' + SCANS.split("\n", 1)[1]
    with pytest.raises(CommandError, match="unmatched quote"):
        run(tmp_path, scans)


def test_a_missing_file_is_refused(analytics, tmp_path):
    (tmp_path / "cases.csv").write_text(CASES)
    with pytest.raises(CommandError, match="does not exist"):
        call_command(
            "exposure_match",
            "--scans",
            str(tmp_path / "nope.csv"),
            "--cases",
            str(tmp_path / "cases.csv"),
            "--out",
            str(tmp_path / "o.csv"),
            stdout=io.StringIO(),
        )


def test_scans_from_parquet_with_timestamps_and_text(analytics, tmp_path):
    import datetime as dt

    table = pa.table(
        {
            "person_id": ["p1", "p2", "p3"],
            "venue_code": ["V1", "V1", "V1"],
            "scanned_at": pa.array(
                [
                    dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC),
                    dt.datetime(2026, 11, 20, 2, 10, tzinfo=dt.UTC),
                    None,
                ],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    pq.write_table(table, tmp_path / "scans.parquet")
    rows, out, err = run(tmp_path, None, CASES, scans_name="scans.parquet")
    assert [r[1] for r in rows[1:]] == ["p2"]
    assert (
        err.strip()
        == "scans.parquet 第 3 行 scanned_at：必填，不能为空 / scans.parquet row 3, scanned_at: is required"
    )


def test_second_degree_adds_its_columns(analytics, tmp_path):
    scans = SCANS + "p2,V3,2026-11-20T11:00:00+08:00\np6,V3,2026-11-20T11:01:00+08:00\n"
    rows, _, _ = run(tmp_path, scans, CASES, "--second-degree")
    assert rows[0][-2:] == ["degree", "via_person_id"]
    assert rows[-1][:3] + rows[-1][-2:] == ["C1", "p6", "V3", "2", "p2"]


def test_companions_from_a_ping_file(analytics, tmp_path):
    pings = tmp_path / "pings.csv"
    pings.write_text(
        "person_id,lat,lon,at\n"
        "p1,28.2000,112.9800,2026-11-20T10:00:00+08:00\n"
        "p1,28.2001,112.9801,2026-11-20T10:20:00+08:00\n"
        "q1,28.2002,112.9802,2026-11-20T10:05:00+08:00\n"
        "q1,28.2002,112.9802,2026-11-20T10:25:00+08:00\n"
        "q2,28.2002,112.9802,2026-11-20T10:05:00+08:00\n"
        "q2,28.2002,112.9802,2026-11-20T10:14:00+08:00\n"
        "q3,95,112.98,2026-11-20T10:05:00+08:00\n"
    )
    _, out, err = run(
        tmp_path, SCANS, CASES, "--pings", str(pings), "--companions-out", str(tmp_path / "c.csv")
    )
    with open(tmp_path / "c.csv") as f:
        companions = list(csv.reader(f))
    assert companions == [
        ["case_id", "person_id", "overlap_minutes", "first_together_at", "last_together_at"],
        ["C1", "q1", "15.00", "2026-11-20T02:05:00+00:00", "2026-11-20T02:20:00+00:00"],
    ]
    assert "pings.csv 第 8 行 lat" in err


def test_blank_lines_do_not_shift_the_rows_named(analytics, tmp_path):
    scans = "person_id,venue_code,scanned_at\n\np1,V1,2026-11-20T10:00:00+08:00\n\np2,,x\n"
    _, _, err = run(tmp_path, scans, CASES)
    assert err.splitlines()[0].startswith("scans.csv 第 5 行 venue_code")


def test_an_unknown_engine_is_refused(analytics, tmp_path):
    with pytest.raises(CommandError, match="engine"):
        run(tmp_path, SCANS, CASES, "--engine", "postgres")
