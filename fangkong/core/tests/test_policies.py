"""Policies as data: declared with a default, changed as new versions from a date on,
per area subtree, audited; a record keeps the version it was made under."""

import datetime as dt

import pydantic
import pytest

from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.models import AuditEvent
from fangkong.core.policies import all_policies, policy
from fangkong.core.services import policy_set


class Deadline(pydantic.BaseModel):
    day_hours: int = pydantic.Field(ge=1, le=24)
    night_hours: int = pydantic.Field(ge=1, le=24)


DEADLINE = policy(
    "core.test_deadline",
    Deadline,
    default={"day_hours": 2, "night_hours": 6},
    description="A policy declared by the tests.",
)


def test_the_default_is_version_zero(db):
    rule = DEADLINE.at()
    assert (rule.version, rule.value.day_hours, rule.value.night_hours) == (0, 2, 6)
    assert DEADLINE in all_policies()


def test_a_new_version_applies_from_its_date_on_and_old_records_keep_theirs(
    tree, command_user, clock
):
    now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    clock.move_to(now, tick=False)
    decided_under = DEADLINE.at().version
    tomorrow = now + dt.timedelta(days=1)
    policy_set(
        actor=command_user,
        key="core.test_deadline",
        value={"day_hours": 1, "night_hours": 4},
        effective_from=tomorrow,
        reason="省指挥部通知",
    )
    assert DEADLINE.at(now).version == 0
    rule = DEADLINE.at(tomorrow)
    assert (rule.version, rule.value.day_hours) == (1, 1)
    assert DEADLINE.version(decided_under).value.day_hours == 2
    event = AuditEvent.objects.get(event="core.policy_set")
    assert event.reason == "省指挥部通知" and event.detail["value"]["night_hours"] == 4


def test_a_version_for_an_area_wins_in_its_subtree_only(tree, command_user):
    policy_set(
        actor=command_user,
        key="core.test_deadline",
        value={"day_hours": 3, "night_hours": 6},
        area_code=tree.community_a.code,
        reason="社区A试点",
    )
    policy_set(
        actor=command_user,
        key="core.test_deadline",
        value={"day_hours": 4, "night_hours": 8},
        reason="全区调整",
    )
    assert DEADLINE.at(area_code=tree.building_a1.code).value.day_hours == 3
    assert DEADLINE.at(area_code=tree.community_b.code).value.day_hours == 4
    assert DEADLINE.at().value.day_hours == 4


def test_a_policy_cannot_be_backdated(tree, command_user):
    with pytest.raises(DomainError) as caught:
        policy_set(
            actor=command_user,
            key="core.test_deadline",
            value={"day_hours": 3, "night_hours": 6},
            effective_from=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            reason="补录",
        )
    assert caught.value.field == "effective_from"


def test_a_bad_value_names_its_field_in_both_languages(tree, command_user):
    with pytest.raises(DomainError) as caught:
        policy_set(
            actor=command_user,
            key="core.test_deadline",
            value={"day_hours": 30, "night_hours": 6},
            reason="错误",
        )
    assert caught.value.field == "value.day_hours"
    assert "策略值不合法" in caught.value.zh and "not valid" in caught.value.en


def test_only_the_command_centre_sets_policies_and_always_with_a_reason(
    tree, command_user, street_user
):
    with pytest.raises(PermissionDenied):
        policy_set(
            actor=street_user,
            key="core.test_deadline",
            value={"day_hours": 1, "night_hours": 1},
            reason="街道想改",
        )
    with pytest.raises(DomainError):
        policy_set(
            actor=command_user,
            key="core.test_deadline",
            value={"day_hours": 1, "night_hours": 1},
            reason="  ",
        )
    assert DEADLINE.at().version == 0


def test_an_unknown_policy_is_refused(tree, command_user):
    with pytest.raises(DomainError):
        policy_set(actor=command_user, key="core.no_such", value={}, reason="x")


@pytest.fixture
def cached(settings):
    """Policies held in memory for a minute, as a server process holds them."""
    from fangkong.core.policies import forget_cached

    forget_cached()
    settings.POLICY_CACHE_SECONDS = 60
    yield
    forget_cached()


def test_a_held_policy_costs_no_query_and_a_new_version_is_seen_at_once(
    tree, command_user, clock, cached, django_assert_num_queries, django_capture_on_commit_callbacks
):
    now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    clock.move_to(now, tick=False)
    assert DEADLINE.at(area_code=tree.building_a1.code).version == 0
    with django_assert_num_queries(0):
        assert DEADLINE.at(area_code=tree.building_a1.code).version == 0
    tomorrow = now + dt.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        policy_set(
            actor=command_user,
            key="core.test_deadline",
            value={"day_hours": 3, "night_hours": 6},
            area_code=tree.community_a.code,
            reason="社区A试点",
        )
    with django_capture_on_commit_callbacks(execute=True):
        policy_set(
            actor=command_user,
            key="core.test_deadline",
            value={"day_hours": 4, "night_hours": 8},
            reason="全区调整",
        )
    with django_capture_on_commit_callbacks(execute=True):
        policy_set(
            actor=command_user,
            key="core.test_deadline",
            value={"day_hours": 1, "night_hours": 4},
            effective_from=tomorrow,
            reason="明日起全区收紧",
        )
    # The same choices as the database's: the deepest area, then the latest in force.
    assert DEADLINE.at(area_code=tree.building_a1.code).value.day_hours == 3
    assert DEADLINE.at(area_code=tree.community_b.code).value.day_hours == 4
    assert DEADLINE.at(tomorrow, tree.community_b.code).value.day_hours == 1
    assert DEADLINE.at(tomorrow, tree.building_a1.code).value.day_hours == 3
    with django_assert_num_queries(0):
        assert DEADLINE.at().version == 2
