"""An upload replayed in any order, any number of times, in any batches, leaves the same
records as the session uploaded once, in order."""

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fangkong.factories import make_resident
from fangkong.people.codes import code_for
from fangkong.testing import ingest
from fangkong.testing.models import BuildingCoverage, FirstSample, Sample, Tube, UploadEvent

from .conftest import START, upload

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


@st.composite
def sessions(draw, n_channels: int, n_people: int):
    """A consistent session: each channel opens tubes, samples people, seals them.

    People may be sampled more than once (repeats), a tube may hold more people than
    its pool size (over pool), and clocks of channels may tie.
    """
    events = []
    barcode = 0
    for channel in range(n_channels):
        clock = START + dt.timedelta(seconds=draw(st.integers(0, 3)))
        for _ in range(draw(st.integers(1, 3))):
            barcode += 1
            tube = f"P{barcode:05d}"
            pool = draw(st.sampled_from([1, 2, 3, 10]))
            people = draw(st.lists(st.integers(0, n_people - 1), min_size=0, max_size=4))
            steps = [("tube_open", None)] * draw(st.integers(0, 1))
            steps += [("sample", p) for p in people]
            steps += [("tube_seal", None)] * draw(st.integers(0, 1))
            if not any(kind == "sample" for kind, _ in steps) and not steps:
                steps = [("tube_open", None)]
            for kind, person in steps:
                clock += dt.timedelta(seconds=draw(st.integers(0, 2)))
                n = len(events)
                events.append(
                    {
                        "client_id": f"c{n:04d}",
                        "type": kind,
                        "at": clock,
                        "channel": channel,
                        "tube": tube,
                        "pool_size": pool if kind == "tube_open" else None,
                        "person": person,
                    }
                )
    return events


@st.composite
def deliveries(draw, events):
    """The same events shuffled, some sent again, cut into batches; some batches twice."""
    order = draw(st.permutations(range(len(events))))
    extra = draw(st.lists(st.sampled_from(range(len(events))), max_size=len(events)))
    stream = list(order) + extra
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=4)))
    batches, start = [], 0
    for cut in [*cuts, len(stream)]:
        if cut > start:
            batches.append(stream[start:cut])
        start = max(start, cut)
    again = draw(st.lists(st.sampled_from(range(len(batches))), max_size=2)) if batches else []
    return batches + [batches[i] for i in again]


def _records(rnd) -> dict:
    """What the database holds, by natural keys (ids and arrival times left out)."""
    return {
        "tubes": {
            t.barcode: (
                t.round_id,
                t.channel_id,
                t.pool_size,
                t.pool_source,
                t.sample_count,
                t.opened_at,
                t.sealed_at,
            )
            for t in Tube.objects.all()
        },
        "samples": {
            s.client_id: (s.tube.barcode, s.resident_id, s.flags, s.at)
            for s in Sample.objects.select_related("tube")
        },
        "firsts": {
            (f.round_id, f.resident_id): (f.client_id, f.at) for f in FirstSample.objects.all()
        },
        "coverage": {
            c.area_code: (c.expected, c.sampled, c.exempt)
            for c in BuildingCoverage.objects.filter(round=rnd)
        },
        "events": {e.client_id: (e.type, e.status, e.code) for e in UploadEvent.objects.all()},
    }


def test_replays_in_any_order_and_batches_leave_the_same_records(tree, rnd, site_a, sampler):
    people = [make_resident(tree.household_a1, f"人{i}") for i in range(4)]
    people.append(make_resident(tree.household_a2, "邻楼"))
    codes = [code_for(p) for p in people]
    channels = list(site_a.channels.order_by("name"))

    def to_events(raw: list[dict]) -> list[ingest.Event]:
        return [
            ingest.Event(
                client_id=e["client_id"],
                type=e["type"],
                at=e["at"],
                round=rnd.pk,
                site=site_a.pk,
                channel=channels[e["channel"]].pk,
                tube=e["tube"],
                pool_size=e["pool_size"],
                code=codes[e["person"]] if e["person"] is not None else "",
            )
            for e in raw
        ]

    def run(batches: list[list[dict]]) -> tuple[dict, list]:
        answers = []
        try:
            with transaction.atomic():
                for batch in batches:
                    answers.append(upload(sampler, to_events(batch)))
                records = _records(rnd)
                raise Rollback
        except Rollback:
            pass
        return records, answers

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def check(data):
        events = data.draw(sessions(n_channels=len(channels), n_people=len(people)))
        expected, _ = run([events])
        batches = data.draw(deliveries(events))
        got, answers = run([[events[i] for i in batch] for batch in batches])
        assert got == expected
        # Every event was answered, and never with a refusal.
        assert all(r.status == "accepted" for a in answers for r in a)
        # Invariants of the records themselves.
        samples = expected["samples"]
        by_person: dict[int, list] = {}
        for cid, (_tube, resident, flags, at) in samples.items():
            by_person.setdefault(resident, []).append((at, cid, flags))
        for resident, rows in by_person.items():
            rows.sort()
            assert [f & 1 for _, _, f in rows] == [0] + [1] * (len(rows) - 1), resident
            assert expected["firsts"][(rnd.pk, resident)][0] == rows[0][1]
        sampled = sum(c[1] for c in expected["coverage"].values())
        assert sampled == len(by_person)

    check()
