"""Personas every app's tests share (see fangkong/factories.py for the district). The
clock every test runs on is pinned in the repository's root conftest.py."""

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
