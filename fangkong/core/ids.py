"""Time-ordered ids (UUIDv7, RFC 9562) for keys the server makes itself.

A random id (uuid4) lands on a random page of its unique index: once a table's index
outgrows the database's cache, every insert reads a page back from disk, and a
1,000,000-person round adds ~75 MB of client-id index (docs/benchmarks.md). A UUIDv7
begins with the millisecond it was made, so new ids go to the right-hand edge of the
index, whose pages stay in the cache. The 74 bits after the time keep ids made on
different machines apart; within one process, ids of the same millisecond count up
(RFC 9562 §6.2, method 1: a 12-bit counter in `rand_a`), so they sort in the order
they were made. Python 3.14 has `uuid.uuid7()`; this is the same layout for 3.11.
"""

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = [0, 0]  # (millisecond, counter) of the last id made in this process


def uuid7() -> uuid.UUID:
    """A new UUIDv7: 48 bits of Unix milliseconds, version 7, a 12-bit counter, the
    variant, 62 random bits."""
    rand = int.from_bytes(os.urandom(10), "big")
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last[0]:  # the same millisecond (or the clock stepped back): count on
            ms, counter = _last[0], _last[1] + 1
            if counter > 0xFFF:  # 4,096 ids in one millisecond: borrow the next one
                ms, counter = ms + 1, 0
        else:
            counter = (rand >> 64) & 0x7FF  # a random start, with room to count up
        _last[:] = [ms, counter]
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | counter << 64
    value |= 0b10 << 62 | rand & 0x3FFF_FFFF_FFFF_FFFF
    return uuid.UUID(int=value)


def client_id() -> str:
    """A client id made by the server for a form (32 hex digits, time-ordered)."""
    return uuid7().hex
