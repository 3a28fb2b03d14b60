"""The exposure queries: one definition, run by DuckDB or by Spark SQL.

A query is a list of named steps, each one SELECT over the relations before it. Joins
are written with the big side first and the small side second (or as `IN (SELECT …)`),
so the small side is the one hashed: the adapters keep the order as written. The
engine adapter (engines.py) gives each step its name: DuckDB materialises it as a temp
table (so the optimiser sees exact sizes: the cases' own scans are small and become the
build side of the band join), Spark registers it as a temp view. The SQL text uses only
what both dialects read alike: CTE-free SELECTs, JOIN … ON with BETWEEN, ABS, LEAST,
GREATEST, FLOOR, CAST, LAG and ROW_NUMBER windows. Every time is an integer of
microseconds since the epoch (UTC), so no engine's time zone or timestamp arithmetic
comes into it; the adapters turn stored timestamps into these integers.

Inputs the adapter registers:

- `scans(person_id, venue_code, at_us)`
- `cases(case_id, person_id, start_us, end_us)`
- `pings(person_id, lat, lon, at_us)` for companions

Parameters are integers (and two floats for the cell scale, written in scientific
notation, which both dialects read as DOUBLE) made by this module and inlined as literals; nothing a user typed is put into SQL text.
"""

import math
from dataclasses import dataclass

MICROS_PER_MINUTE = 60_000_000
MICROS_PER_DAY = 86_400_000_000
METRES_PER_DEGREE = 111_320.0  # of latitude; of longitude at the equator


@dataclass(frozen=True)
class Step:
    name: str
    sql: str
    # Small enough to hold whole (DuckDB: a temp table; Spark: cached).
    small: bool = False


@dataclass(frozen=True)
class Bounds:
    """The span of the cases' windows, to prune scans by time before any join."""

    lo_us: int
    hi_us: int


def venue_contact_steps(*, margin_us: int, bounds: Bounds, second_degree: bool) -> list[Step]:
    """Venue contacts of each case; the last step is `contacts`.

    A person is a contact of a case when they scanned in at a venue within `margin_us`
    (inclusive) of a scan of the case at that venue made inside the case's window
    (inclusive). The case's own person is never its contact. One row per (case_id,
    person_id): the closest pair of scans, ties broken by the earlier case scan, then
    the earlier contact scan, then the smaller venue code (then, for second degree,
    the smaller via person).
    """
    _check_int(margin_us=margin_us, lo=bounds.lo_us, hi=bounds.hi_us)
    lo, hi, m = bounds.lo_us, bounds.hi_us, margin_us
    steps = [
        # The cases' own scans inside their windows: a few per case. The semi-join
        # (IN) keeps the big side of the join the probe side on every engine.
        Step(
            "case_scans",
            f"""
            SELECT c.case_id, c.person_id AS case_person_id, s.venue_code, s.at_us AS case_at_us
            FROM ({_scans_where("person_id", "SELECT person_id FROM cases", lo, hi)}) s
            JOIN cases c ON c.person_id = s.person_id
            WHERE s.at_us BETWEEN c.start_us AND c.end_us
            """,
            small=True,
        ),
        # Every scan at those venues around that time: a semi-join again.
        Step(
            "venue_scans",
            _scans_where("venue_code", "SELECT venue_code FROM case_scans", lo - m, hi + m),
            small=True,
        ),
        # Everyone at the same venue within the margin: a band join per venue.
        Step(
            "pairs",
            f"""
            SELECT cs.case_id, s.person_id, cs.venue_code, cs.case_at_us,
                   s.at_us AS contact_at_us, ABS(s.at_us - cs.case_at_us) AS apart_us
            FROM venue_scans s
            JOIN case_scans cs
              ON s.venue_code = cs.venue_code
             AND s.at_us BETWEEN cs.case_at_us - {m} AND cs.case_at_us + {m}
            WHERE s.person_id <> cs.case_person_id
            """,
            small=True,
        ),
        Step(
            "first_contacts",
            """
            SELECT case_id, person_id, venue_code, case_at_us, contact_at_us, apart_us,
                   1 AS degree, CAST(NULL AS STRING) AS via_person_id
            FROM (
              SELECT p.*, ROW_NUMBER() OVER (
                PARTITION BY p.case_id, p.person_id
                ORDER BY p.apart_us, p.case_at_us, p.contact_at_us, p.venue_code
              ) AS rn
              FROM pairs p
            ) ranked
            WHERE rn = 1
            """,
            small=True,
        ),
    ]
    if not second_degree:
        return [*steps, Step("contacts", "SELECT * FROM first_contacts", small=True)]
    return steps + _second_degree_steps(margin_us=m, lo=lo, hi=hi)


