"""Ways to look at the screening app's data kinds (core/tests/test_roles_sight.py walks
them): the world's resident under home isolation, a trace task about them, and a contact
a match run found in their building known by no detail (the unidentified list)."""

import datetime as dt

from django.urls import reverse

from fangkong.core.actors import SYSTEM
from fangkong.screening import services
from fangkong.screening.models import MatchContact, MatchRun
from fangkong.screening.services.status import person_for_resident


def arrange(world):
    person = person_for_resident(world.resident)
    services.status_set(actor=SYSTEM, person=person, kind="home_isolation", reason="密接")
    task, _made = services.task_create(
        actor=SYSTEM, person=person, category="close", reason="疾控来电"
    )
    world.extra["screening"] = (person, task)
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    run = MatchRun.objects.create(
        case_id=1,
        case_person=person,
        area_code=world.resident.area_code,
        window_start=start,
        window_end=start + dt.timedelta(days=2),
        margin_minutes=30,
    )
    world.extra["screening_unidentified"] = MatchContact.objects.create(
        run=run,
        person_key="f" * 40,
        area_code=world.resident.area_code,
        category="close",
        venue_code="V-SIGHT",
        case_scanned_at=start,
        contact_scanned_at=start,
        minutes_apart=0,
    )


def status_api(world):
    response = world.api().get(f"/screening/residents/{world.resident.pk}/status")
    return response.status_code == 200 and (response.json()["current"] or {}).get("kind") == (
        "home_isolation"
    )


def status_page(world):
    person, _task = world.extra["screening"]
    return world.page().get(reverse("screening:person", args=[person.pk])).status_code == 200


def trace_api(world):
    _person, task = world.extra["screening"]
    response = world.api().get("/screening/tasks")
    return response.status_code == 200 and any(t["id"] == task.pk for t in response.json()["items"])


def trace_api_detail(world):
    _person, task = world.extra["screening"]
    return world.api().get(f"/screening/tasks/{task.pk}").status_code == 200


def trace_page(world):
    _person, task = world.extra["screening"]
    return world.page().get(reverse("screening:task", args=[task.pk])).status_code == 200


def unidentified_api(world):
    found = world.extra["screening_unidentified"]
    response = world.api().get("/screening/unidentified-contacts")
    return response.status_code == 200 and any(
        c["person_key"] == found.person_key for c in response.json()["items"]
    )


PROBES = {
    "screening.status": {"API resident status": status_api, "person page": status_page},
    "screening.trace": {
        "API tasks": trace_api,
        "API task": trace_api_detail,
        "task page": trace_page,
        "API unidentified contacts": unidentified_api,
    },
}
