"""Pages: rounds, coverage drill-down, the door-knocking list, sites, door-to-door."""

import datetime as dt

import pytest
from django.urls import reverse

from fangkong.factories import make_resident, make_user
from fangkong.testing import services
from fangkong.testing.models import (
    Exemption,
    HomeSamplingTask,
    SamplingSite,
    TaskStatus,
    TestingRound,
)

from .conftest import START, Channel, new_barcode, upload

pytestmark = pytest.mark.django_db


def test_the_command_centre_launches_a_round_from_the_page(client_for, command_user, tree):
    client = client_for(command_user)
    page = client.get(reverse("testing:rounds"))
    assert page.status_code == 200
    assert reverse("testing:round_launch") in page.content.decode()
    response = client.post(
        reverse("testing:round_launch"),
        {
            "name": "全员第一轮",
            "areas": [tree.community_a.pk, tree.community_b.pk],
            "deadline": (START + dt.timedelta(hours=10)).strftime("%Y-%m-%dT%H:%M"),
            "starts_at": START.strftime("%Y-%m-%dT%H:%M"),
            "pool_sealed": 1,
            "pool_controlled": 10,
            "pool_prevention": 20,
        },
    )
    rnd = TestingRound.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "testing:round", args=[rnd.pk]
    )
    assert sorted(rnd.round_areas.values_list("area_code", flat=True)) == [
        tree.community_a.code,
        tree.community_b.code,
    ]
    detail = client.get(reverse("testing:round", args=[rnd.pk]))
    assert detail.status_code == 200 and tree.community_a.name in detail.content.decode()


def test_a_community_worker_cannot_launch_or_close_a_round(client_for, worker_a, rnd):
    client = client_for(worker_a)
    assert client.post(reverse("testing:round_launch"), {}).status_code == 403
    assert (
        client.post(reverse("testing:round_close", args=[rnd.pk]), {"reason": "x"}).status_code
        == 403
    )
    assert client.get(reverse("testing:rounds")).status_code == 200


def test_coverage_drills_down_to_the_building_list(
    client_for, worker_a, sampler, tree, people_a, command_user, site_a
):
    from .conftest import launch

    rnd = launch(command_user, tree.street)
    upload(sampler, Channel(rnd, site_a.channels.first()).tube(people_a[:2]))
    client = client_for(worker_a)
    community = client.get(reverse("testing:coverage", args=[rnd.pk, tree.community_a.code]))
    assert community.status_code == 200
    assert (
        reverse("testing:coverage", args=[rnd.pk, tree.compound_a.code])
        in community.content.decode()
    )
    compound = client.get(reverse("testing:coverage", args=[rnd.pk, tree.compound_a.code]))
    assert (
        reverse("testing:unsampled", args=[rnd.pk, tree.building_a1.code])
        in compound.content.decode()
    )
    listing = client.get(reverse("testing:unsampled", args=[rnd.pk, tree.building_a1.code]))
    body = listing.content.decode()
    assert listing.status_code == 200
    assert people_a[4].name in body and people_a[0].name not in body
    # The print list counts doors as doors: three people still due behind one door.
    assert listing.context["households"] == 1 and len(listing.context["residents"]) == 3


def test_another_communitys_pages_are_not_found(client_for, worker_a, tree, rnd, command_user):
    client = client_for(worker_a)
    assert (
        client.get(reverse("testing:coverage", args=[rnd.pk, tree.community_b.code])).status_code
        == 404
    )
    assert (
        client.get(reverse("testing:unsampled", args=[rnd.pk, tree.building_b1.code])).status_code
        == 404
    )
    assert client.get(reverse("testing:sites", args=[tree.community_b.code])).status_code == 404
    from .conftest import launch

    only_b = launch(command_user, tree.community_b, name="B")
    assert client.get(reverse("testing:round", args=[only_b.pk])).status_code == 404


def test_an_exemption_from_the_list_page(client_for, worker_a, tree, people_a, command_user):
    from .conftest import launch

    rnd = launch(command_user, tree.street)
    client = client_for(worker_a)
    person = people_a[1]
    client.post(
        reverse("testing:exemption_grant", args=[rnd.pk, person.pk]),
        {"reason": "hospital", "note": "市一医院"},
    )
    exemption = Exemption.objects.get()
    assert exemption.resident == person and exemption.granted_by == worker_a
    listing = client.get(reverse("testing:unsampled", args=[rnd.pk, tree.building_a1.code]))
    assert "市一医院" in listing.content.decode()
    client.post(reverse("testing:exemption_end", args=[exemption.pk]), {"reason": "出院"})
    exemption.refresh_from_db()
    assert exemption.ended_at is not None and exemption.end_reason == "出院"


