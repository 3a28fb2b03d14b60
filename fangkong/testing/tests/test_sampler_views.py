"""The sampler's page without a browser: who may open it, what it carries, how it uploads."""

import json
import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fangkong.factories import make_user
from fangkong.people.codes import code_for, public_key_b64
from fangkong.testing.models import Sample

pytestmark = pytest.mark.django_db

PAGE = "/testing/sampler/"


def _config(response) -> dict:
    match = re.search(
        r'<script id="sampler-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the page embeds its configuration"
    return json.loads(match.group(1))


def test_the_page_lives_where_the_guide_says():
    assert reverse("testing:sampler") == PAGE


def test_a_sampler_opens_the_page(client_for, sampler, rnd, site_a):
    response = client_for(sampler).get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-upload-url="/api/v1/testing/uploads"' in page
    assert 'data-config-url="/api/v1/testing/sampler-config"' in page
    assert "testing/sampler.js" in page


def test_the_page_keeps_the_csp(client_for, sampler, rnd, site_a):
    response = client_for(sampler).get(PAGE)
    assert "script-src 'self'" in response["Content-Security-Policy"]
    page = response.content.decode()
    # The only inline <script> is the JSON data block, which never runs.
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert " style=" not in page and "<style" not in page
    assert " onclick=" not in page and " onsubmit=" not in page


def test_the_page_carries_only_the_sites_of_the_samplers_jurisdiction(
    client_for, sampler, rnd, site_a, site_b
):
    config = _config(client_for(sampler).get(PAGE))
    [round_] = config["rounds"]
    assert round_["id"] == rnd.pk
    assert [s["id"] for s in round_["sites"]] == [site_a.pk]
    assert {c["name"] for c in round_["sites"][0]["channels"]} == {
        c.name for c in site_a.channels.all()
    }
    assert config["code_public_key"] == public_key_b64()


def test_a_street_sampler_sees_both_communities_sites(client_for, tree, rnd, site_a, site_b):
    street_sampler = make_user("sampler_street", "sampler", tree.street)
    config = _config(client_for(street_sampler).get(PAGE))
    assert {s["id"] for s in config["rounds"][0]["sites"]} == {site_a.pk, site_b.pk}


@pytest.mark.parametrize("role", ["resident", "worker", "lab", "inspector", "grid"])
def test_roles_that_do_not_sample_are_refused(client_for, tree, role):
    user = make_user(f"u_{role}", role, tree.community_a)
    assert client_for(user).get(PAGE).status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_the_service_worker_is_served_from_below_the_page(client):
    url = reverse("testing:sampler_sw")
    assert url.startswith(PAGE), "its scope must cover the page"
    response = client.get(url)  # no login: a device with an expired session updates it
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-cache"
    assert b'addEventListener("fetch"' in response.content


def test_the_pages_own_upload_works_with_the_session_and_the_csrf_header(
    sampler, rnd, site_a, resident_a
):
    """What sampler.js does: the session cookie, and the CSRF token from its cookie."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(sampler)
    client.get(PAGE)  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    channel = site_a.channels.order_by("name")[0]
    at = timezone.localtime().isoformat()
    base = {"at": at, "round": rnd.pk, "site": site_a.pk, "channel": channel.pk, "tube": "TV0001"}
    body = {
        "device_id": "web-test",
        "events": [
            {**base, "client_id": str(uuid.uuid4()), "type": "tube_open", "pool_size": 10},
            {
                **base,
                "client_id": str(uuid.uuid4()),
                "type": "sample",
                "code": code_for(resident_a),
            },
        ],
    }
    url = "/api/v1/testing/uploads"
    refused = client.post(url, json.dumps(body), content_type="application/json")
    assert refused.status_code in (401, 403)
    assert not Sample.objects.exists()
    response = client.post(
        url, json.dumps(body), content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 200, response.content
    assert [r["status"] for r in response.json()["results"]] == ["accepted", "accepted"]
    # The same batch again (an answer lost on the way): nothing new.
    again = client.post(
        url, json.dumps(body), content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert [r["status"] for r in again.json()["results"]] == ["accepted", "accepted"]
    assert Sample.objects.count() == 1


def test_a_sampler_lands_on_the_page_and_finds_it_in_the_menu(client_for, sampler):
    client = client_for(sampler)
    assert client.get("/")["Location"] == PAGE
    assert f'href="{PAGE}"' in client.get(PAGE).content.decode()


def test_the_menu_offers_sampling_only_to_those_who_may(client_for, tree, worker_a):
    volunteer = make_user("vol", "worker", tree.community_a)
    assert f'href="{PAGE}"' not in client_for(volunteer).get("/areas/").content.decode()
    assert f'href="{PAGE}"' in client_for(worker_a).get("/areas/", follow=True).content.decode()
