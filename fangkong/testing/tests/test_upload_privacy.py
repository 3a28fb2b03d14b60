"""The upload endpoint tells nobody a stranger's name: a replayed client id answers its
stored result only to the user and device that stored it, and a person sampled by
typed ID number or code is confirmed by a masked name and ID, wherever they live."""

import json

import pytest

from fangkong.accounts.services import token_issue
from fangkong.core.actors import SYSTEM
from fangkong.core.text import mask_name
from fangkong.factories import make_user
from fangkong.people.codes import code_for
from fangkong.testing import selectors
from fangkong.testing.models import FirstSample, Sample, UploadEvent

from .conftest import cid, new_barcode

pytestmark = pytest.mark.django_db


def _post(client, user, events, device="phone-a"):
    token = token_issue(actor=SYSTEM, user=user)
    response = client.post(
        "/api/v1/testing/uploads",
        data=json.dumps({"device_id": device, "events": events}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content[:300]
    return response


def _sample(rnd, channel, tube, **person):
    return {
        "client_id": cid(),
        "type": "sample",
        "at": "2026-11-23T17:59:00+08:00",
        "round": rnd.pk,
        "site": channel.site_id,
        "channel": channel.pk,
        "tube": tube,
        **person,
    }


@pytest.fixture
def sampler_b(tree):
    return make_user("sampler_b", "sampler", tree.community_b)


def test_names_are_masked_as_a_sampler_confirms_them():
    assert [mask_name(n) for n in ("张三丰", "张三", "欧阳娜娜", "李", "", "John Smith")] == [
        "张*丰",
        "张*",
        "欧**娜",
        "*",
        "",
        "J********h",
    ]


def test_a_replayed_client_id_tells_another_user_nothing(
    client, sampler, sampler_b, rnd, site_a, site_b, resident_a
):
    channel = site_a.channels.first()
    event = _sample(rnd, channel, new_barcode(), code=code_for(resident_a))
    mine = _post(client, sampler, [event]).json()["results"][0]
    assert mine["status"] == "accepted" and mine["resident"]["name"] == "张*丰"

    # Someone of another community who learnt (or guessed) the client id sends it again.
    theft = _post(client, sampler_b, [event], device="phone-b")
    (answer,) = theft.json()["results"]
    assert answer["status"] == "rejected" and answer["code"] == "client_id_taken"
    assert "resident" not in answer and answer["message"] and answer["message_zh"]
    body = theft.content.decode()
    assert resident_a.name not in body and resident_a.id_masked not in body
    assert "张*丰" not in body
    # Nothing was written, and the owner's own replay still answers in full.
    assert Sample.objects.count() == 1 and not UploadEvent.objects.exists()
    assert _post(client, sampler, [event]).json()["results"][0] == mine


def test_the_same_user_on_another_device_gets_the_neutral_answer_too(
    client, sampler, rnd, site_a, resident_a
):
    event = _sample(rnd, site_a.channels.first(), new_barcode(), code=code_for(resident_a))
    _post(client, sampler, [event], device="phone-a")
    (answer,) = _post(client, sampler, [event], device="phone-x").json()["results"]
    assert answer["code"] == "client_id_taken" and "resident" not in answer


def test_a_replayed_refusal_is_not_told_to_another_user_either(
    client, sampler, sampler_b, rnd, site_a
):
    event = _sample(rnd, site_a.channels.first(), new_barcode(), code="FK1.bad.code")
    assert _post(client, sampler, [event]).json()["results"][0]["code"] == "bad_code"
    (answer,) = _post(client, sampler_b, [event], device="phone-b").json()["results"]
    assert answer["code"] == "client_id_taken"


@pytest.mark.parametrize("how", ["typed", "code"])
def test_a_person_from_another_community_is_sampled_counted_at_home_and_shown_masked(
    client, how, sampler_b, tree, rnd, site_b, resident_a
):
    """People queue at any site: a sampler of community B samples a resident of A."""
    person = (
        {"id_type": "ID", "id_number": resident_a.id_number()}
        if how == "typed"
        else {"code": code_for(resident_a)}
    )
    before = selectors.coverage_of_area(rnd, tree.building_a1.code).sampled
    response = _post(
        client, sampler_b, [_sample(rnd, site_b.channels.first(), new_barcode(), **person)]
    )
    (answer,) = response.json()["results"]
    assert answer["status"] == "accepted"
    assert answer["resident"] == {"name": "张*丰", "id_masked": resident_a.id_masked}
    assert resident_a.name not in response.content.decode()
    # Counted where they live, not where they were sampled.
    marker = FirstSample.objects.get(round=rnd, resident=resident_a)
    assert marker.area_code == resident_a.area_code
    assert selectors.coverage_of_area(rnd, tree.building_a1.code).sampled == before + 1
