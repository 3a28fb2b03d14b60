"""Load shedding for the upload endpoint: answer 503 fast instead of queueing for ever.

Each server process stores at most `slots` uploads at once. An upload that finds no
free slot may wait for one (at most `wait_ms`) only if fewer than `queue` requests
are already waiting in this process: those waiting for a slot, and those the server
holds that no thread has picked up yet. Anything beyond is refused at once with 503
and `Retry-After`, before authentication or parsing touch the database, so a refusal
costs a fraction of an upload and the admitted uploads keep their speed. Devices keep
refused events and send them again after `Retry-After` (docs/sampling-protocol.md).

Why look at the server's own queue: under gunicorn's threaded worker
(deploy/gunicorn.conf.py) a request first waits in the worker's thread pool, unseen
by Django; with a few threads per process that is where an overload piles up. The
gunicorn configuration's `post_worker_init` hook hands each worker's pool queue to
`use_server_backlog`; under another server (runserver, tests) the gate bounds only the
slots and their waiters. Inside an admitted upload, PostgreSQL's `statement_timeout` and
`lock_timeout` (see services) bound the time spent on the database; a timeout is
answered with the same 503.

Before it refuses, the gate asks devices to come less often: an upload admitted while
every slot of its process was taken, or while others waited, is answered with an
`Upload-Pace` header (seconds). A device that honours it keeps its scans a while and
sends them in fewer, larger uploads, which cost the server far less a person (the cost
of an upload is mostly fixed; docs/benchmarks.md). A quiet server sends no header.
"""

import functools
import random
import threading
from collections.abc import Callable
from contextlib import contextmanager

from django.http import JsonResponse

from .conf import ingest_conf


class Overloaded(Exception):
    pass


_backlog: Callable[[], int] | None = None


def use_server_backlog(backlog: Callable[[], int] | None) -> None:
    """Called once in each server process before it takes requests (gunicorn's
    `post_worker_init`, deploy/gunicorn.conf.py): `backlog()` is how many requests the
    server holds that no thread has picked up yet."""
    global _backlog, _gate
    _backlog = backlog
    _gate = None  # made again on first use, with it


def server_backlog() -> Callable[[], int] | None:
    """The function given to `use_server_backlog` in this process, if any."""
    return _backlog


def gunicorn_backlog(worker) -> Callable[[], int] | None:
    """The queue length of a gunicorn gthread worker's thread pool (requests accepted
    and waiting for a thread), or None for another kind of worker."""
    queue = getattr(getattr(worker, "tpool", None), "_work_queue", None)
    return queue.qsize if queue is not None and hasattr(queue, "qsize") else None


class Gate:
    def __init__(
        self,
        slots: int,
        queue: int,
        wait_seconds: float,
        backlog: Callable[[], int] | None = None,
        pace_s: int = 0,
    ):
        self.slots, self.queue, self.wait_seconds = slots, queue, wait_seconds
        self.backlog, self.pace_s = backlog, pace_s
        self._free = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self.waiting = 0
        self.refused = 0
        self.in_use = 0

    @contextmanager
    def admit(self):
        """Hold a slot for one upload; yields whether the gate was pressed when it was
        admitted (every slot taken, or uploads waiting)."""
        pressed = False
        # Fast path: a free slot, no waiting.
        if not self._free.acquire(blocking=False):
            pressed = True
            held = self.backlog() if self.backlog is not None else 0
            with self._lock:
                if self.waiting + held >= self.queue:
                    self.refused += 1
                    raise Overloaded
                self.waiting += 1
            try:
                admitted = self._free.acquire(timeout=self.wait_seconds)
            finally:
                with self._lock:
                    self.waiting -= 1
            if not admitted:
                with self._lock:
                    self.refused += 1
                raise Overloaded
        with self._lock:
            self.in_use += 1
            pressed = pressed or self.in_use >= self.slots or self.waiting > 0
        if not pressed and self.backlog is not None:
            pressed = self.backlog() > 0
        try:
            yield pressed
        finally:
            with self._lock:
                self.in_use -= 1
            self._free.release()


_gate: Gate | None = None
_gate_lock = threading.Lock()


def upload_gate() -> Gate:
    """The process's gate (made on first use, so each forked worker has its own)."""
    global _gate
    if _gate is None:
        with _gate_lock:
            if _gate is None:
                conf = ingest_conf()
                _gate = Gate(
                    conf.slots, conf.queue, conf.wait_ms / 1000, server_backlog(), conf.pace_s
                )
    return _gate


def pace_seconds(base: int) -> int:
    """How long a device should keep its scans before its next upload: between half and
    all of `base`, at random, so that paced devices do not come back together."""
    return random.randint(max(1, base // 2), max(1, base))


def busy_response(retry_after: int | None = None) -> JsonResponse:
    """503 in the API's one error shape, with a jittered Retry-After (seconds)."""
    retry_after = retry_after or random.randint(2, 6)
    response = JsonResponse(
        {
            "error": {
                "code": "busy",
                "message": "the server is busy; keep the events and retry later",
                "message_zh": "服务器繁忙，数据已保存在设备上，请稍后重试",
                "field": "",
            }
        },
        status=503,
    )
    response["Retry-After"] = str(retry_after)
    # Refusing is the plan, not an error: keep Django from logging each one (under
    # overload that logging alone would eat the CPU the admitted uploads need).
    response._has_been_logged = True
    return response


def shed_load(view):
    """Wrap an API operation (via ninja's `decorate_view`) with the process's gate."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        gate = upload_gate()
        try:
            with gate.admit() as pressed:
                response = view(request, *args, **kwargs)
        except Overloaded:
            return busy_response()
        if pressed and gate.pace_s and response.status_code == 200:
            response["Upload-Pace"] = str(pace_seconds(gate.pace_s))
        return response

    return wrapper
