"""Ways to look at the people app's data kinds (core/tests/test_roles_sight.py walks them)."""

from django.urls import reverse


def _shows(response, *texts) -> bool:
    body = response.content.decode()
    return response.status_code == 200 and all(t in body for t in texts)


def _api_items(world, path, **params) -> list:
    response = world.api().get(path, params)
    return response.json()["items"] if response.status_code == 200 else []


def _api_one(world, path) -> dict:
    response = world.api().get(path)
    return response.json() if response.status_code == 200 else {}


def _name(world):
    return world.resident.name


def roster_search_page(world):
    return _shows(world.page().get(reverse("people:search"), {"q": "张三"}), _name(world))


def roster_detail_page(world):
    return _shows(
        world.page().get(reverse("people:detail", args=[world.resident.pk])), _name(world)
    )


def roster_code_page(world):
    return _shows(world.page().get(reverse("people:code", args=[world.resident.pk])), _name(world))


def roster_api_list(world):
    return any(i["name"] == _name(world) for i in _api_items(world, "/residents/"))


def roster_api_detail(world):
    return _api_one(world, f"/residents/{world.resident.pk}").get("name") == _name(world)


def tags_detail_page(world):
    return _shows(world.page().get(reverse("people:detail", args=[world.resident.pk])), "孕")


def tags_search_page(world):
    page = world.page().get(reverse("people:search"), {"q": "张三", "tag": "pregnant"})
    return _shows(page, _name(world))


def tags_api_list(world):
    return any("pregnant" in i["tags"] for i in _api_items(world, "/residents/"))


def tags_api_filter(world):
    return bool(_api_items(world, "/residents/", tag="bedridden"))


def tags_api_detail(world):
    return "bedridden" in _api_one(world, f"/residents/{world.resident.pk}").get("tags", [])


def tags_lists_page(world):
    return world.page().get(reverse("people:tags")).status_code == 200


def tags_api_counts(world):
    return world.api().get("/residents/tags").status_code == 200


def masked_api(world):
    masked = world.resident.id_masked
    return any(i["id_number_masked"] == masked for i in _api_items(world, "/residents/"))


def masked_page(world):
    page = world.page().get(reverse("people:detail", args=[world.resident.pk]))
    return _shows(page, world.resident.id_masked)


def masked_tail_search(world):
    tail = world.resident.id_number()[-4:]
    return any(i["id"] == world.resident.pk for i in _api_items(world, "/residents/", q=tail))


def full_api(world):
    response = world.api().post(f"/residents/{world.resident.pk}/reveal", {"reason": "核对"})
    return response.status_code == 200 and world.resident.id_number() in response.content.decode()


def full_page(world):
    page = world.page().post(reverse("people:reveal", args=[world.resident.pk]), {"reason": "核对"})
    return _shows(page, world.resident.id_number())


def full_whole_number_search(world):
    whole = world.resident.id_number()
    return any(i["id"] == world.resident.pk for i in _api_items(world, "/residents/", q=whole))


def export_masked(world):
    tree = world.tree
    response = world.page().get(reverse("people:export"), {"area": tree.community_a.code})
    return response.status_code == 200 and response["Content-Type"].startswith(
        "application/vnd.openxmlformats"
    )


PROBES = {
    "people.roster": {
        "search page": roster_search_page,
        "detail page": roster_detail_page,
        "code page": roster_code_page,
        "API list": roster_api_list,
        "API detail": roster_api_detail,
    },
    "people.health_tags": {
        "detail page": tags_detail_page,
        "search page by tag": tags_search_page,
        "API list": tags_api_list,
        "API filter by tag": tags_api_filter,
        "API detail": tags_api_detail,
        "key-population page": tags_lists_page,
        "API tag counts": tags_api_counts,
    },
    "people.masked_numbers": {
        "API list": masked_api,
        "detail page": masked_page,
        "API search by last 4": masked_tail_search,
    },
    "people.full_numbers": {
        "API reveal": full_api,
        "page reveal": full_page,
        "API whole-number search": full_whole_number_search,
    },
    "people.roster_export": {"export": export_masked},
}
