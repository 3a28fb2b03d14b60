"""A community worker on a phone: log in, drill down, find a resident by initials."""

import pytest

from fangkong.factories import build_tree, make_resident, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_community_worker_drills_down_and_searches_on_a_phone(phone_page):
    tree = build_tree()
    make_user("worker_a", "community", tree.community_a)
    make_resident(tree.household_a1, "张三丰")
    make_resident(tree.household_b1, "张三")  # community B: never shown

    page = phone_page
    page.goto("/")
    page.fill("#id_username", "worker_a")
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")

    # Lands on the community's page; drill to compound, then building.
    page.wait_for_url(f"**/areas/{tree.community_a.code}/")
    assert page.locator("h1").inner_text().startswith("东风社区")
    page.click(f"a[href='/areas/{tree.compound_a.code}/']")
    page.click(f"a[href='/areas/{tree.building_a1.code}/']")
    page.wait_for_url(f"**/areas/{tree.building_a1.code}/")
    assert "101" in page.locator("main").inner_text()
    # Nothing overflows the phone's width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1

    # Search by pinyin initials from the area page.
    page.fill("input[name=q]", "zsf")
    page.keyboard.press("Enter")
    results = page.locator("#results")
    results.get_by_text("张三丰").wait_for()
    assert "张三丰" in results.inner_text()
    page.fill("input[name=q]", "zs")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert "张三丰" in results.inner_text()
    assert "张三\n" not in results.inner_text() and results.locator("tbody tr").count() == 1
