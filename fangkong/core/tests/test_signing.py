"""Signed codes: verified offline by key id, rotated, of one kind only, expiring, and
carrying no enumerable id."""

import base64
import datetime as dt
import os

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core import signing

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def fresh_keys():
    signing.keys.cache_clear()
    signing._verifiers.cache_clear()
    yield
    signing.keys.cache_clear()
    signing._verifiers.cache_clear()


def test_a_code_round_trips_with_its_claims():
    text = signing.sign("venue", "abc", valid_days=30, claims={"n": "菜市场"}, issued=TODAY)
    code = signing.verify(text, kind="venue", today=TODAY + dt.timedelta(days=29))
    assert (code.kind, code.subject, code.claims, code.kid) == (
        "venue",
        "abc",
        {"n": "菜市场"},
        "k1",
    )
    assert code.expires == TODAY + dt.timedelta(days=29)


def test_an_expired_or_future_code_is_refused_with_its_date():
    text = signing.sign("pass", "x", valid_days=1, issued=TODAY)
    with pytest.raises(signing.CodeError) as caught:
        signing.verify(text, kind="pass", today=TODAY + dt.timedelta(days=1))
    assert "2026-11-23" in caught.value.zh and "expired" in caught.value.en
    with pytest.raises(signing.CodeError):
        signing.verify(text, kind="pass", today=TODAY - dt.timedelta(days=1))


def test_a_code_of_one_kind_is_not_another():
    text = signing.sign("community", "x", valid_days=30, issued=TODAY)
    with pytest.raises(signing.CodeError, match="not a venue code"):
        signing.verify(text, kind="venue", today=TODAY)


def test_any_changed_character_is_refused():
    text = signing.sign("venue", "abc", valid_days=30, issued=TODAY)
    for i in range(len(text)):
        changed = text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]
        with pytest.raises(signing.CodeError):
            signing.verify(changed, kind="venue", today=TODAY)


def test_a_new_key_signs_from_its_date_and_old_codes_still_verify():
    seed = base64.urlsafe_b64encode(os.urandom(32)).decode()
    old = signing.sign("venue", "v", valid_days=30, issued=TODAY)
    with override_settings(CODE_SIGNING_KEYS=f"k2:{seed}:2026-12-01"):
        signing.keys.cache_clear()
        signing._verifiers.cache_clear()
        assert signing.verify(old, kind="venue", today=TODAY).kid == "k1"
        new = signing.sign("venue", "v", valid_days=30, issued=dt.date(2026, 12, 1))
        assert new.split(".")[1] == "k2"
        assert signing.verify(new, kind="venue", today=dt.date(2026, 12, 2)).kid == "k2"
        assert set(signing.public_keys()) == {"k1", "k2"}
    signing.keys.cache_clear()
    signing._verifiers.cache_clear()
    with pytest.raises(signing.CodeError, match="unknown signing key"):
        signing.verify(new, kind="venue", today=dt.date(2026, 12, 2))


@given(st.integers(min_value=1, max_value=2**62))
def test_an_opaque_id_hides_the_id_and_gives_it_back(pk):
    subject = signing.opaque_id("worker", pk)
    assert len(subject) == 22  # one AES block, whatever the id's size
    assert signing.id_of("worker", subject) == pk
    assert signing.opaque_id("worker", pk) == subject
    with pytest.raises(signing.CodeError):
        signing.id_of("venue", subject)


def test_neighbouring_ids_share_nothing_visible():
    a, b = signing.opaque_id("venue", 1000), signing.opaque_id("venue", 1001)
    assert sum(x == y for x, y in zip(a, b, strict=True)) < 8
