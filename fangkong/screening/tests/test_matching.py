"""Match runs into trace tasks: one task a person (the closest pair first in its
evidence), merged into an open one, first degree close and second secondary, the case's
household close too, contacts on no roster kept by key; one message a community."""

import datetime as dt
from decimal import Decimal

import pytest

from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.models import AuditEvent, Notification
from fangkong.factories import make_resident
from fangkong.screening import selectors, services
from fangkong.screening.models import MatchContact, TraceTask
from fangkong.screening.services import FoundContact

from .conftest import at

VENUE = "venue-code-market"


def contact(resident_or_key, minutes, degree=1, venue=VENUE, via=None):
    key = getattr(resident_or_key, "id_hash", resident_or_key)
    case_at = at(12, 0, day=22)
    return FoundContact(
        key, venue, case_at, case_at + dt.timedelta(minutes=minutes), Decimal(minutes), degree, via
    )


@pytest.fixture
def run(command_user, case_a):
    return services.match_run_start(actor=command_user, case_id=case_a.pk)


def test_a_run_takes_its_window_and_rules_from_the_case_and_the_policy(run, case_a):
    assert run.window_start == at(9, 0, day=20)  # two days before sampling
    assert run.window_end == case_a.recorded_at
    assert (run.margin_minutes, run.second_degree, run.status) == (30, True, "queued")
    assert AuditEvent.objects.filter(event="screening.match_run").exists()


def test_the_window_starts_before_the_onset_of_symptoms_when_that_came_first(
    command_user, case_a, client_for
):
    # Sampled 2026-11-22 09:00; symptoms from the 21st 20:00: two days before the onset.
    run = services.match_run_start(
        actor=command_user, case_id=case_a.pk, onset=at(20, 0, day=21), enqueue=False
    )
    assert (run.window_start, run.window_end) == (at(20, 0, day=19), case_a.recorded_at)
    # An onset after sampling leaves the sampling rule; one after confirmation is refused.
    later = services.match_run_start(
        actor=command_user, case_id=case_a.pk, onset=at(12, 0, day=22), enqueue=False
    )
    assert later.window_start == at(9, 0, day=20)
    r = client_for(command_user).post(
        "/api/v1/screening/match-runs",
        {"case": case_a.pk, "onset": at(9, 0, day=24).isoformat()},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["error"]["field"] == "onset"


def test_contacts_become_tasks_with_deadlines_categories_and_evidence(
    clock, tree, run, resident_a, resident_b, family_a, worker_a, worker_b
):
    clock.move_to(at(22, 30), tick=False)
    other = make_resident(tree.household_a2, "孙七")
    services.contacts_to_tasks(
        run=run,
        contacts=[
            contact(resident_b, 12),
            contact(resident_b, 3, venue="venue-bus-7"),  # the same person twice
            contact(other, 25, degree=2, via=resident_b.id_hash),
            contact(resident_a, 0),  # the case itself: never its own contact
            contact("f" * 40, 5),  # on no roster
        ],
    )
    run.refresh_from_db()
    assert (run.status, run.contacts, run.tasks_created, run.unknown) == ("done", 5, 4, 1)
    tasks = {t.person.name: t for t in TraceTask.objects.select_related("person")}
    assert set(tasks) == {"李四", "孙七", "王大明", "王小明"}  # family_a: the case's household
    b = tasks["李四"]
    assert (b.category, b.degree, b.area_code) == ("close", 1, tree.building_b1.code)
    assert [e["venue"] for e in b.evidence] == ["venue-bus-7", VENUE]  # closest first
    assert b.evidence[0]["minutes_apart"] == "3" and "3" in b.reason
    assert b.deadline == at(4, 30, day=24)  # raised at 22:30 (night): six hours
    assert tasks["孙七"].category == "secondary"
    assert tasks["王大明"].evidence[0]["household"] is True and tasks["王大明"].category == "close"
    assert not TraceTask.objects.filter(person__resident=resident_a).exists()
    # One message a community, to its workers.
    assert Notification.objects.get(recipient=worker_b).text_zh.startswith("新增1条追踪任务")
    assert Notification.objects.get(recipient=worker_a).text_zh.startswith("新增3条追踪任务")
    # The contact's why, as the district sees it (the unknown one too, by key).
    seen = selectors.run_contacts(run, worker_b)
    assert [(m.person.name, m.venue_code, m.minutes_apart) for m in seen] == [
        ("李四", "venue-bus-7", Decimal("3.00"))
    ]
    # The one on no roster and known by no detail, at a venue not registered here: kept
    # by key in the case's community, which counts and lists it; the other does not.
    unknown = MatchContact.objects.get(person__isnull=True)
    assert (unknown.person_key, unknown.area_code) == ("f" * 40, tree.community_a.code)
    assert [m.person_key for m in selectors.unidentified_for(worker_a)] == ["f" * 40]
    assert selectors.task_counts(worker_a).unidentified == 1
    assert not selectors.unidentified_for(worker_b).exists()


def test_a_person_with_an_open_task_is_merged_not_doubled(run, worker_b, resident_b):
    from fangkong.screening.services.status import person_for_resident

    open_task, _ = services.task_create(
        actor=worker_b,
        person=person_for_resident(resident_b),
        category="companion",
        reason="时空伴随",
    )
    deadline = open_task.deadline
    services.contacts_to_tasks(run=run, contacts=[contact(resident_b, 10)])
    run.refresh_from_db()
    assert (run.tasks_created, run.tasks_merged) == (0, 1)
    t = TraceTask.objects.get(person__resident=resident_b)
    assert t.pk == open_task.pk and t.category == "close" and t.deadline == deadline
    assert len(t.evidence) == 2


def test_only_the_command_centre_runs_a_match_and_only_for_a_confirmed_case(
    worker_a, command_user, case_a
):
    with pytest.raises(PermissionDenied):
        services.match_run_start(actor=worker_a, case_id=case_a.pk)
    case_a.status = "ruled_out"
    case_a.save()
    with pytest.raises(DomainError):
        services.match_run_start(actor=command_user, case_id=case_a.pk)
