"""Ways to look at the areas app's data kinds (core/tests/test_roles_sight.py walks them)."""

from django.urls import reverse


def tree_api(world):
    response = world.api().get("/areas/")
    return response.status_code == 200 and world.tree.community_a.code in response.content.decode()


def tree_page(world):
    response = world.page().get(reverse("areas:detail", args=[world.tree.community_a.code]))
    return response.status_code == 200


def households_api(world):
    response = world.api().get(f"/areas/{world.tree.building_a1.code}")
    return response.status_code == 200 and bool(response.json()["households"])


def households_page(world):
    response = world.page().get(reverse("areas:detail", args=[world.tree.building_a1.code]))
    return response.status_code == 200 and bool(response.context.get("households"))


PROBES = {
    "areas.tree": {"API": tree_api, "page": tree_page},
    "areas.households": {"API building": households_api, "building page": households_page},
}
