"""Searching by number tells no more than the masked number on the screen.

The attack this closes: a role that sees `4311**********1234` searched `51234`,
`61234`, … and kept the digit that still found the person, rebuilding the whole ID
number in about a hundred searches, unaudited, while /reveal refused it.
"""

import pytest
from django.test import override_settings
from django.urls import reverse

from fangkong.accounts.tests.helpers import api_as, error_of
from fangkong.core.errors import PermissionDenied, RateLimited
from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident, make_user
from fangkong.people import services

pytestmark = pytest.mark.django_db

# A sampler no longer lists residents at all (core.sight: it resolves a scanned code).
MASKED_ROLES = ["grid", "building", "inspector"]


@pytest.fixture
def target(tree):
    return make_resident(tree.household_a1, "张三丰", phone="13712345678")


def _found_by_api(client, q: str, target) -> bool | None:
    response = client.get("/residents/", {"q": q})
    if response.status_code != 200:
        error_of(response)  # a refusal comes in the one error shape
        return None
    return target.pk in {item["id"] for item in response.json()["items"]}


def rebuild(found, tail: str) -> str:
    """The attack: extend the known tail one character at a time, keeping the digit
    that still finds the person. Returns as much of the number as it could learn."""
    known = tail
    while len(known) < 18:
        hits = [d for d in "0123456789" if found(d + known)]
        if len(hits) != 1:
            break
        known = hits[0] + known
    return known


@pytest.mark.parametrize("role", [*MASKED_ROLES, "community", "command"])
def test_digit_by_digit_rebuild_of_an_id_number_gets_nothing_past_the_tail(tree, target, role):
    user = make_user(f"probe_{role}", role, tree.community_a)
    client = api_as(user)
    assert _found_by_api(client, target.id_tail, target)  # the tail finds the person
    learned = rebuild(lambda q: _found_by_api(client, q, target), target.id_tail)
    assert learned == target.id_tail
    learned = rebuild(lambda q: _found_by_api(client, q, target), target.phone_tail)
    assert learned == target.phone_tail


def test_rebuild_through_the_page_gets_nothing_past_the_tail(client_for, tree, target):
    client = client_for(make_user("grid", "grid", tree.community_a))
    link = reverse("people:detail", args=[target.pk])

    def found(q):
        return link in client.get(reverse("people:search"), {"q": q}).content.decode()

    assert found(target.id_tail)
    assert rebuild(found, target.id_tail) == target.id_tail
    refused = client.get(reverse("people:search"), {"q": "5" + target.id_tail})
    assert refused.status_code == 403
    assert "末4位" in refused.content.decode()


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_a_masked_role_cannot_confirm_a_guessed_whole_number(tree, target, role):
    user = make_user(f"guess_{role}", role, tree.community_a)
    client = api_as(user)
    # The right guess and a wrong one get the same refusal: no oracle.
    for guess in (target.id_number(), target.phone(), "430102199001011234"[:-1] + "5"):
        response = client.get("/residents/", {"q": guess})
        assert response.status_code == 403, guess
        assert error_of(response)["field"] == "q"
    with pytest.raises(PermissionDenied):
        services.resident_search(actor=user, q=target.id_number())
    assert not AuditEvent.objects.filter(event="people.resident_search_number").exists()


def test_a_whole_number_search_by_a_revealing_role_is_exact_and_audited(worker_a, target):
    client = api_as(worker_a)
    for q in (target.id_number(), "137 1234 5678"):
        items = client.get("/residents/", {"q": q}).json()["items"]
        assert [i["id"] for i in items] == [target.pk]
    events = list(AuditEvent.objects.filter(event="people.resident_search_number").order_by("id"))
    assert [e.actor for e in events] == [worker_a, worker_a]
    assert [e.target_id for e in events] == [str(target.pk)] * 2
    assert events[0].detail["as"] == ["id:ID"] and "phone" in events[1].detail["as"]
    assert events[0].detail["found"] == [target.pk]
    # The log names the search by the masked number only.
    assert events[0].target_label == target.id_masked
    for e in events:
        assert target.id_number() not in str(e.detail) + e.target_label
        assert target.phone() not in str(e.detail) + e.target_label


def test_a_whole_number_that_finds_nobody_is_audited_too(worker_a, target):
    assert api_as(worker_a).get("/residents/", {"q": "13800000000"}).json()["items"] == []
    event = AuditEvent.objects.get(event="people.resident_search_number")
    assert "phone" in event.detail["as"] and event.detail["found"] == []
    assert event.target_id == ""


@override_settings(SEARCH_RATE_LIMIT=3, SEARCH_RATE_WINDOW_S=60)
def test_searches_are_limited_per_user_with_a_bilingual_429(worker_a, worker_b, target, clock):
    client = api_as(worker_a)
    for q in ("张", "zsf", "9999"):
        assert client.get("/residents/", {"q": q}).status_code == 200
    # Listing without a search term is paging, not searching: not counted.
    assert client.get("/residents/").status_code == 200
    response = client.get("/residents/", {"q": "张"})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    error = error_of(response)
    assert error["code"] == "rate_limited" and "过于频繁" in error["message_zh"]
    assert "too many" in error["message"]
    # Another user has their own count.
    assert api_as(worker_b).get("/residents/", {"q": "李"}).status_code == 200
    clock.shift(61)
    assert client.get("/residents/", {"q": "张"}).status_code == 200


@override_settings(SEARCH_RATE_LIMIT=2, SEARCH_RATE_WINDOW_S=60)
def test_refused_searches_count_so_probing_is_stopped_too(worker_a, target):
    for _ in range(2):
        assert api_as(worker_a).get("/residents/", {"q": "123"}).status_code == 400
    with pytest.raises(RateLimited):
        services.resident_search(actor=worker_a, q=target.id_tail)


@override_settings(SEARCH_RATE_LIMIT=1, SEARCH_RATE_WINDOW_S=60)
def test_the_search_page_says_so_when_the_limit_is_reached(client_for, worker_a, target):
    client = client_for(worker_a)
    assert client.get(reverse("people:search"), {"q": "张"}).status_code == 200
    response = client.get(reverse("people:search"), {"q": "张"})
    assert response.status_code == 429 and response["Retry-After"]
    page = response.content.decode()
    assert "查找居民过于频繁" in page and "too many resident searches" in page
    # Inside the page (htmx) the message replaces the results, with a 200 htmx swaps.
    partial = client.get(reverse("people:search"), {"q": "张"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "过于频繁" in partial.content.decode()
