"""Fuzz the read endpoints from the OpenAPI document: whatever is sent, never a 5xx.

Schemathesis generates requests from each operation's parameters (odd codes, huge
ids and page numbers, strange text) and sends them through WSGI as a street-office
user whose district holds data, so the queries behind each answer really run.
`FANGKONG_FUZZ_EXAMPLES=300` digs deeper (it took about that many, on PostgreSQL, to
find that a NUL character in a search was a 500).
"""

import os

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from fangkong.accounts.services import token_issue
from fangkong.core.actors import SYSTEM
from fangkong.factories import make_resident

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("FANGKONG_FUZZ_EXAMPLES", "20"))

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application()).include(
    method="GET"
)


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """As Django's test client does: a request must not close the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(street_user, tree, wsgi_keeps_the_test_connection) -> dict:
    make_resident(tree.household_a1, "张三丰")
    make_resident(tree.household_b1, "李四")
    return {"Authorization": f"Bearer {token_issue(actor=SYSTEM, user=street_user)}"}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_reads_never_fail_with_a_server_error(case, bearer):
    response = case.call(headers=bearer)
    case.validate_response(response, checks=[not_a_server_error], headers=bearer)
