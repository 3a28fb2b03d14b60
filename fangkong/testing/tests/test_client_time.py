"""A device's time is a claim: accepted inside the window around the receive time,
flagged beyond the skew allowance; one bad time refuses its event, never the batch, and
never takes a page down afterwards."""

import datetime as dt
import json

import pytest
from django.test import override_settings
from django.urls import reverse

from fangkong.accounts.services import token_issue
from fangkong.accounts.tests.helpers import api_as
from fangkong.core.actors import SYSTEM
from fangkong.factories import new_id_number
from fangkong.labs import services as labs_services
from fangkong.people.codes import code_for
from fangkong.testing import services
from fangkong.testing.models import Sample, SampleFlag, Tube, UploadEvent

from .conftest import cid, new_barcode

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
HOSTILE_TIMES = [
    "9999-12-31T23:59:59+08:00",
    "0001-01-01T00:00:00+08:00",
    "0001-01-01T00:00:00",
    "2026-11-25T10:00:00+20:00",  # 14:00 UTC the next day: ahead of the window
    "2026-01-01T08:00:00+08:00",  # ten months back
]


def _event(type_, rnd, channel, tube, at, **extra):
    return {
        "client_id": cid(),
        "type": type_,
        "at": at,
        "round": rnd.pk,
        "site": channel.site_id,
        "channel": channel.pk,
        "tube": tube,
        **extra,
    }


def _upload(client, user, body):
    token = token_issue(actor=SYSTEM, user=user)
    return client.post(
        "/api/v1/testing/uploads",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_hostile_times_refuse_their_events_and_the_rest_of_the_batch_goes_in(
    client, clock, sampler, rnd, site_a, people_a, command_user, worker_a
):
    clock.move_to(dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC), tick=False)
    channel = site_a.channels.first()
    tube = new_barcode()
    good = "2026-11-23T17:59:00+08:00"
    # +20:00 is beyond what PostgreSQL takes as an offset; the instant is in the window.
    far_offset = "2026-11-24T05:58:00+20:00"
    events = [_event("tube_open", rnd, channel, tube, good, pool_size=10)]
    events += [
        _event("sample", rnd, channel, tube, at, code=code_for(person))
        for at, person in zip(HOSTILE_TIMES, people_a, strict=True)
    ]
    events.append(_event("sample", rnd, channel, tube, far_offset, id_number=new_id_number()))
    events.append(_event("tube_seal", rnd, channel, tube, good))
    response = _upload(client, sampler, {"device_id": "phone-1", "events": events})

    assert response.status_code == 200, response.content[:300]
    results = response.json()["results"]
    statuses = [r["status"] for r in results]
    assert statuses == ["accepted"] + ["rejected"] * 5 + ["accepted", "accepted"], results
    for event, result in zip(events[1:6], results[1:6], strict=True):
        assert result["code"] == "bad_time"
        assert (
            event["client_id"] in result["message"] and event["client_id"] in result["message_zh"]
        )
        assert "at" in result["message"] and "时间" in result["message_zh"]
        assert "7 days" in result["message"] and "7天" in result["message_zh"]
    # The far offset was stored as its instant in UTC.
    stored = Sample.objects.get(client_id=events[6]["client_id"])
    assert stored.at == dt.datetime(2026, 11, 23, 9, 58, tzinfo=dt.UTC)
    # A refused time is kept as the device sent it, never in a time column.
    kept = UploadEvent.objects.get(client_id=events[2]["client_id"])
    assert kept.at is None and kept.payload["at"].startswith("0001-01-01")
    assert Tube.objects.get(barcode=tube).sample_count == 1

    # Afterwards every page over the round still answers.
    labs_services.sampling_tally_refresh(settle=dt.timedelta(0))
    client.force_login(command_user)
    page = client.get(reverse("labs:flow", args=[rnd.pk]))
    assert page.status_code == 200
    throughput = api_as(worker_a).get(f"/labs/rounds/{rnd.pk}/throughput")
    assert throughput.status_code == 200
    assert throughput.json()[0]["channels"][0]["people"] == 1
    # A replay of the refused events answers the same refusal.
    again = _upload(client, sampler, {"device_id": "phone-1", "events": events})
    assert again.json()["results"] == results


