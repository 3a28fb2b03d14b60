"""Ways to look at the workforce app's data kinds (core/tests/test_roles_sight.py walks
them): a cadre of the health bureau living in community A, whose liaison is the world's
worker-role user."""

import datetime as dt

from django.urls import reverse

from fangkong.core.actors import SYSTEM
from fangkong.core.roles import Role
from fangkong.factories import new_id_number
from fangkong.workforce import services
from fangkong.workforce.models import Organ


def arrange(world):
    organ = Organ.objects.create(name="区卫健局")
    data = services.worker_validate(
        name="赵六",
        id_number=new_id_number(dt.date(1985, 3, 4)),
        phone="13900000077",
        home_community=world.tree.community_a.code,
        organ=organ.pk,
        party_member=False,
        skills=(),
        nights=False,
        day_from=dt.time(7),
        day_until=dt.time(22),
    )
    worker = services.worker_register(actor=SYSTEM, data=data)
    services.liaison_link(actor=SYSTEM, user=world.users[Role.WORKER], organ=organ)
    world.extra["worker"] = worker


def workers_api(world):
    worker = world.extra["worker"]
    response = world.api().get("/workforce/workers")
    return response.status_code == 200 and any(
        w["id"] == worker.pk for w in response.json()["items"]
    )


def worker_api(world):
    worker = world.extra["worker"]
    return world.api().get(f"/workforce/workers/{worker.pk}").status_code == 200


def worker_page(world):
    worker = world.extra["worker"]
    response = world.page().get(reverse("workforce:worker", args=[worker.pk]))
    return response.status_code == 200 and worker.name in response.content.decode()


def reveal_api(world):
    worker = world.extra["worker"]
    response = world.api().post(f"/workforce/workers/{worker.pk}/reveal", {"reason": "核对"})
    return response.status_code == 200 and "13900000077" in response.content.decode()


PROBES = {
    "workforce.workers": {"API list": workers_api, "API one": worker_api, "page": worker_page},
    "workforce.full_numbers": {"API reveal": reveal_api},
}
