"""The upload path: what is stored, what is refused, what is flagged, and replays."""

import datetime as dt

import pytest

from fangkong.areas.services import zone_declare
from fangkong.factories import make_resident, make_user
from fangkong.people.codes import code_for
from fangkong.testing import ingest, selectors
from fangkong.testing.models import (
    BuildingCoverage,
    FirstSample,
    PoolSource,
    RoundStatus,
    Sample,
    SampleFlag,
    Tube,
    UploadEvent,
)

from .conftest import START, Channel, cid, launch, new_barcode, upload

pytestmark = pytest.mark.django_db


def _statuses(results):
    return [r.status for r in results]


def test_a_tube_of_people_is_stored_with_its_samples(people_a, sampler, channel_a, tree, rnd):
    events = channel_a.tube(people_a, pool=10)
    results = upload(sampler, events)
    assert _statuses(results) == ["accepted"] * len(events)
    tube = Tube.objects.get(barcode=events[0].tube)
    assert tube.round == rnd and tube.channel == channel_a.channel and tube.site == channel_a.site
    assert tube.pool_size == 10 and tube.pool_source == PoolSource.OPEN
    assert tube.sample_count == 5 and tube.opened_at == events[0].at
    assert tube.sealed_at == events[-1].at
    assert {s.resident for s in tube.samples.all()} == set(people_a)
    assert all(s.flags == 0 for s in tube.samples.all())
    # The sample results name the person, for the device to show.
    assert results[1].resident == {"name": "张*丰", "id_masked": people_a[0].id_masked}
    cover = BuildingCoverage.objects.get(round=rnd, area_code=tree.building_a1.code)
    assert (cover.expected, cover.sampled, cover.exempt) == (5, 5, 0)


def test_an_upload_replayed_answers_the_same_and_writes_nothing(
    sampler, channel_a, people_a, rnd, django_assert_max_num_queries
):
    events = channel_a.tube(people_a)
    first = upload(sampler, events)
    before = (Sample.objects.count(), UploadEvent.objects.count(), Tube.objects.count())
    again = upload(sampler, events)
    assert [r.as_dict() for r in again] == [r.as_dict() for r in first]
    assert (Sample.objects.count(), UploadEvent.objects.count(), Tube.objects.count()) == before
    assert selectors.coverage_of_area(rnd, rnd.round_areas.get().area_code).sampled == 5


def test_a_client_id_twice_in_one_upload_is_stored_once(sampler, channel_a, resident_a):
    events = channel_a.tube([resident_a])
    results = upload(sampler, [*events, events[1]])
    assert results[-1].as_dict() == results[1].as_dict()
    assert Sample.objects.count() == 1


def test_samples_may_arrive_before_their_tube_open_and_after_its_seal(sampler, channel_a, people_a):
    events = channel_a.tube(people_a, pool=10)
    upload(sampler, events[2:4])  # two samples: the tube is made from them
    tube = Tube.objects.get(barcode=events[0].tube)
    assert tube.pool_source == PoolSource.RULE and tube.pool_size == 20  # no zone: prevention
    upload(sampler, [events[-1], events[0]])  # seal, then open
    upload(sampler, events[1:2] + events[4:-1])
    tube.refresh_from_db()
    assert tube.pool_size == 10 and tube.pool_source == PoolSource.OPEN
    assert tube.sample_count == 5 and tube.sealed_at == events[-1].at
    assert tube.opened_at == events[0].at


def test_a_tube_barcode_used_at_another_channel_is_refused(
    sampler, channel_a, channel_a2, people_a
):
    barcode = new_barcode()
    upload(sampler, channel_a.tube(people_a[:2], barcode=barcode))
    results = upload(sampler, channel_a2.tube(people_a[2:3], barcode=barcode))
    assert _statuses(results) == ["rejected"] * 3
    assert results[0].code == "tube_taken"
    assert barcode in results[0].message and "another channel" in results[0].message
    assert "其他通道" in results[0].message_zh
    assert Tube.objects.get(barcode=barcode).sample_count == 2
    # Refusals are kept for review, with the payload.
    kept = UploadEvent.objects.get(client_id=results[1].client_id)
    assert kept.status == "rejected" and kept.payload["tube"] == barcode