def _second_degree_steps(*, margin_us: int, lo: int, hi: int) -> list[Step]:
    """Contacts of contacts. A first-degree contact counts as a source from their
    first exposure to the case (their earliest contact scan) to the end of the case's
    window: the case's window ends when it is found, and its contacts are controlled
    soon after. People who are already first-degree contacts of the case, and the case
    itself, are left out."""
    m = margin_us
    via_people = "SELECT via_person_id FROM contact_windows"
    return [
        Step(
            "contact_windows",
            """
            SELECT p.case_id, p.person_id AS via_person_id, c.person_id AS case_person_id,
                   MIN(p.contact_at_us) AS start_us, MAX(c.end_us) AS end_us
            FROM pairs p JOIN cases c ON c.case_id = p.case_id
            GROUP BY p.case_id, p.person_id, c.person_id
            """,
            small=True,
        ),
        Step(
            "via_scans",
            f"""
            SELECT w.case_id, w.case_person_id, w.via_person_id, s.venue_code,
                   s.at_us AS via_at_us
            FROM ({_scans_where("person_id", via_people, lo - m, hi + m)}) s
            JOIN contact_windows w ON w.via_person_id = s.person_id
            WHERE s.at_us BETWEEN w.start_us AND w.end_us
            """,
            small=True,
        ),
        Step(
            "via_venue_scans",
            _scans_where("venue_code", "SELECT venue_code FROM via_scans", lo - 2 * m, hi + 2 * m),
            small=True,
        ),
        Step(
            "second_pairs",
            f"""
            SELECT v.case_id, s.person_id, v.venue_code, v.via_at_us AS case_at_us,
                   s.at_us AS contact_at_us, ABS(s.at_us - v.via_at_us) AS apart_us,
                   v.via_person_id
            FROM via_venue_scans s
            JOIN via_scans v
              ON s.venue_code = v.venue_code
             AND s.at_us BETWEEN v.via_at_us - {m} AND v.via_at_us + {m}
            LEFT JOIN first_contacts f ON f.case_id = v.case_id AND f.person_id = s.person_id
            WHERE s.person_id <> v.case_person_id
              AND s.person_id <> v.via_person_id
              AND f.person_id IS NULL
            """,
            small=True,
        ),
        Step(
            "contacts",
            """
            SELECT * FROM first_contacts
            UNION ALL
            SELECT case_id, person_id, venue_code, case_at_us, contact_at_us, apart_us,
                   2 AS degree, via_person_id
            FROM (
              SELECT q.*, ROW_NUMBER() OVER (
                PARTITION BY q.case_id, q.person_id
                ORDER BY q.apart_us, q.case_at_us, q.contact_at_us, q.venue_code,
                         q.via_person_id
              ) AS rn
              FROM second_pairs q
            ) ranked
            WHERE rn = 1
            """,
            small=True,
        ),
    ]


def _scans_where(column: str, among: str, lo: int, hi: int) -> str:
    """The scans whose `column` is among the values of a (small) subquery, between two
    instants: a semi-join, so the subquery is the side hashed."""
    return f"""
            SELECT person_id, venue_code, at_us FROM scans
            WHERE {column} IN ({among}) AND at_us BETWEEN {lo} AND {hi}
            """


@dataclass(frozen=True)
class CompanionRule:
    """Time-space companionship (时空伴随): in the same cell of `cell_metres` square as
    a case for more than `min_overlap_minutes` in all, within the `look_back_days`
    before the end of the case's window."""

    cell_metres: int = 800
    min_overlap_minutes: int = 10
    look_back_days: int = 14
    # Consecutive pings of a person in one cell at most this far apart make one stay.
    max_gap_minutes: int = 30
    # Longitude degrees shrink with latitude; cells are square at this latitude.
    reference_latitude: float = 30.0

    def __post_init__(self):
        if not (1 <= self.cell_metres <= 100_000):
            raise ValueError("cell_metres must be between 1 and 100000")
        if not (0 <= self.min_overlap_minutes <= 24 * 60):
            raise ValueError("min_overlap_minutes must be between 0 and 1440")
        if not (1 <= self.look_back_days <= 60):
            raise ValueError("look_back_days must be between 1 and 60")
        if not (1 <= self.max_gap_minutes <= 24 * 60):
            raise ValueError("max_gap_minutes must be between 1 and 1440")
        if not (-80 <= self.reference_latitude <= 80):
            raise ValueError("reference_latitude must be between -80 and 80")


