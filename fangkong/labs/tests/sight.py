"""Ways to look at the labs app's data kinds (core/tests/test_roles_sight.py walks them):
a positive pool of one tube, PA1, holding the world's resident, so a recall is open."""

from django.urls import reverse

from fangkong.core.roles import Role
from fangkong.factories import make_resident
from fangkong.labs import services

from .helpers import make_round, make_site, make_tube, row


def arrange(world):
    rnd = make_round(world.tree)
    channel = make_site(world.tree.compound_a)[1][0]
    # Two in the pool: a positive pool of several recalls each of them (one alone would be
    # a case at once).
    other = make_resident(world.tree.household_a1, "王小明")
    make_tube(rnd, channel, "PA1", [world.resident, other])
    services.results_import(actor=world.users[Role.LAB], rows=[row("PA1", "positive")])
    world.extra["round"] = rnd


def _recalls_api(world) -> list:
    response = world.api().get("/labs/recalls", {"status": ""})
    return response.json()["items"] if response.status_code == 200 else []


def _recalls_page(world) -> str:
    response = world.page().get(reverse("labs:recalls"), {"status": ""})
    return response.content.decode() if response.status_code == 200 else ""


def results_api(world):
    return any(i["tube"] == "PA1" for i in _recalls_api(world))


def results_page(world):
    return "PA1" in _recalls_page(world)


def results_turnaround(world):
    rnd = world.extra["round"]
    response = world.api().get(f"/labs/rounds/{rnd.pk}/turnaround")
    return response.status_code == 200


def people_api(world):
    r = world.resident
    return any(
        i["resident"] and i["resident"]["name"] == r.name or i["area_code"] == r.area_code
        for i in _recalls_api(world)
    )


def people_page(world):
    body = _recalls_page(world)
    r = world.resident
    return bool(body) and (r.name in body or r.id_masked in body or str(r.household) in body)


def people_banner(world):
    """The marked-buildings banner on every page."""
    response = world.page().get(reverse("core:notifications"))
    banner = response.context.get("recall_banner") if response.context else None
    return bool(banner and banner.open)


PROBES = {
    "labs.results": {
        "API recalls": results_api,
        "recalls page": results_page,
        "API turnaround": results_turnaround,
    },
    "labs.recalled_people": {
        "API recalls": people_api,
        "recalls page": people_page,
        "banner": people_banner,
    },
}
