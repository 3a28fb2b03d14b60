"""The same queries on Apache Spark (local mode) give the same answers as DuckDB.

Slow (a JVM starts once for the module): marked `spark`, left out of `make test`, run by
`make test-spark` and CI. Skipped, with the reason, where pyspark or Java is missing.
"""

import io
import json
import random
import shutil

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.spark

MINUTE = 60_000_000
T0 = 1_795_140_000_000_000
MASTER = "local[2]"


@pytest.fixture(scope="module", autouse=True)
def spark_available():
    pytest.importorskip("pyspark", reason="pyspark is not installed: pip install -e '.[spark]'")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17 (java is not on PATH)")


def city(seed: int, scans: int = 3000):
    """A small random city: 300 people, 20 venues, scans over two days, 8 cases."""
    rng = random.Random(seed)
    people = [f"p{i:03d}" for i in range(300)]
    rows = [
        (rng.choice(people), f"V{rng.randrange(20):02d}", T0 + rng.randrange(2 * 24 * 60) * MINUTE)
        for _ in range(scans)
    ]
    cases = []
    for i in range(8):
        start = T0 + rng.randrange(24 * 60) * MINUTE
        person = rng.choice(people[:40] if i % 2 else people)
        cases.append((f"C{i}", person, start, start + rng.randrange(60, 24 * 60) * MINUTE))
    # Forty people move between four cells: sessions of 12 pings, 5 minutes apart.
    pings = []
    for person in people[:40]:
        for _ in range(3):
            cell = rng.randrange(4)
            start = T0 + rng.randrange(0, 24 * 60, 5) * MINUTE
            for k in range(12):
                lat = 28.2 + (cell // 2) * 0.01 + rng.random() * 0.001
                lon = 112.98 + (cell % 2) * 0.01 + rng.random() * 0.001
                pings.append((person, lat, lon, start + 5 * k * MINUTE))
    return rows, cases, pings


def test_duckdb_and_spark_find_the_same_contacts_and_companions(analytics):
    from fangkong.screening.analytics.matching import match_rows

    scans, cases, pings = city(7)
    answers = {
        engine: match_rows(
            scans=scans,
            cases=cases,
            margin_us=30 * MINUTE,
            second_degree=True,
            pings=pings,
            engine=engine,
        )
        for engine in ("duckdb", MASTER)
    }
    duck, spark = answers["duckdb"], answers[MASTER]
    assert spark.engine == f"spark:{MASTER}"
    assert len(duck.contacts) > 50 and {c.degree for c in duck.contacts} == {1, 2}
    assert spark.contacts == duck.contacts
    assert len(duck.companions) > 0
    assert spark.companions == duck.companions


def test_the_command_writes_the_same_file_on_both_engines(analytics, tmp_path):
    scans, cases, _ = city(11, scans=2000)
    with open(tmp_path / "scans.csv", "w") as f:
        f.write("person_id,venue_code,scanned_at\n")
        for person, venue, us in scans:
            f.write(f"{person},{venue},{_iso(us)}\n")
    with open(tmp_path / "cases.csv", "w") as f:
        f.write("case_id,person_id,window_start,window_end\n")
        for case_id, person, start, end in cases:
            f.write(f"{case_id},{person},{_iso(start)},{_iso(end)}\n")
    summaries, files = {}, {}
    for engine in ("duckdb", "spark"):
        out = io.StringIO()
        target = tmp_path / f"contacts-{engine}.csv"
        call_command(
            "exposure_match",
            "--scans",
            str(tmp_path / "scans.csv"),
            "--cases",
            str(tmp_path / "cases.csv"),
            "--out",
            str(target),
            "--engine",
            MASTER if engine == "spark" else engine,
            stdout=out,
        )
        summaries[engine] = json.loads(out.getvalue().splitlines()[-1])
        files[engine] = target.read_text()
    assert files["spark"] == files["duckdb"]
    assert files["duckdb"].count("\n") > 20
    assert summaries["spark"]["engine"] == "spark"
    for key in ("cases", "contacts", "pairs"):
        assert summaries["spark"][key] == summaries["duckdb"][key]


def test_matching_over_the_store_agrees(analytics):
    import datetime as dt

    from fangkong.screening.analytics.engines import utc_from_us
    from fangkong.screening.analytics.matching import CaseWindow, match_stored
    from fangkong.screening.analytics.store import ScanIn, scans_append

    scans, cases, _ = city(5, scans=1500)
    key = {p: f"{int(p[1:]):040x}" for p, _v, _t in scans} | {
        c[1]: f"{int(c[1][1:]):040x}" for c in cases
    }
    scans_append(
        client_id="spark-test",
        scans=[ScanIn(v, utc_from_us(t), person_key=key[p]) for p, v, t in scans],
    )
    windows = [CaseWindow(c, key[p], utc_from_us(s), utc_from_us(e)) for c, p, s, e in cases]
    duck = match_stored(cases=windows, margin_minutes=30, engine="duckdb")
    spark = match_stored(cases=windows, margin_minutes=30, engine=MASTER)
    assert len(duck.contacts) > 5
    assert spark.contacts == duck.contacts
    assert duck.contacts[0].case_scanned_at.tzinfo == dt.UTC


def _iso(us: int) -> str:
    from fangkong.screening.analytics.engines import utc_from_us

    return utc_from_us(us).isoformat()