def test_the_window_comes_from_settings(clock, sampler, rnd, site_a, resident_a):
    now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    clock.move_to(now, tick=False)
    channel = site_a.channels.first()

    def sample_at(at):
        tube = new_barcode()
        ev = services.ingest.Event(
            client_id=cid(),
            type="sample",
            at=at,
            round=rnd.pk,
            site=site_a.pk,
            channel=channel.pk,
            tube=tube,
            code=code_for(resident_a),
        )
        return services.samples_upload(actor=sampler, device_id="d", events=[ev])[0]

    two_days = now - dt.timedelta(days=2)
    assert sample_at(two_days).status == "accepted"
    with override_settings(FANGKONG_CLIENT_TIME_PAST_S=86400):
        refused = sample_at(two_days)
    assert refused.status == "rejected" and "1 day before" in refused.message
    with override_settings(FANGKONG_CLIENT_TIME_FUTURE_S=3600):
        assert sample_at(now + dt.timedelta(minutes=30)).status == "accepted"
    assert sample_at(now + dt.timedelta(minutes=30)).status == "rejected"


def test_a_time_ahead_of_the_server_beyond_three_minutes_is_kept_and_flagged(
    clock, sampler, channel_a, rnd, people_a
):
    now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    clock.move_to(now, tick=False)
    events = channel_a.tube(people_a[:3], seal=False)
    events[1].at = now + dt.timedelta(minutes=2)  # within the allowance
    events[2].at = now + dt.timedelta(minutes=5)  # ahead: a wrong clock
    events[3].at = now - dt.timedelta(hours=5)  # waited on the phone: not a wrong clock
    results = services.samples_upload(actor=sampler, device_id="d", events=events)
    assert [r.status for r in results] == ["accepted"] * 4
    assert [("clock_skew" in r.flags) for r in results[1:]] == [False, True, False]
    skewed = Sample.objects.get(client_id=events[2].client_id)
    assert skewed.flags & SampleFlag.CLOCK_SKEW
    assert skewed.at == now + dt.timedelta(minutes=5)  # kept as claimed
    assert skewed.received_at == now  # the server's own time beside it


def test_a_device_clock_off_by_more_than_three_minutes_flags_the_uploads_samples(
    client, clock, sampler, rnd, site_a, people_a
):
    now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    clock.move_to(now, tick=False)
    channel = site_a.channels.first()
    at = (now - dt.timedelta(minutes=1)).astimezone(SHANGHAI).isoformat()
    slow = (now - dt.timedelta(minutes=10)).astimezone(SHANGHAI).isoformat()
    tube = new_barcode()
    body = {
        "device_id": "phone-1",
        "device_time": slow,
        "events": [_event("sample", rnd, channel, tube, at, code=code_for(people_a[0]))],
    }
    (result,) = _upload(client, sampler, body).json()["results"]
    assert result["status"] == "accepted" and result["flags"] == ["clock_skew"]
    body = {
        "device_id": "phone-1",
        "device_time": now.isoformat(),
        "events": [_event("sample", rnd, channel, tube, at, code=code_for(people_a[1]))],
    }
    (result,) = _upload(client, sampler, body).json()["results"]
    assert result["flags"] == []


def test_a_door_to_door_closing_at_year_one_is_refused_in_both_languages(
    client, clock, rnd, tree, worker_a, resident_a
):
    task = services.home_task_create(actor=worker_a, round=rnd, resident=resident_a)
    response = api_as(worker_a).post(
        f"/testing/home-tasks/{task.pk}/close",
        {"tube": "H0001", "at": "0001-01-01T00:00:00+08:00"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert "earlier than the accepted window" in error["message"]
    assert "早于可接受范围" in error["message_zh"]
    assert not Sample.objects.filter(round=rnd).exists()
