"""core.streams: chunks, and the thread that reads ahead of the writer."""

import itertools
import threading
import time

import pytest

from fangkong.core.errors import DomainError
from fangkong.core.streams import batched, read_ahead


def test_batched_cuts_into_chunks_with_a_short_last_one():
    assert list(batched(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batched([], 3)) == []


def test_read_ahead_hands_on_items_and_errors_and_stops_when_left():
    assert list(read_ahead(iter(range(10)))) == list(range(10))

    def broken():
        yield 1
        raise DomainError("坏了", "broken")

    with pytest.raises(DomainError, match="broken"):
        list(read_ahead(broken()))
    produced = []

    def endless():
        for i in itertools.count():
            produced.append(i)
            yield i

    chunks = read_ahead(endless(), depth=2, name="test-reader")
    assert next(chunks) == 0
    chunks.close()
    seen = len(produced)
    time.sleep(0.5)
    assert len(produced) == seen
    assert not any(t.name == "test-reader" for t in threading.enumerate())