def test_a_taken_tubes_opens_and_seals_are_kept_refused_and_count_nobody(
    sampler, channel_a, channel_a2, people_a, rnd, tree
):
    barcode = new_barcode()
    upload(sampler, channel_a.tube(people_a[:2], barcode=barcode))
    events = channel_a2.tube(people_a[2:4], barcode=barcode)
    results = upload(sampler, events)
    assert {r.code for r in results} == {"tube_taken"}
    kept = UploadEvent.objects.filter(client_id__in=[e.client_id for e in events])
    assert sorted(kept.values_list("type", "status")) == sorted(
        [("sample", "rejected")] * 2 + [("tube_open", "rejected"), ("tube_seal", "rejected")]
    )
    assert Sample.objects.count() == FirstSample.objects.count() == 2
    cover = BuildingCoverage.objects.get(round=rnd, area_code=tree.building_a1.code)
    assert cover.sampled == 2
    assert upload(sampler, events) == results  # and its replay answers the same


def test_a_person_in_a_taken_tube_and_in_an_own_tube_of_one_upload_is_sampled_once(
    sampler, channel_a, channel_a2, people_a, rnd
):
    """The earlier of the person's two samples is in a tube another channel holds: it is
    refused, and the later one, the person's only sample, is no repeat."""
    barcode = new_barcode()
    upload(sampler, channel_a.tube(people_a[:1], barcode=barcode))
    person = people_a[1]
    taken = channel_a2.tube([person], barcode=barcode)
    own = channel_a2.tube([person])
    results = upload(sampler, taken + own)
    assert [r.status for r in results] == ["rejected"] * 3 + ["accepted"] * 3
    assert results[4].flags == []
    sample = Sample.objects.get(client_id=own[1].client_id)
    assert sample.flags == 0
    assert FirstSample.objects.get(round=rnd, resident=person).sample_id == sample.pk


def test_a_tube_barcode_from_another_round_is_refused(
    sampler, channel_a, people_a, command_user, tree, site_a
):
    barcode = new_barcode()
    upload(sampler, channel_a.tube(people_a[:1], barcode=barcode))
    second = launch(command_user, tree.community_a, name="第二轮")
    other = Channel(second, channel_a.channel)
    results = upload(sampler, other.tube(people_a[1:2], barcode=barcode))
    assert results[0].code == "tube_taken" and "another round" in results[0].message


def test_the_same_channel_reopening_its_tube_is_harmless(sampler, channel_a, people_a):
    events = channel_a.tube(people_a[:2], seal=False)
    upload(sampler, events)
    reopen = channel_a.event("tube_open", events[0].tube, pool_size=10)
    more = channel_a.event("sample", events[0].tube, code=code_for(people_a[2]))
    assert _statuses(upload(sampler, [reopen, more])) == ["accepted", "accepted"]
    tube = Tube.objects.get(barcode=events[0].tube)
    assert tube.sample_count == 3 and tube.opened_at == events[0].at


def test_the_same_person_twice_in_a_round_is_kept_and_flagged(
    sampler, channel_a, channel_a2, people_a, rnd, tree
):
    upload(sampler, channel_a.tube(people_a[:1]))
    channel_a2.clock += dt.timedelta(hours=1)
    results = upload(sampler, channel_a2.tube(people_a[:1]))
    assert results[1].status == "accepted" and results[1].flags == ["repeat_in_round"]
    assert Sample.objects.filter(resident=people_a[0]).count() == 2
    assert FirstSample.objects.filter(round=rnd, resident=people_a[0]).count() == 1
    cover = BuildingCoverage.objects.get(round=rnd, area_code=tree.building_a1.code)
    assert cover.sampled == 1


def test_the_earliest_sample_of_a_person_is_the_first_whatever_arrives_first(
    sampler, channel_a, channel_a2, people_a, rnd
):
    later = channel_a2.tube(people_a[:1])
    channel_a.clock = START - dt.timedelta(minutes=30)  # this channel sampled earlier
    earlier = channel_a.tube(people_a[:1])
    upload(sampler, later)
    upload(sampler, earlier)
    flags = {s.client_id: s.flags for s in Sample.objects.all()}
    assert flags[earlier[1].client_id] == 0
    assert flags[later[1].client_id] == SampleFlag.REPEAT_IN_ROUND
    assert FirstSample.objects.get(resident=people_a[0]).client_id == earlier[1].client_id


