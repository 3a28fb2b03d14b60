"""Streams of rows for imports: chunks, and a thread that reads ahead of the writer.

An import reads a file (pure Python, holding the GIL) and writes to the database
(mostly waiting on PostgreSQL's socket, without it): with the reading in a thread of
its own the two overlap on two cores.

    with contextlib.closing(read_ahead(batched(rows, 5000))) as chunks:
        for chunk in chunks:
            store(chunk)
"""

import queue
import threading
from collections.abc import Generator, Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last may be shorter)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def read_ahead(
    items: Iterable[T], depth: int = 2, *, name: str = "read-ahead"
) -> Generator[T, None, None]:
    """`items`, produced by a thread (called `name`) up to `depth` ahead of the caller.

    Hand it chunks, not single rows: each item costs two queue operations. An exception
    raised while producing is raised here, in the caller's thread; leaving early (closing
    the generator) stops the thread.
    """
    out: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def offer(item, error=None) -> bool:
        while not stop.is_set():
            try:
                out.put((item, error), timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(end)
        except BaseException as exc:  # handed to the caller, who raises it
            offer(end, exc)

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item, error = out.get()
            if error is not None:
                raise error
            if item is end:
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
