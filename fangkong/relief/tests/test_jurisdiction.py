"""A need of community A is out of reach from community B however it is asked: pages,
API, queue filters, suggestions, numbers, a guessed id; a resident sees their own
household only; a volunteer only the tasks given to them."""

import pytest
from django.urls import reverse

from fangkong.accounts.tests.helpers import api_as
from fangkong.factories import make_user
from fangkong.relief import services
from fangkong.relief.models import ReliefRequest

from .conftest import ask

pytestmark = pytest.mark.django_db


@pytest.fixture
def need_a(asker):
    return ask(asker, "medicine", detail="A社区的药").request


def test_the_queue_holds_only_ones_own_community(need_a, worker_a, worker_b, street_user, asker_b):
    need_b = ask(asker_b, "meals").request
    assert list(ReliefRequest.objects.in_jurisdiction(worker_b)) == [need_b]
    assert set(ReliefRequest.objects.in_jurisdiction(street_user)) == {need_a, need_b}


def test_pages_of_another_community_are_not_found(need_a, worker_b, client_for, tree):
    client = client_for(worker_b)
    for name in ("relief:request",):
        assert client.get(reverse(name, args=[need_a.pk])).status_code == 404
    for name in (
        "relief:dispatch",
        "relief:urgency",
        "relief:reopen",
        "relief:call",
        "relief:cancel",
    ):
        assert (
            client.post(
                reverse(name, args=[need_a.pk]), {"reason": "x", "urgency": "critical"}
            ).status_code
            == 404
        )
    page = client.get(reverse("relief:queue"), {"area": tree.community_a.code}).content.decode()
    assert "A社区的药" not in page and f"#{need_a.pk}" not in page
    need_a.refresh_from_db()
    assert need_a.urgency == "urgent" and need_a.status == "open"


def test_the_api_of_another_community_is_not_found(need_a, worker_b, tree, volunteer):
    api = api_as(worker_b)
    assert api.get(f"/relief/requests/{need_a.pk}").status_code == 404
    assert api.get(f"/relief/requests/{need_a.pk}/history").status_code == 404
    assert api.get(f"/relief/requests/{need_a.pk}/suggestions").status_code == 404
    assert (
        api.post(f"/relief/requests/{need_a.pk}/dispatch", {"assignee": volunteer.pk}).status_code
        == 404
    )
    assert (
        api.post(
            "/relief/requests/dispatch-batch", {"requests": [need_a.pk], "assignee": volunteer.pk}
        ).status_code
        == 404
    )
    assert api.get("/relief/requests", {"area": tree.community_a.code}).json()["items"] == []
    assert api.get(f"/relief/numbers/{tree.community_a.code}").status_code == 404
    assert api.get(f"/relief/numbers/{tree.street.code}").status_code == 404


def test_a_resident_sees_only_their_households_needs(need_a, asker_b, client_for):
    api = api_as(asker_b)
    assert api.get(f"/relief/requests/{need_a.pk}").status_code == 404
    assert api.get("/relief/requests").json()["items"] == []
    client = client_for(asker_b)
    assert "A社区的药" not in client.get(reverse("relief:mine")).content.decode()
    assert client.post(reverse("relief:confirm", args=[need_a.pk])).status_code == 404
    assert (
        client.post(reverse("relief:complain", args=[need_a.pk]), {"reason": "x"}).status_code
        == 404
    )
    # Nor the queue, nor the staff pages.
    assert client.get(reverse("relief:queue")).status_code == 403
    assert client.get(reverse("relief:request", args=[need_a.pk])).status_code in (403, 404)


def test_a_volunteer_sees_the_tasks_given_to_them_only(
    need_a, worker_a, volunteer, tree, client_for, asker_b
):
    other = make_user("vol_other", "worker", tree.community_a)
    services.request_dispatch(actor=worker_a, request=need_a, assignee=volunteer)
    assert list(ReliefRequest.objects.for_user(volunteer)) == [need_a]
    assert list(ReliefRequest.objects.for_user(other)) == []
    client = client_for(other)
    assert client.get(reverse("relief:task", args=[need_a.pk])).status_code == 404
    assert client.get(reverse("relief:queue")).status_code == 403
    assert api_as(other).get(f"/relief/requests/{need_a.pk}").status_code == 404
    # The one it was given to sees the address and a masked phone, never an ID number.
    page = client_for(volunteer).get(reverse("relief:task", args=[need_a.pk])).content.decode()
    assert "138****8000" in page and "13800138000" not in page
    assert need_a.household.building.name in page
    assert tree.household_a1.residents.first().id_masked not in page


def test_numbers_pages_follow_the_jurisdiction(worker_b, client_for, tree, need_a):
    client = client_for(worker_b)
    assert (
        client.get(reverse("relief:numbers_area", args=[tree.community_a.code])).status_code == 404
    )
    assert (
        client.get(reverse("relief:numbers_export", args=[tree.community_a.code])).status_code
        == 404
    )
    assert (
        client.get(reverse("relief:numbers_area", args=[tree.community_b.code])).status_code == 200
    )


def test_escalations_of_another_community_cannot_be_acknowledged(need_a, worker_b, client_for):
    from fangkong.relief.models import Escalation

    row = Escalation.objects.create(request=need_a, area_code=need_a.area_code, urgency="urgent")
    assert (
        client_for(worker_b).post(reverse("relief:escalation_ack", args=[row.pk])).status_code
        == 404
    )
    row.refresh_from_db()
    assert row.acknowledged_at is None
