import datetime as dt
import uuid

import pytest

from fangkong.core import ids
from fangkong.core.ids import client_id, uuid7


@pytest.fixture(autouse=True)
def _fresh_counter(monkeypatch):
    """Other tests made ids at later instants of the pinned clock."""
    monkeypatch.setattr(ids, "_last", [0, 0])


def test_a_uuid7_carries_its_millisecond_version_and_variant(clock):
    clock.move_to(dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC), tick=False)
    made = uuid7()
    assert made.version == 7 and made.variant == uuid.RFC_4122
    assert made.int >> 80 == int(dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC).timestamp() * 1000)


def test_ids_made_one_after_another_sort_in_that_order_even_in_one_millisecond(clock):
    clock.move_to(dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC), tick=False)
    same_ms = [uuid7() for _ in range(5000)]  # more than the 12-bit counter holds
    clock.shift(0.001)
    later = [uuid7() for _ in range(3)]
    made = same_ms + later
    assert made == sorted(made) and len(set(made)) == len(made)
    assert all(m.version == 7 for m in made)


def test_a_form_s_client_id_is_hex_and_time_ordered(clock):
    first = client_id()
    clock.shift(1)
    assert len(first) == 32 and first < client_id()