def test_sites_and_channels_are_made_and_paused_on_the_page(client_for, worker_a, tree):
    client = client_for(worker_a)
    url = reverse("testing:sites", args=[tree.community_a.code])
    client.post(url, {"name": "东风广场", "channels": 2, "address": "东风路1号"})
    site = SamplingSite.objects.get()
    assert site.channels.count() == 2
    client.post(reverse("testing:site_status", args=[site.pk]), {"status": "paused"})
    client.post(reverse("testing:channel_add", args=[site.pk]))
    channel = site.channels.get(name="1")
    client.post(reverse("testing:channel_status", args=[channel.pk]), {"status": "closed"})
    site.refresh_from_db()
    channel.refresh_from_db()
    assert site.status == "paused" and channel.status == "closed" and site.channels.count() == 3
    assert "东风广场" in client.get(url).content.decode()


def test_door_to_door_tasks_by_building_closed_with_a_tube(
    client_for, worker_a, tree, command_user
):
    from .conftest import launch

    person = make_resident(tree.household_a2, "卧床", tags=4)
    rnd = launch(command_user, tree.street)
    client = client_for(worker_a)
    client.post(reverse("testing:tasks_generate", args=[rnd.pk]))
    task = HomeSamplingTask.objects.get()
    sampler = make_user("sampler_a", "sampler", tree.community_a)
    client.post(
        reverse("testing:tasks_assign", args=[rnd.pk, task.area_code]),
        {"assignee": sampler.pk, "team_name": "入户一组"},
    )
    task.refresh_from_db()
    assert task.team == sampler and task.due_at is not None
    page = client.get(reverse("testing:tasks", args=[rnd.pk]))
    assert person.name in page.content.decode() and "入户一组" in page.content.decode()
    barcode = new_barcode()
    response = client.post(
        reverse("testing:task_close", args=[task.pk]), {"tube": barcode}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and barcode in response.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_a_sealed_household_task_says_who_goes_in_the_next_tube(
    client_for, worker_a, tree, command_user
):
    from fangkong.areas.services import zone_declare

    from .conftest import launch

    first = make_resident(tree.household_a1, "甲一")
    second = make_resident(tree.household_a1, "乙二")
    zone_declare(actor=command_user, area=tree.building_a1, kind="sealed", reason="阳性病例")
    rnd = launch(command_user, tree.street)
    services.home_tasks_generate(actor=worker_a, round=rnd)
    task = HomeSamplingTask.objects.get()
    client = client_for(worker_a)
    url = reverse("testing:task_close", args=[task.pk])
    page = client.post(url, {"tube": new_barcode()}, HTTP_HX_REQUEST="true").content.decode()
    assert second.name in page and first.name not in page and 'name="tube"' in page
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    last = new_barcode()
    page = client.post(url, {"tube": last}, HTTP_HX_REQUEST="true").content.decode()
    assert last in page and 'name="tube"' not in page
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_a_task_closed_with_a_taken_tube_shows_why(
    client_for, worker_a, tree, command_user, sampler, site_a
):
    from .conftest import launch

    make_resident(tree.household_a2, "卧床", tags=4)
    rnd = launch(command_user, tree.street)
    services.home_tasks_generate(actor=worker_a, round=rnd)
    barcode = new_barcode()
    upload(sampler, Channel(rnd, site_a.channels.first()).tube([], barcode=barcode))
    task = HomeSamplingTask.objects.get()
    response = client_for(worker_a).post(
        reverse("testing:task_close", args=[task.pk]), {"tube": barcode}, HTTP_HX_REQUEST="true"
    )
    assert "task-error" in response.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_the_menu_shows_testing_rounds_to_those_who_read_coverage(client_for, worker_a, volunteer):
    assert (
        reverse("testing:rounds")
        in client_for(worker_a).get(reverse("testing:rounds")).content.decode()
    )


def test_samplers_and_volunteers_reach_their_door_to_door_tasks(
    client_for, tree, command_user, worker_a, volunteer
):
    from .conftest import launch

    person = make_resident(tree.household_a2, "卧床", tags=4)
    rnd = launch(command_user, tree.street)
    sampler = make_user("sampler_a", "sampler", tree.community_a)
    services.home_tasks_generate(actor=worker_a, round=rnd)
    tasks = list(HomeSamplingTask.objects.all())
    services.home_tasks_assign(actor=worker_a, tasks=tasks, team=sampler)
    for user in (sampler, volunteer):
        client = client_for(user)
        home = client.get(reverse("testing:round", args=[rnd.pk]))
        assert home.status_code == 200  # no 403 on the round they work on
        body = home.content.decode()
        assert reverse("testing:my_tasks") in body  # the menu link and the button
    mine = client_for(sampler).get(reverse("testing:my_tasks")).content.decode()
    assert person.name in mine and "task-" in mine
    assert (
        person.name not in client_for(volunteer).get(reverse("testing:my_tasks")).content.decode()
    )
    # The round page of a sampler shows no coverage drill-down (they do not browse people).
    assert reverse("testing:coverage", args=[rnd.pk, tree.community_a.code]) not in (
        client_for(sampler).get(reverse("testing:round", args=[rnd.pk])).content.decode()
    )
