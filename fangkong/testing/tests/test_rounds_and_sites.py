"""Rounds and sites: who may launch, edit and close; what they check; what they record."""

import datetime as dt
import threading

import pytest
from django.db import connection

from fangkong.core.errors import Conflict, DomainError, PermissionDenied
from fangkong.core.models import AuditEvent
from fangkong.testing import services
from fangkong.testing.models import (
    BuildingCoverage,
    RoundStatus,
    Sample,
    SiteStatus,
    TestingRound,
    Tube,
    UploadEvent,
)

from .conftest import START, Channel, launch, upload

pytestmark = pytest.mark.django_db


def test_only_the_command_centre_launches_rounds(worker_a, street_user, tree):
    for user in (worker_a, street_user):
        with pytest.raises(PermissionDenied):
            launch(user, tree.community_a)


def test_a_round_covers_only_areas_in_the_launchers_jurisdiction(tree):
    from fangkong.factories import make_user

    centre_b = make_user("centre_b", "command", tree.community_b)
    with pytest.raises(PermissionDenied):
        launch(centre_b, tree.community_a)


def test_a_round_needs_a_deadline_after_its_start_and_sane_pools(command_user, tree):
    with pytest.raises(DomainError, match="deadline"):
        services.round_launch(
            actor=command_user, name="x", areas=[tree.street], starts_at=START, deadline=START
        )
    with pytest.raises(DomainError, match="pool size"):
        services.round_launch(
            actor=command_user,
            name="x",
            areas=[tree.street],
            starts_at=START,
            deadline=START + dt.timedelta(hours=1),
            pool_controlled=0,
        )
    with pytest.raises(DomainError):
        services.round_launch(
            actor=command_user, name="x", areas=[], deadline=START + dt.timedelta(hours=1)
        )


def test_nested_areas_are_kept_once_and_every_building_gets_a_row(command_user, tree):
    rnd = services.round_launch(
        actor=command_user,
        name="x",
        areas=[tree.street, tree.community_a],
        starts_at=START,
        deadline=START + dt.timedelta(hours=1),
    )
    assert list(rnd.round_areas.values_list("area_code", flat=True)) == [tree.street.code]
    assert BuildingCoverage.objects.filter(round=rnd).count() == 3
    event = AuditEvent.objects.get(event="testing.round_launch")
    assert event.actor == command_user and event.detail["buildings"] == 3


def test_pool_sizes_and_deadline_change_with_a_reason_on_record(command_user, rnd):
    with pytest.raises(DomainError, match="reason"):
        services.round_edit(actor=command_user, round=rnd, reason="", pool_prevention=10)
    services.round_edit(
        actor=command_user, round=rnd, reason="试剂不足", pool_prevention=10, pool_controlled=5
    )
    rnd.refresh_from_db()
    assert (rnd.pool_controlled, rnd.pool_prevention) == (5, 10)
    event = AuditEvent.objects.get(event="testing.round_edit")
    assert event.reason == "试剂不足" and event.detail["pool_prevention"] == ["20", "10"]


def test_the_pool_size_follows_the_zone_in_force(command_user, rnd):
    from fangkong.areas.models import ZoneKind

    assert rnd.pool_size_for(ZoneKind.SEALED) == 1
    assert rnd.pool_size_for(ZoneKind.CONTROLLED) == 10
    assert rnd.pool_size_for(ZoneKind.PREVENTION) == 20
    assert rnd.pool_size_for(None) == 20


def test_closing_needs_a_reason_and_happens_once(command_user, rnd):
    with pytest.raises(DomainError):
        services.round_close(actor=command_user, round=rnd, reason=" ")
    services.round_close(actor=command_user, round=rnd, reason="完成")
    rnd.refresh_from_db()
    assert rnd.status == RoundStatus.CLOSED and rnd.closed_by == command_user
    with pytest.raises(DomainError):
        services.round_close(actor=command_user, round=rnd, reason="again")


def test_rounds_are_seen_by_those_whose_areas_they_touch(rnd, worker_a, street_user, tree):
    from fangkong.factories import make_user

    other_district = make_user("far", "community")
    assert list(TestingRound.objects.for_user(worker_a)) == [rnd]  # a round above them
    assert list(TestingRound.objects.for_user(street_user)) == [rnd]
    assert not TestingRound.objects.for_user(other_district).exists()


def test_sites_are_made_by_site_keepers_of_the_area(worker_a, worker_b, tree, volunteer):
    site = services.site_create(actor=worker_a, area=tree.community_a, name="广场", channels=3)
    assert [c.name for c in site.channels.order_by("name")] == ["1", "2", "3"]
    assert site.area_code == tree.community_a.code
    with pytest.raises(Conflict):
        services.site_create(actor=worker_a, area=tree.community_a, name="广场")
    with pytest.raises(PermissionDenied):
        services.site_create(actor=worker_b, area=tree.community_a, name="越界")
    with pytest.raises(PermissionDenied):
        services.site_create(actor=volunteer, area=tree.community_a, name="志愿者")
    with pytest.raises(DomainError):
        services.site_create(actor=worker_a, area=tree.community_a, name=" ")


def test_site_and_channel_status_changes_are_audited(worker_a, site_a):
    services.site_set_status(actor=worker_a, site=site_a, status=SiteStatus.PAUSED, reason="午休")
    channel = services.channel_add(actor=worker_a, site=site_a)
    assert channel.name == "3"
    services.channel_set_status(actor=worker_a, channel=channel, status=SiteStatus.CLOSED)
    events = list(AuditEvent.objects.values_list("event", flat=True))
    assert "testing.site_status" in events and "testing.channel_status" in events
    with pytest.raises(DomainError):
        services.site_set_status(actor=worker_a, site=site_a, status="broken")


def test_a_paused_site_still_takes_swabs_already_taken(worker_a, sampler, site_a, rnd, resident_a):
    services.site_set_status(actor=worker_a, site=site_a, status=SiteStatus.PAUSED)
    results = upload(sampler, Channel(rnd, site_a.channels.first()).tube([resident_a]))
    assert {r.status for r in results} == {"accepted"}


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_one_upload_racing_store_it_once(tree, command_user, people_a, sampler):
    """A device retries while its first upload is still in flight (PostgreSQL: the
    second waits on the first's unique keys, then answers as a replay)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one writer at a time")
    rnd = launch(command_user, tree.street)
    site = services.site_create(actor=command_user, area=tree.community_a, name="并发", channels=1)
    events = Channel(rnd, site.channels.get()).tube(people_a)
    barrier, answers, errors = threading.Barrier(2), [], []

    def send():
        from django.db import connection as conn

        try:
            barrier.wait()
            answers.append(upload(sampler, events))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Either both stored-or-replayed, or one was told to retry (busy): never twice.
    assert all(type(e).__name__ == "Busy" for e in errors)
    assert Sample.objects.count() == len(people_a)
    assert Tube.objects.count() == 1 and UploadEvent.objects.count() == 2
    assert BuildingCoverage.objects.get(round=rnd, area_code=tree.building_a1.code).sampled == 5
    for answer in answers:
        assert [r.status for r in answer] == ["accepted"] * len(events)
