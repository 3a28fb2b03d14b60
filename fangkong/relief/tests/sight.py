"""Ways to look at the relief app's data kinds (core/tests/test_roles_sight.py walks
them): the world's resident asks for medicine, the need is given to the world's
volunteer; a counsellor (no user of the world) logs a hotline call in community A."""

from django.urls import reverse

from fangkong.core.actors import SYSTEM
from fangkong.core.roles import Role
from fangkong.factories import make_user
from fangkong.relief import services

SECRET = "来电内容：失眠三天"


def arrange(world):
    asked = services.request_register(
        actor=world.users[Role.RESIDENT], category="medicine", detail="降压药", client_id="s1"
    )
    services.request_dispatch(
        actor=SYSTEM, request=asked.request, assignee=world.users[Role.WORKER]
    )
    counsellor = make_user("counsellor", Role.WORKER)
    services.hotline_staff_add(actor=SYSTEM, user=counsellor, area=world.tree.community_a)
    ticket = services.ticket_open(
        actor=counsellor, area=world.tree.community_a, topic="counselling", content=SECRET
    )
    world.extra["relief"] = (asked.request, ticket)


def needs_api_detail(world):
    need, _ticket = world.extra["relief"]
    return world.api().get(f"/relief/requests/{need.pk}").status_code == 200


def needs_api_queue(world):
    need, _ticket = world.extra["relief"]
    response = world.api().get("/relief/requests")
    return response.status_code == 200 and any(n["id"] == need.pk for n in response.json()["items"])


def needs_api_tasks(world):
    need, _ticket = world.extra["relief"]
    response = world.api().get("/relief/tasks")
    return response.status_code == 200 and any(n["id"] == need.pk for n in response.json())


def needs_page(world):
    need, _ticket = world.extra["relief"]
    response = world.page().get(reverse("relief:request", args=[need.pk]))
    return response.status_code == 200 and "降压药" in response.content.decode()


def needs_own_page(world):
    response = world.page().get(reverse("relief:mine"))
    return response.status_code == 200 and "降压药" in response.content.decode()


def hotline_page(world):
    _need, ticket = world.extra["relief"]
    response = world.page().get(reverse("relief:ticket", args=[ticket.pk]))
    return response.status_code == 200 and SECRET in response.content.decode()


PROBES = {
    "relief.needs": {
        "API need": needs_api_detail,
        "API queue": needs_api_queue,
        "API tasks": needs_api_tasks,
        "need page": needs_page,
        "own household page": needs_own_page,
    },
    "relief.hotline_content": {"ticket page": hotline_page},
}
