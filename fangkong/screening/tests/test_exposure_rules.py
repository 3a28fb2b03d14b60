"""The venue-contact rule at its edges (docs/exposure.md), on DuckDB."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fangkong.screening.analytics.matching import match_rows

from . import reference

MINUTE = 60_000_000
T0 = 1_795_140_000_000_000  # 2026-11-20 02:00 UTC
M30 = 30 * MINUTE


def at(minutes: float) -> int:
    return T0 + int(minutes * MINUTE)


def rows(result):
    return [
        (c.case_id, c.person_id, c.venue_code, c.case_at_us, c.contact_at_us, c.apart_us)
        for c in result.contacts
    ]


def match(scans, cases, margin=M30, **kwargs):
    return match_rows(scans=scans, cases=cases, margin_us=margin, **kwargs)


def test_a_scan_exactly_at_the_margin_matches_and_one_microsecond_beyond_does_not(analytics):
    scans = [("case", "V1", at(0)), ("in", "V1", at(30)), ("out", "V1", at(-30) - 1)]
    result = match(scans, [("C1", "case", at(-60), at(60))])
    assert rows(result) == [("C1", "in", "V1", at(0), at(30), M30)]


def test_a_case_scan_exactly_at_the_window_edges_counts_and_one_outside_does_not(analytics):
    scans = [
        ("case", "V1", at(0)),  # the window's first instant
        ("case", "V2", at(100)),  # its last
        ("case", "V3", at(100) + 1),  # just after it
        ("a", "V1", at(-10)),  # before the window, but within the margin of a scan in it
        ("b", "V2", at(105)),
        ("c", "V3", at(101)),
    ]
    result = match(scans, [("C1", "case", at(0), at(100))])
    assert [(r[1], r[2]) for r in rows(result)] == [("a", "V1"), ("b", "V2")]


def test_the_case_is_never_its_own_contact(analytics):
    scans = [("case", "V1", at(0)), ("case", "V1", at(5)), ("x", "V1", at(1))]
    result = match(scans, [("C1", "case", at(-60), at(60))])
    assert [r[1] for r in rows(result)] == ["x"]


def test_a_person_at_two_venues_keeps_the_closest_pair(analytics):
    scans = [
        ("case", "V1", at(0)),
        ("case", "V2", at(60)),
        ("x", "V1", at(20)),  # 20 minutes from the case at V1
        ("x", "V2", at(63)),  # 3 minutes from the case at V2: kept
        ("x", "V2", at(90)),
    ]
    result = match(scans, [("C1", "case", at(-60), at(120))])
    assert rows(result) == [("C1", "x", "V2", at(60), at(63), 3 * MINUTE)]


def test_ties_go_to_the_earlier_case_scan_then_the_earlier_contact_scan_then_the_venue(
    analytics,
):
    # Equal distances everywhere: 5 minutes.
    scans = [
        ("case", "V2", at(0)),
        ("case", "V1", at(10)),
        ("x", "V2", at(5)),  # after the case's first scan
        ("x", "V1", at(5)),  # before its second
        ("case", "V3", at(50)),
        ("case", "V4", at(50)),
        ("y", "V4", at(45)),
        ("y", "V3", at(55)),
        ("y", "V4", at(55)),
    ]
    result = match(scans, [("C1", "case", at(-60), at(120))])
    assert rows(result) == [
        ("C1", "x", "V2", at(0), at(5), 5 * MINUTE),  # the earlier case scan
        ("C1", "y", "V4", at(50), at(45), 5 * MINUTE),  # the earlier contact scan
    ]
    scans = [("case", "V9", at(0)), ("case", "V8", at(0)), ("z", "V9", at(1)), ("z", "V8", at(1))]
    result = match(scans, [("C1", "case", at(-60), at(120))])
    assert rows(result)[0][2] == "V8"  # the smaller venue code


def test_one_person_matched_by_two_cases_has_a_row_for_each(analytics):
    scans = [("a", "V1", at(0)), ("b", "V2", at(0)), ("x", "V1", at(4)), ("x", "V2", at(7))]
    result = match(scans, [("C1", "a", at(-5), at(5)), ("C2", "b", at(-5), at(5))])
    assert [(r[0], r[1], r[5]) for r in rows(result)] == [
        ("C1", "x", 4 * MINUTE),
        ("C2", "x", 7 * MINUTE),
    ]
    assert result.people == 1


def test_a_case_is_a_contact_of_another_case(analytics):
    scans = [("a", "V1", at(0)), ("b", "V1", at(1))]
    result = match(scans, [("C1", "a", at(-5), at(5)), ("C2", "b", at(-5), at(5))])
    assert [(r[0], r[1]) for r in rows(result)] == [("C1", "b"), ("C2", "a")]


def test_cases_without_scans_in_their_window_have_no_contacts(analytics):
    scans = [("a", "V1", at(0)), ("x", "V1", at(1))]
    cases = [("C1", "a", at(10), at(20)), ("C2", "nobody", at(-60), at(60))]
    result = match(scans, cases)
    assert result.contacts == [] and result.cases == 2


def test_no_cases_no_contacts(analytics):
    result = match([("a", "V1", at(0))], [])
    assert result.contacts == [] and result.cases == 0


def test_a_zero_margin_needs_the_same_instant(analytics):
    scans = [("a", "V1", at(0)), ("x", "V1", at(0)), ("y", "V1", at(0) + 1)]
    result = match(scans, [("C1", "a", at(-5), at(5))], margin=0)
    assert [r[1] for r in rows(result)] == ["x"]


def test_minutes_apart_is_rounded_half_even_to_a_hundredth(analytics):
    scans = [("a", "V1", at(0)), ("x", "V1", at(0) + 10_000_000), ("y", "V1", at(0) - 300_000)]
    result = match(scans, [("C1", "a", at(-5), at(5))])
    assert [str(c.minutes_apart) for c in result.contacts] == ["0.17", "0.00"]
    assert result.contacts[0].contact_scanned_at == dt.datetime(
        2026, 11, 20, 2, 0, 10, tzinfo=dt.UTC
    )


def test_second_degree_finds_contacts_of_contacts_after_their_exposure(analytics):
    scans = [
        ("case", "V1", at(0)),
        ("k", "V1", at(10)),  # k meets the case at minute 10
        ("k", "V2", at(5)),  # earlier than that: k was not yet exposed
        ("early", "V2", at(5)),
        ("k", "V3", at(200)),  # later, inside the case's window
        ("s", "V3", at(210)),
        ("case", "V4", at(300)),  # s also met the case directly? no: different venue
        ("k", "V5", at(400)),  # after the case's window
        ("late", "V5", at(400)),
    ]
    result = match(scans, [("C1", "case", at(-60), at(300))], second_degree=True)
    got = [(c.person_id, c.degree, c.via_person_id, c.venue_code) for c in result.contacts]
    assert got == [("k", 1, None, "V1"), ("s", 2, "k", "V3")]


def test_a_first_degree_contact_is_not_also_listed_as_second_degree(analytics):
    scans = [("case", "V1", at(0)), ("k", "V1", at(1)), ("j", "V1", at(2)), ("j", "V2", at(50))]
    scans += [("k", "V2", at(50))]
    result = match(scans, [("C1", "case", at(-60), at(60))], second_degree=True)
    assert [(c.person_id, c.degree) for c in result.contacts] == [("j", 1), ("k", 1)]


# Against the brute-force reference -----------------------------------------------------

people = st.sampled_from(["a", "b", "c", "d", "e", "f"])
venues = st.sampled_from(["V1", "V2", "V3"])
# Whole minutes on a small range: many exact ties and exact margins.
instants = st.integers(0, 120).map(lambda m: T0 + m * MINUTE)
scan_lists = st.lists(st.tuples(people, venues, instants), max_size=40)


@st.composite
def case_lists(draw):
    n = draw(st.integers(0, 3))
    cases = []
    for i in range(n):
        start, end = sorted([draw(instants), draw(instants)])
        cases.append((f"C{i}", draw(people), start, end))
    return cases


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scans=scan_lists, cases=case_lists(), margin=st.integers(0, 40), second=st.booleans())
def test_duckdb_agrees_with_the_brute_force_reference(analytics, scans, cases, margin, second):
    margin_us = margin * MINUTE
    result = match(scans, cases, margin=margin_us, second_degree=second)
    got = [
        (
            c.case_id,
            c.person_id,
            c.venue_code,
            c.case_at_us,
            c.contact_at_us,
            c.apart_us,
            c.degree,
            c.via_person_id,
        )
        for c in result.contacts
    ]
    assert got == reference.venue_contacts(scans, cases, margin_us, second_degree=second)


@pytest.mark.parametrize("margin", [-1, 10081, "nan"])
def test_a_margin_out_of_range_is_refused(analytics, margin):
    from fangkong.screening.analytics.matching import margin_us

    with pytest.raises(ValueError):
        margin_us(margin)
