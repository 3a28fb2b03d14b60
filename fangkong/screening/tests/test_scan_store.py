"""The Parquet store of venue scans: batches, replays, bad rows, files, matching over it."""

import datetime as dt
import json

import pyarrow.parquet as pq
import pytest

from fangkong.core import idnumbers
from fangkong.core.errors import Conflict, DomainError
from fangkong.people.models import id_hash
from fangkong.screening.analytics.matching import CaseWindow, match_stored
from fangkong.screening.analytics.store import (
    ScanIn,
    person_key,
    scans_append,
    scans_import_file,
    stored_days,
)

SH = dt.timezone(dt.timedelta(hours=8))
ID_A = idnumbers.make_mainland("110101", dt.date(1980, 1, 1), 11)
ID_B = idnumbers.make_mainland("110101", dt.date(1990, 5, 6), 22)
KEY_A = person_key("ID", ID_A)
KEY_B = person_key("ID", ID_B)


def stored_rows(root):
    rows = []
    for path in sorted((root / "scans").glob("day=*/*.parquet")):
        day = path.parent.name.removeprefix("day=")
        rows += [(day, *r.values()) for r in pq.read_table(path).to_pylist()]
    return sorted(rows)


def test_the_person_key_is_the_residents_id_hash_and_never_the_number(analytics):
    assert id_hash("ID", ID_A) == KEY_A
    assert len(KEY_A) == 40 and ID_A not in KEY_A


def test_a_batch_is_stored_by_utc_day_and_a_replay_changes_nothing(analytics):
    scans = [
        ScanIn("V1", dt.datetime(2026, 11, 20, 7, 59, tzinfo=SH), id_number=ID_A),
        ScanIn("V2", dt.datetime(2026, 11, 20, 8, 0, tzinfo=SH), person_key=KEY_B),
    ]
    first = scans_append(client_id="pcs-1", scans=scans)
    assert (first.rows, first.bad_rows, first.replayed) == (2, 0, False)
    assert first.days == ["2026-11-19", "2026-11-20"]
    before = stored_rows(analytics)
    assert [(r[0], r[1], r[2]) for r in before] == [
        ("2026-11-19", KEY_A, "V1"),
        ("2026-11-20", KEY_B, "V2"),
    ]
    assert before[0][3] == dt.datetime(2026, 11, 19, 23, 59, tzinfo=dt.UTC)
    again = scans_append(client_id="pcs-1", scans=list(reversed(scans)))
    assert again.replayed and again.rows == 2
    assert stored_rows(analytics) == before
    assert stored_days() == ["2026-11-19", "2026-11-20"]


def test_a_client_id_reused_for_other_scans_is_a_conflict(analytics):
    when = dt.datetime(2026, 11, 20, 10, tzinfo=SH)
    scans_append(client_id="pcs-2", scans=[ScanIn("V1", when, person_key=KEY_A)])
    with pytest.raises(Conflict):
        scans_append(client_id="pcs-2", scans=[ScanIn("V9", when, person_key=KEY_A)])


def test_a_batch_that_crashed_before_its_manifest_is_written_again_without_duplicates(analytics):
    when = dt.datetime(2026, 11, 20, 10, tzinfo=SH)
    scans = [ScanIn("V1", when, person_key=KEY_A)]
    scans_append(client_id="pcs-3", scans=scans)
    (manifest,) = (analytics / "scans" / "_batches").rglob("*.json")
    manifest.unlink()  # as if the process died after the files, before the manifest
    scans_append(client_id="pcs-3", scans=scans)
    assert len(stored_rows(analytics)) == 1


