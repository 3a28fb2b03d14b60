import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core import pii
from fangkong.core.phones import PhoneError, mask_phone, normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
        ("0746-8221234", "07468221234"),
        ("", ""),
        (None, ""),
    ],
)
def test_phone_numbers_are_normalised(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "138001380001", "phone", "23800138000"])
def test_impossible_phone_numbers_are_refused(raw):
    with pytest.raises(PhoneError):
        normalize_phone(raw)


def test_phone_mask():
    assert mask_phone("13800138000") == "138****8000"


@given(st.text(min_size=8, max_size=40))
def test_encryption_round_trips_and_is_not_plain(text):
    blob = pii.encrypt(text)
    assert pii.decrypt(blob) == text
    assert text.encode() not in blob


def test_encrypting_twice_differs_but_the_lookup_hash_is_stable():
    assert pii.encrypt("13800138000") != pii.encrypt("13800138000")
    assert pii.lookup_hash("phone", "13800138000") == pii.lookup_hash("phone", "13800138000")
    assert pii.lookup_hash("phone", "13800138000") != pii.lookup_hash("ID:ID", "13800138000")
