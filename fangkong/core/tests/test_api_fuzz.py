"""Fuzz every operation of the API from its OpenAPI document, with all of
schemathesis' checks, as a strong role and as a weak one: never a 5xx, every answer as
documented, bad input refused, the one error shape throughout.

Schemathesis makes requests from each operation's parameters and bodies (valid ones,
and invalid ones that must be refused: wrong types, huge numbers, strange text) and
sends them through WSGI as the command centre (who may do nearly everything, in a
district that holds data, so the queries behind each answer really run) and as a
sampler (who may do little, so refusals are exercised). The default of a few examples
an operation keeps the suite quick on both databases; `FANGKONG_FUZZ_EXAMPLES=300`
digs deeper (it took about that many, on PostgreSQL, to find that a NUL character in a
search was a 500).
"""

import os

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from fangkong.accounts.services import token_issue
from fangkong.core.actors import SYSTEM
from fangkong.factories import make_resident, make_user

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.config import SchemathesisConfig  # noqa: E402

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("FANGKONG_FUZZ_EXAMPLES", "8"))

CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            # Valid by the schema but refused by a rule the schema cannot state (an ID
            # number's check character, a closed round, a resident from elsewhere):
            # 400 with the field named, or 422 for a value checked after parsing.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422", "429"]
            },
        }
    }
)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application(), config=CONFIG)


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """As Django's test client does: a request must not close the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=["command", "sampler"])
def bearer(request, tree, wsgi_keeps_the_test_connection, settings) -> dict:
    settings.SEARCH_RATE_LIMIT = 0  # one user sends every search here
    make_resident(tree.household_a1, "张三丰")
    make_resident(tree.household_b1, "李四")
    area = tree.district if request.param == "command" else tree.community_a
    user = make_user(f"fuzz_{request.param}", request.param, area)
    return {"Authorization": f"Bearer {token_issue(actor=SYSTEM, user=user)}"}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_fails_or_strays_from_its_schema(case, bearer):
    case.call_and_validate(headers=bearer)