def test_a_person_from_outside_the_round_is_kept_and_flagged(
    sampler, command_user, tree, site_a, people_a
):
    only_a = launch(command_user, tree.community_a, name="A区")
    stranger = make_resident(tree.household_b1, "外来")
    channel = Channel(only_a, site_a.channels.first())
    results = upload(sampler, channel.tube([people_a[0], stranger]))
    assert results[1].flags == [] and results[2].flags == ["outside_round"]
    assert Sample.objects.flagged(SampleFlag.OUTSIDE_ROUND).get().resident == stranger


def test_an_id_number_typed_by_hand_finds_the_resident_or_is_kept_as_unknown(
    sampler, channel_a, resident_a
):
    barcode = new_barcode()
    typed = channel_a.event("sample", barcode, id_type="ID", id_number=resident_a.id_number())
    from fangkong.factories import new_id_number

    nobody = channel_a.event("sample", barcode, id_type="ID", id_number=new_id_number())
    bad = channel_a.event("sample", barcode, id_type="ID", id_number="431102198005170000")
    results = upload(sampler, [typed, nobody, bad])
    assert results[0].status == "accepted" and results[0].resident["name"] == "张*丰"
    assert results[1].status == "accepted" and results[1].flags == ["unknown_person"]
    assert results[2].status == "rejected" and results[2].code == "bad_id"
    unknown = Sample.objects.get(client_id=nobody.client_id)
    assert unknown.resident is None and unknown.id_hash and "*" in unknown.id_masked
    assert unknown.id_cipher  # encrypted at rest, never plain
    assert nobody.id_number.encode() not in bytes(unknown.id_cipher)


def test_more_people_than_the_pool_size_are_flagged_by_time(sampler, channel_a, people_a):
    events = channel_a.tube(people_a, pool=3)
    results = upload(sampler, events)
    assert [r.flags for r in results[1:6]] == [[], [], [], ["over_pool"], ["over_pool"]]


