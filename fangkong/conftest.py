"""Personas every app's tests share (see fangkong/factories.py for the district). The
clock every test runs on is pinned in the repository's root conftest.py."""

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest

from fangkong import factories


@pytest.fixture
def tree(db):
    return factories.build_tree()


@pytest.fixture
def command_user(tree):
    return factories.make_user("command", "command", tree.district)


@pytest.fixture
def street_user(tree):
    return factories.make_user("street", "street", tree.street)


@pytest.fixture
def worker_a(tree):
    """A community worker of community A."""
    return factories.make_user("worker_a", "community", tree.community_a)


@pytest.fixture
def worker_b(tree):
    """A community worker of community B."""
    return factories.make_user("worker_b", "community", tree.community_b)


@pytest.fixture
def volunteer(tree):
    return factories.make_user("volunteer", "worker", tree.community_a)


@pytest.fixture
def resident_a(tree):
    return factories.make_resident(tree.household_a1, "张三丰")


@pytest.fixture
def resident_b(tree):
    return factories.make_resident(tree.household_b1, "李四")


@pytest.fixture
def client_for(client):
    """`client_for(user)` logs the test client in as `user`."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def wsgi(monkeypatch):
    """Call the project's WSGI application as a server would (the lean way in for
    devices included: `wsgi.lean_calls` lists the paths that went that way;
    fangkong/core/devices.py). As Django's test client does, the request signals leave
    the test's transaction alone. `wsgi(path, body, token=, cookie=, method=, headers=)`
    -> (status, headers, JSON body)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from fangkong.core import devices
    from fangkong.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    lean_calls = []
    real = devices.DeviceRequestMiddleware.__call__

    def spy(self, request):
        lean_calls.append(request.path)
        return real(self, request)

    monkeypatch.setattr(devices.DeviceRequestMiddleware, "__call__", spy)

    def call(path, body, token=None, cookie="", method="POST", headers=None):
        data = json.dumps(body).encode()
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "SERVER_NAME": "testserver",
        }
        if token:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        if cookie:
            environ["HTTP_COOKIE"] = cookie
        environ.update(headers or {})
        setup_testing_defaults(environ)
        seen = {}

        def start_response(status, headers, exc_info=None):
            seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

        response = application(environ, start_response)
        try:
            content = b"".join(response)
        finally:
            response.close()
        return seen["status"], seen["headers"], json.loads(content or b"null")

    call.lean_calls = lean_calls
    try:
        yield call
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _round_trips(trace: str) -> int:
    """Round trips in a libpq trace: each run of messages the client sends, answered."""
    trips, sending = 0, False
    for line in trace.splitlines():
        if line.startswith("F\t"):
            sending = True
        elif line.startswith("B\t") and sending:
            trips, sending = trips + 1, False
    return trips


@pytest.fixture
def round_trips(tmp_path):
    """Count the round trips to PostgreSQL (libpq's own trace of the protocol messages:
    what the driver sends past Django's cursor wrappers counts too)."""
    from django.db import connection
    from psycopg import pq

    path = tmp_path / "trace.txt"

    class Counter:
        def __enter__(self):
            connection.ensure_connection()
            self.file = path.open("w")
            self.pgconn = connection.connection.pgconn
            self.pgconn.trace(self.file.fileno())
            self.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            return self

        def __exit__(self, *exc):
            self.pgconn.untrace()
            self.file.close()
            self.trace = path.read_text()
            self.count = _round_trips(self.trace)

    return Counter
