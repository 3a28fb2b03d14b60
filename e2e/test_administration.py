"""A street office sets up its district on a phone: a community, a compound, an account;
that account then sees only its own area. And no administration page scrolls sideways."""

import pytest

from fangkong.factories import build_tree, make_resident, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "Beimen-Shequ-2022"


def _login(page, username, password="pw"):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 360


def test_a_street_office_sets_up_a_community_and_its_worker_on_a_phone(phone_page):
    tree = build_tree()
    make_user("street", "street", tree.street)
    page = phone_page
    _login(page, "street")

    # 管理 in the menu, then areas and grids: the street's own set-up page.
    page.click("nav.nav >> text=管理")
    page.click("text=区域与网格")
    page.wait_for_url(f"**/areas/manage/{tree.street.code}/")
    assert _fits(page)
    page.click("#add summary")
    page.fill("#id_add-name", "北门社区")
    page.click("#add button.btn")
    page.wait_for_url(f"**/areas/manage/{tree.street.code}003/")
    assert "北门社区" in page.locator("h1").inner_text()
    page.click("#add summary")
    page.fill("#id_add-name", "北苑小区")
    page.click("#add button.btn")
    page.wait_for_url(f"**/areas/manage/{tree.street.code}003001/")
    assert _fits(page)

    # An account for the new community.
    page.goto("/manage/")
    page.click("text=用户与角色")
    page.click("text=新建用户")
    page.fill("#id_username", "beimen.zhou")
    page.fill("#id_display_name", "周社工")
    page.select_option("#id_role", "community")
    page.check(f"input[name=areas][value='{tree.street.code}003']")
    page.fill("#id_password", PASSWORD)
    assert _fits(page)
    page.click("form.stack button.btn")
    page.wait_for_url("**/accounts/users/*/")
    assert "周社工" in page.locator("h1").inner_text()

    # The new worker logs in and sees their community only.
    page.click("header form button.link >> text=退出")
    _login(page, "beimen.zhou", PASSWORD)
    page.wait_for_url(f"**/areas/{tree.street.code}003/")
    assert "北门社区" in page.locator("h1").inner_text()
    assert "北苑小区" in page.locator("main").inner_text()
    assert _fits(page)
    assert page.goto(f"/areas/{tree.community_a.code}/").status == 404
    assert "东风社区" not in page.content()


ADMIN_PAGES = [
    "/manage/",
    "/areas/manage/{street}/",
    "/areas/manage/{community_a}/",
    "/areas/manage/{compound_a}/",
    "/areas/manage/import/",
    "/areas/manage/{community_a}/grids/new/",
    "/accounts/users/",
    "/accounts/users/new/",
    "/accounts/users/import/",
    "/accounts/users/{grid}/",
    "/people/register/",
    "/people/{resident}/edit/",
    "/people/tags/",
    "/people/handovers/",
    "/people/handovers/new/",
    "/policies/",
    "/policies/testing.pool_sizes/",
]


def test_no_administration_page_scrolls_sideways_on_a_phone(phone_page):
    tree = build_tree()
    make_user("command", "command", tree.district)
    grid = make_user("grid_a", "grid", tree.community_a)
    resident = make_resident(tree.household_a1, "欧阳娜娜娜娜娜娜娜娜")
    page = phone_page
    _login(page, "command")
    names = {
        "street": tree.street.code,
        "community_a": tree.community_a.code,
        "compound_a": tree.compound_a.code,
        "grid": grid.pk,
        "resident": resident.pk,
    }
    wide = []
    for path in ADMIN_PAGES:
        url = path.format(**names)
        response = page.goto(url)
        assert response.status == 200, url
        # Open every folded form, so its fields are measured too.
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        if not _fits(page):
            wide.append((url, page.evaluate("document.documentElement.scrollWidth")))
    assert wide == []