def test_a_forged_or_altered_code_is_refused(sampler, channel_a, resident_a):
    good = code_for(resident_a)
    payload = good.split(".")[1]
    forged = good.replace(payload, payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB"))
    barcode = new_barcode()
    results = upload(
        sampler,
        [
            channel_a.event("sample", barcode, code=forged),
            channel_a.event("sample", barcode, code="hello"),
            channel_a.event("sample", barcode),
        ],
    )
    assert [r.code for r in results] == ["bad_code", "bad_code", "missing_person"]
    assert all(r.message and r.message_zh for r in results)
    assert not Sample.objects.exists() and not Tube.objects.exists()


def test_events_naming_what_does_not_exist_are_refused_one_by_one(
    sampler, channel_a, site_b, resident_a, rnd
):
    barcode = new_barcode()
    good = channel_a.event("sample", barcode, code=code_for(resident_a))
    no_round = channel_a.event("sample", barcode, code=code_for(resident_a))
    no_round.round = 999_999
    wrong_site = channel_a.event("tube_open", new_barcode())
    wrong_site.site = site_b.pk
    other_site = Channel(rnd, site_b.channels.first()).event("tube_open", new_barcode())
    odd = channel_a.event("tube_open", "坏条码")
    weird = channel_a.event("tube_wobble", new_barcode())
    results = upload(sampler, [good, no_round, wrong_site, other_site, odd, weird])
    assert [r.code or r.status for r in results] == [
        "accepted",
        "unknown_round",
        "unknown_channel",
        "forbidden",  # site B is outside the sampler's community
        "bad_tube",
        "bad_event",
    ]
    assert UploadEvent.objects.filter(status="rejected").count() == 5


def test_a_site_outside_the_round_is_refused(sampler, command_user, tree, site_a, resident_a):
    only_b = launch(command_user, tree.community_b, name="B区")
    results = upload(sampler, Channel(only_b, site_a.channels.first()).tube([resident_a]))
    assert results[0].code == "site_outside_round"


def test_a_closed_round_takes_late_uploads_of_samples_taken_before_it_closed(
    sampler, channel_a, command_user, rnd, people_a
):
    from fangkong.testing import services

    before = channel_a.tube(people_a[:1])
    services.round_close(actor=command_user, round=rnd, reason="done")
    rnd.refresh_from_db()
    assert rnd.status == RoundStatus.CLOSED
    assert _statuses(upload(sampler, before)) == ["accepted"] * 3
    channel_a.clock = rnd.closed_at + dt.timedelta(minutes=1)
    after = channel_a.tube(people_a[1:2])
    assert {r.code for r in upload(sampler, after)} == {"round_closed"}


def test_pool_size_without_an_open_follows_the_zone_rule(
    sampler, channel_a, command_user, tree, resident_a
):
    zone_declare(actor=command_user, area=tree.community_a, kind="sealed", reason="阳性")
    barcode = new_barcode()
    upload(sampler, [channel_a.event("sample", barcode, code=code_for(resident_a))])
    assert Tube.objects.get(barcode=barcode).pool_size == 1


def test_a_role_that_may_not_sample_is_refused(volunteer, channel_a, resident_a):
    from fangkong.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        upload(volunteer, channel_a.tube([resident_a]))


def test_a_community_worker_may_sample_in_their_community(tree, channel_a, resident_a):
    worker = make_user("clerk", "community", tree.community_a)
    assert _statuses(upload(worker, channel_a.tube([resident_a]))) == ["accepted"] * 3


def test_a_whole_upload_costs_a_bounded_number_of_queries(
    sampler, channel_a, tree, django_assert_max_num_queries
):
    people = [make_resident(tree.household_a1, f"人{i}") for i in range(40)]
    sampler.scope_prefixes()  # cached per user, as a request's user would be
    # Cold: the round, its areas and the channel are read once ...
    with django_assert_max_num_queries(15):
        results = upload(sampler, channel_a.tube(people[:20], pool=20))
    assert _statuses(results) == ["accepted"] * 22
    # ... then kept for a few seconds: a tube costs ten statements (and the timeouts), whatever its size.
    with django_assert_max_num_queries(12):
        results = upload(sampler, channel_a.tube(people[20:], pool=20))
    assert _statuses(results) == ["accepted"] * 22


def test_the_event_dataclass_shape_matches_the_protocol():
    ev = ingest.Event(
        client_id=cid(), type="sample", at=START, round=1, site=1, channel=1, tube="T1"
    )
    assert ev.via == "site" and ev.resident_id is None


@pytest.mark.django_db(transaction=True)
def test_an_upload_costs_few_round_trips_on_postgresql(sampler, channel_a, tree, round_trips):
    """With warm caches and prepared statements, a sealed tube of people costs 3 round
    trips: BEGIN + timeouts + replays + residents; the opens/seals kept + tube + samples +
    first-sample markers + counters (one statement for all but the first); COMMIT (it
    was 8, then 6); a replayed upload 2. Guards against round trips creeping back."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("round trips are a PostgreSQL matter")
    people = [make_resident(tree.household_a1, f"人{i}") for i in range(20)]
    sampler.scope_prefixes()
    upload(sampler, channel_a.tube(people[:10], pool=10))  # caches warm, statements prepared
    events = channel_a.tube(people[10:], pool=10)
    with round_trips() as trips:
        results = upload(sampler, events)
    assert _statuses(results) == ["accepted"] * 12
    assert trips.count <= 3, trips.trace
    with round_trips() as replay:
        again = upload(sampler, events)
    assert [r.as_dict() for r in again] == [r.as_dict() for r in results]
    assert replay.count <= 2, replay.trace
    assert FirstSample.objects.count() == Sample.objects.count() == 20
    cover = BuildingCoverage.objects.get(round=channel_a.rnd, area_code=tree.building_a1.code)
    assert cover.sampled == 20


@pytest.mark.django_db(transaction=True)
def test_the_transaction_begun_with_the_first_statements_rolls_back_whole(
    sampler, channel_a, people_a
):
    """On PostgreSQL BEGIN travels in the upload's first round trip (the driver's
    autocommit is on while Django's atomic block runs): what fails later in the block
    still takes back everything the upload wrote, and the connection goes on as before."""
    from django.db import connection, transaction

    upload(sampler, channel_a.tube(people_a[:1]))  # caches warm: the upload runs first
    events = channel_a.tube(people_a[1:2])
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest.ingest(actor=sampler, device_id="d", events=events, timeouts=(5000, 1000))
        if connection.vendor == "postgresql":
            assert connection.connection.autocommit and not connection.get_autocommit()
        raise RuntimeError("after the upload, in the same transaction")
    assert connection.get_autocommit()
    assert (
        Sample.objects.count() == 1
        and not UploadEvent.objects.filter(client_id=events[0].client_id).exists()
    )
    assert _statuses(upload(sampler, events)) == ["accepted"] * 3
    assert Sample.objects.count() == 2
