"""Pool sizes by zone are a policy: a round takes the version in force where and when it
is launched, keeps it, and may override it."""

import datetime as dt

import pytest
from django.utils import timezone

from fangkong.core.services import policy_set
from fangkong.testing import services
from fangkong.testing.policies import POOL_SIZES

pytestmark = pytest.mark.django_db


def _launch(actor, area, **pools):
    return services.round_launch(
        actor=actor,
        name="轮次",
        areas=[area],
        deadline=timezone.now() + dt.timedelta(hours=12),
        **pools,
    )


def test_a_round_takes_the_policy_in_force_and_keeps_its_version(command_user, tree):
    first = _launch(command_user, tree.street)
    assert (first.pool_sealed, first.pool_controlled, first.pool_prevention) == (1, 10, 20)
    assert first.pool_policy_version == 0
    policy_set(
        actor=command_user,
        key="testing.pool_sizes",
        value={"sealed": 1, "controlled": 5, "prevention": 10},
        reason="疫情上升，改为5混1、10混1",
    )
    second = _launch(command_user, tree.street)
    assert (second.pool_controlled, second.pool_prevention) == (5, 10)
    assert second.pool_policy_version == 1
    first.refresh_from_db()  # made under version 0, it keeps what it was made with
    assert (first.pool_controlled, first.pool_prevention, first.pool_policy_version) == (
        10,
        20,
        0,
    )


def test_a_version_for_one_street_applies_to_rounds_there_only(command_user, tree):
    policy_set(
        actor=command_user,
        key="testing.pool_sizes",
        value={"sealed": 1, "controlled": 1, "prevention": 5},
        reason="南津街道风险高",
        area_code=tree.street.code,
    )
    inside = _launch(command_user, tree.community_a)
    elsewhere = _launch(command_user, tree.district)
    assert inside.pool_prevention == 5 and elsewhere.pool_prevention == 20


def test_the_launcher_may_still_override_the_policy(command_user, tree):
    rnd = _launch(command_user, tree.street, pool_prevention=10)
    assert (rnd.pool_controlled, rnd.pool_prevention, rnd.pool_policy_version) == (10, 10, 0)


def test_a_policy_cannot_ask_for_an_impossible_pool(command_user):
    from fangkong.core.errors import DomainError

    with pytest.raises(DomainError, match="prevention"):
        policy_set(
            actor=command_user,
            key="testing.pool_sizes",
            value={"sealed": 1, "controlled": 10, "prevention": 500},
            reason="x",
        )
    assert POOL_SIZES.at().version == 0
