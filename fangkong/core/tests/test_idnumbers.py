import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core import idnumbers
from fangkong.core.idnumbers import IdNumberError, IdType, check_char, make_mainland, mask

TODAY = dt.date(2026, 11, 23)
regions = st.sampled_from(["431102", "110101", "310115", "440305", "810000", "830000"])
births = st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


def test_known_good_number_gives_birth_date_and_sex():
    doc = idnumbers.parse_mainland("11010519491231002X", today=TODAY)
    assert doc.birth_date == dt.date(1949, 12, 31)
    assert doc.sex == "F"
    assert doc.masked == "1101**********002X"


def test_lower_case_x_full_width_digits_and_spaces_are_normalised():
    doc = idnumbers.parse_mainland("１１０１０５ 19491231 002x", today=TODAY)
    assert doc.number == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("110105194912310021", "check character"),
        ("11010519491231002", "18 characters"),
        ("110105490101002", "15-digit"),
        ("990105194912310028", "region"),
        ("110105194902300021", "real date"),
        ("110105189912310021", "plausible"),
        ("1101051949123100A2", "digits"),
    ],
)
def test_bad_numbers_are_refused_with_a_reason(raw, reason):
    with pytest.raises(IdNumberError) as exc:
        idnumbers.parse_mainland(raw, today=TODAY)
    assert reason in exc.value.en
    assert exc.value.zh  # the Chinese reason is there too


def test_birth_date_in_the_future_is_refused():
    number = make_mainland("431102", dt.date(2027, 1, 1), 1)
    with pytest.raises(IdNumberError, match="plausible"):
        idnumbers.parse_mainland(number, today=TODAY)


@given(regions, births, sequences)
def test_every_made_number_parses_back(region, birth, seq):
    number = make_mainland(region, birth, seq)
    doc = idnumbers.parse_mainland(number, today=TODAY)
    assert doc.birth_date == birth
    assert doc.sex == ("M" if seq % 2 else "F")


@given(regions, births, sequences, st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_is_caught(region, birth, seq, position, delta):
    number = make_mainland(region, birth, seq)
    changed = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    # MOD 11-2 catches every single-digit substitution.
    assert check_char(changed[:17]) != changed[17]
    with pytest.raises(IdNumberError):
        idnumbers.parse_mainland(changed, today=TODAY)


@given(regions, births, sequences, st.integers(0, 15))
def test_swapping_adjacent_digits_is_caught(region, birth, seq, position):
    number = make_mainland(region, birth, seq)
    a, b = number[position], number[position + 1]
    if a == b:
        return
    swapped = number[:position] + b + a + number[position + 2 :]
    assert check_char(swapped[:17]) != swapped[17]


@given(st.text(max_size=30))
def test_parser_never_crashes_on_any_text(text):
    with contextlib.suppress(IdNumberError):
        idnumbers.parse_mainland(text, today=TODAY)


@pytest.mark.parametrize(
    ("kind", "raw", "number"),
    [
        (IdType.PASSPORT, "e1234 5678", "E12345678"),
        (IdType.HK_MACAO, "h12345678", "H12345678"),
        (IdType.TAIWAN, "12345678", "12345678"),
    ],
)
def test_other_documents_are_normalised(kind, raw, number):
    assert idnumbers.parse(kind, raw).number == number


def test_other_document_in_a_bad_format_is_refused():
    with pytest.raises(IdNumberError, match="Hong Kong/Macao"):
        idnumbers.parse(IdType.HK_MACAO, "X123")


def test_mask_never_shows_the_birth_date():
    number = make_mainland("431102", dt.date(1990, 3, 14), 12)
    assert "19900314" not in mask(number)
    assert mask(number).startswith("4311") and mask(number).endswith(number[-4:])
