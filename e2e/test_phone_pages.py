"""On a 360 px phone, no main page of any role scrolls sideways outside a table, and its
buttons, menu entries and row checkboxes are at least 44 px tall (issue 8, §6)."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from fangkong.factories import build_tree, make_resident, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTH = 360

# Elements wider than the screen whose nearest scrolling box is not a table's.
OVERFLOW = """
() => {
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= innerWidth + 1) continue;
    if (el.closest(".scroll")) continue;  // a table that scrolls in its own box
    out.push(`${el.tagName.toLowerCase()}.${el.className || ""}#${el.id || ""} → ${Math.round(r.right)}`);
  }
  return {width: document.documentElement.scrollWidth, culprits: out.slice(0, 8)};
}
"""

# Tap targets: buttons, the menu, row checkboxes; visible ones under 44 px tall.
SMALL_TARGETS = """
() => [...document.querySelectorAll(".btn, button.btn, nav.nav a, label.pick, main select")]
  .filter((el) => el.offsetParent !== null && !el.closest(".scroll:not(.cards)") )
  .map((el) => [el, el.getBoundingClientRect()])
  .filter(([el, r]) => r.height > 0 && r.height < 43.5)
  .map(([el, r]) => `${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 20)}" ${Math.round(r.height)}px`)
"""


@pytest.fixture
def district():
    from fangkong.labs import services as labs
    from fangkong.labs.tests.helpers import make_lab, make_tube, people, row
    from fangkong.people.models import Tag
    from fangkong.testing import services as testing

    tree = build_tree()
    users = {
        "command": make_user("command", "command", tree.district),
        "street": make_user("street", "street", tree.street),
        "community": make_user("community", "community", tree.community_a),
        "grid": make_user("grid", "grid", tree.community_a),
        "building": make_user("building", "building", tree.building_a1),
        "worker": make_user("volunteer", "worker", tree.community_a),
        "sampler": make_user("sampler", "sampler", tree.community_a),
        "lab": make_lab(tree),
        "inspector": make_user("inspector", "inspector", tree.street),
    }
    make_resident(tree.household_a2, "卧床的人", tags=Tag.BEDRIDDEN)
    from django.utils import timezone

    rnd = testing.round_launch(
        actor=users["command"],
        name="全员核酸第一轮",
        areas=[tree.street],
        starts_at=timezone.now() - dt.timedelta(hours=2),
        deadline=timezone.now() + dt.timedelta(hours=10),
    )
    site = testing.site_create(
        actor=users["command"], area=tree.community_a, name="东风社区广场采样点", channels=3
    )
    for i in range(4):
        make_tube(
            rnd,
            site.channels.first(),
            f"PA{i:07d}",
            people(tree.household_a1, 5, f"甲{i}"),
            at=timezone.now() - dt.timedelta(hours=1),
        )
    labs.results_import(
        actor=users["lab"],
        rows=[row(f"PA{i:07d}", "positive" if i == 0 else "negative") for i in range(4)],
    )
    testing.home_tasks_generate(actor=users["community"], round=rnd)
    from fangkong.testing.models import HomeSamplingTask

    testing.home_tasks_assign(
        actor=users["community"], tasks=list(HomeSamplingTask.objects.all()), team=users["sampler"]
    )
    return tree, users, rnd, site


def _pages(tree, rnd, role) -> list[str]:
    """The main pages of a role beyond its menu (which is followed too)."""
    r = rnd.pk
    pages = {
        "command": [
            reverse("testing:round", args=[r]),
            reverse("testing:coverage", args=[r, tree.community_a.code]),
            reverse("labs:report", args=[r]),
            reverse("labs:flow", args=[r]),
            reverse("labs:recalls"),
        ],
        "street": [reverse("testing:round", args=[r]), reverse("labs:report", args=[r])],
        "community": [
            reverse("testing:round", args=[r]),
            reverse("testing:tasks", args=[r]),
            reverse("testing:sites", args=[tree.community_a.code]),
            reverse("testing:unsampled", args=[r, tree.building_a1.code]),
            reverse("labs:recalls"),
            reverse("labs:report", args=[r]),
        ],
        "grid": [reverse("testing:tasks", args=[r]), reverse("labs:recalls")],
        "building": [reverse("testing:tasks", args=[r])],
        "worker": [reverse("testing:round", args=[r]), reverse("testing:my_tasks")],
        "sampler": [
            reverse("testing:round", args=[r]),
            reverse("testing:my_tasks"),
            reverse("testing:tasks", args=[r]),
        ],
        "lab": [reverse("labs:upload"), reverse("labs:recalls")],
        "inspector": [reverse("testing:round", args=[r]), reverse("labs:report", args=[r])],
    }
    return pages[role]


def _phone(browser, live_server, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(
        viewport={"width": WIDTH, "height": 740},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        base_url=live_server.url,
    )
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context


def test_no_main_page_of_any_role_scrolls_sideways_on_a_phone(browser, live_server, district):
    tree, users, rnd, _site = district
    wide, small, seen = [], [], 0
    for role, user in users.items():
        context = _phone(browser, live_server, user)
        page = context.new_page()
        page.goto("/")
        page.wait_for_load_state("domcontentloaded")
        menu = page.eval_on_selector_all("nav.nav a", "els => els.map(e => e.getAttribute('href'))")
        urls = [u for u in dict.fromkeys([*menu, *_pages(tree, rnd, role)]) if u.startswith("/")]
        for url in urls:
            if "/sampler/" in url or url.endswith(".xlsx"):
                continue  # the sampler page has its own browser tests
            response = page.goto(url)
            assert response is not None and response.status < 400, (role, url, response.status)
            seen += 1
            found = page.evaluate(OVERFLOW)
            if found["width"] > WIDTH + 1 or found["culprits"]:
                wide.append((role, url, found))
            tiny = page.evaluate(SMALL_TARGETS)
            if tiny:
                small.append((role, url, tiny[:5]))
        context.close()
    assert seen >= 30
    assert not wide, wide
    assert not small, "\n".join(map(str, small))


def test_recalls_are_cards_and_the_arrange_action_stays_in_reach(browser, live_server, district):
    _tree, users, _rnd, _site = district
    context = _phone(browser, live_server, users["community"])
    page = context.new_page()
    page.goto(reverse("labs:recalls"))
    cards = page.locator("table.cards tbody tr")
    assert cards.count() == 5
    assert page.locator("table.cards thead").is_hidden()  # cards, not columns
    bar = page.locator(".sticky-actions")
    # Once the list is on screen the bar is too, at the bottom, while one scrolls through.
    for step in range(3):
        cards.nth(step * 2).scroll_into_view_if_needed()
        page.wait_for_timeout(100)
        box = bar.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 740 + 1, box
        assert box["height"] <= 110  # compact: two fields and a button
    pick = page.locator("label.pick").first.bounding_box()
    assert pick["height"] >= 43.5 and pick["width"] >= 43.5
    context.close()