def companion_steps(*, rule: CompanionRule, bounds: Bounds) -> list[Step]:
    """Companions of each case from pings; the last step is `companions`.

    A stay is a run of a person's consecutive pings in one cell, each within
    `max_gap_minutes` of the one before; it lasts from its first ping to its last (a
    lone ping is an instant). A person is a companion of a case when the time their
    stays overlap the case's stays in the same cell, counted inside [window end −
    look-back, window end], adds up to more than the minimum.
    """
    look_back = rule.look_back_days * MICROS_PER_DAY
    gap = rule.max_gap_minutes * MICROS_PER_MINUTE
    least = rule.min_overlap_minutes * MICROS_PER_MINUTE
    lat_scale = METRES_PER_DEGREE / rule.cell_metres
    lon_scale = METRES_PER_DEGREE * math.cos(math.radians(rule.reference_latitude))
    lon_scale /= rule.cell_metres
    lo, hi = bounds.lo_us - look_back, bounds.hi_us
    _check_int(lo=lo, hi=hi, gap=gap, least=least)
    return [
        Step(
            "ping_cells",
            f"""
            SELECT person_id, at_us,
                   CAST(FLOOR(lat * {lat_scale:.17e}) AS BIGINT) AS cell_y,
                   CAST(FLOOR(lon * {lon_scale:.17e}) AS BIGINT) AS cell_x
            FROM pings
            WHERE at_us BETWEEN {lo} AND {hi}
            """,
        ),
        Step(
            "ping_runs",
            f"""
            SELECT person_id, at_us, cell_y, cell_x,
                   CASE WHEN LAG(cell_y) OVER (PARTITION BY person_id ORDER BY at_us) = cell_y
                         AND LAG(cell_x) OVER (PARTITION BY person_id ORDER BY at_us) = cell_x
                         AND at_us - LAG(at_us) OVER (PARTITION BY person_id ORDER BY at_us)
                             <= {gap}
                        THEN 0 ELSE 1 END AS starts_stay
            FROM ping_cells
            """,
        ),
        Step(
            "stays",
            """
            SELECT person_id, cell_y, cell_x, MIN(at_us) AS start_us, MAX(at_us) AS end_us
            FROM (
              SELECT person_id, at_us, cell_y, cell_x,
                     SUM(starts_stay) OVER (
                       PARTITION BY person_id ORDER BY at_us
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                     ) AS stay_no
              FROM ping_runs
            ) numbered
            GROUP BY person_id, stay_no, cell_y, cell_x
            """,
        ),
        Step(
            "case_stays",
            f"""
            SELECT c.case_id, c.person_id AS case_person_id, s.cell_y, s.cell_x,
                   GREATEST(s.start_us, c.end_us - {look_back}) AS start_us,
                   LEAST(s.end_us, c.end_us) AS end_us
            FROM (SELECT * FROM stays WHERE person_id IN (SELECT person_id FROM cases)) s
            JOIN cases c ON c.person_id = s.person_id
            WHERE s.end_us >= c.end_us - {look_back} AND s.start_us <= c.end_us
            """,
            small=True,
        ),
        Step(
            "shared_stays",
            """
            SELECT cs.case_id, s.person_id,
                   GREATEST(s.start_us, cs.start_us) AS from_us,
                   LEAST(s.end_us, cs.end_us) AS to_us
            FROM stays s
            JOIN case_stays cs
              ON s.cell_y = cs.cell_y AND s.cell_x = cs.cell_x
             AND s.start_us <= cs.end_us AND s.end_us >= cs.start_us
            WHERE s.person_id <> cs.case_person_id
            """,
            small=True,
        ),
        Step(
            "companions",
            f"""
            SELECT case_id, person_id, SUM(to_us - from_us) AS overlap_us,
                   MIN(from_us) AS first_us, MAX(to_us) AS last_us
            FROM shared_stays
            GROUP BY case_id, person_id
            HAVING SUM(to_us - from_us) > {least}
            """,
            small=True,
        ),
    ]


def _check_int(**values: int) -> None:
    for name, value in values.items():
        if type(value) is not int:  # literals in SQL text: integers only
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