def test_bad_rows_of_a_batch_are_reported_by_row_and_field_and_the_rest_stored(analytics):
    when = dt.datetime(2026, 11, 20, 10, tzinfo=SH)
    outcome = scans_append(
        client_id="pcs-4",
        scans=[
            ScanIn("V1", when, person_key=KEY_A),
            ScanIn("", when, person_key=KEY_A),
            ScanIn("V1", when.replace(tzinfo=None), person_key=KEY_A),
            ScanIn("V1", when, id_number="110101198001010000"),
            ScanIn("V1", when, person_key=ID_A),  # a plain ID number is not a key
        ],
    )
    assert outcome.rows == 1 and outcome.bad_rows == 4
    assert [(p.row, p.field) for p in outcome.problems] == [
        (2, "venue_code"),
        (3, "scanned_at"),
        (4, "id_number"),
        (5, "person_key"),
    ]
    assert all(p.zh and p.en for p in outcome.problems)
    assert ID_A not in json.dumps([r[1] for r in stored_rows(analytics)])


def test_an_empty_client_id_is_refused(analytics):
    with pytest.raises(DomainError):
        scans_append(client_id=" ", scans=[])


def test_a_file_of_id_numbers_is_hashed_checked_and_imported_once(analytics, tmp_path):
    path = tmp_path / "scans.csv"
    path.write_text(
        "id_type,id_number,venue_code,scanned_at\n"
        f"ID,{ID_A},V1,2026-11-20T10:00:00+08:00\n"
        f",{ID_B},V2,2026-11-20 10:05:00\n"
        "ID,110101198001010000,V1,2026-11-20T10:00:00+08:00\n"
        f"ID,{ID_A},V1,yesterday\n",
        encoding="utf-8",
    )
    outcome = scans_import_file(path=path)
    assert (outcome.rows, outcome.bad_rows) == (2, 2)
    assert [(p.file, p.row, p.field) for p in outcome.problems] == [
        ("scans.csv", 4, "id_number"),
        ("scans.csv", 5, "scanned_at"),
    ]
    rows = sorted(stored_rows(analytics), key=lambda r: r[3])
    assert [(r[1], r[2], r[3]) for r in rows] == [
        (KEY_A, "V1", dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)),
        (KEY_B, "V2", dt.datetime(2026, 11, 20, 2, 5, tzinfo=dt.UTC)),  # read in Shanghai
    ]
    assert scans_import_file(path=path).replayed
    assert len(stored_rows(analytics)) == 2


def test_a_parquet_file_of_person_keys_is_imported(analytics, tmp_path):
    import pyarrow as pa

    path = tmp_path / "scans.parquet"
    table = pa.table(
        {
            "person_key": [KEY_A, "not-a-key", KEY_B],
            "venue_code": ["V1", "V1", None],
            "scanned_at": pa.array(
                [dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC)] * 3, pa.timestamp("us", tz="UTC")
            ),
        }
    )
    pq.write_table(table, path)
    outcome = scans_import_file(path=path, client_id="file-7")
    assert (outcome.rows, outcome.bad_rows) == (1, 2)
    assert [(p.row, p.field, p.code) for p in outcome.problems] == [
        (2, "person_key", "bad_key"),
        (3, "venue_code", "empty"),
    ]


def test_matching_reads_the_store_and_only_the_days_it_needs(analytics):
    def scan(key, venue, hour, minute=0, day=20):
        return ScanIn(
            venue, dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC), person_key=key
        )

    key_c = person_key("ID", idnumbers.make_mainland("110101", dt.date(2000, 2, 2), 33))
    scans_append(
        client_id="a",
        scans=[scan(KEY_A, "V1", 10), scan(KEY_B, "V1", 10, 20), scan(key_c, "V1", 10, 31)],
    )
    scans_append(client_id="b", scans=[scan(KEY_B, "V1", 10, 1, day=27)])
    cases = [
        CaseWindow(
            "C1",
            KEY_A,
            dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
            dt.datetime(2026, 11, 21, tzinfo=dt.UTC),
        )
    ]
    result = match_stored(cases=cases, margin_minutes=30)
    assert [(c.person_id, str(c.minutes_apart)) for c in result.contacts] == [(KEY_B, "20.00")]
    assert match_stored(cases=[], margin_minutes=30).contacts == []
