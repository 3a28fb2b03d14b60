"""A community worker on a phone: log in, drill down, find a resident, import a roster."""

import datetime

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


def test_community_worker_imports_a_messy_roster_on_a_phone(phone_page, tmp_path):
    from fangkong.core.idnumbers import make_mainland
    from fangkong.people.models import Resident

    tree = build_tree()
    make_user("worker_a", "community", tree.community_a)
    good = make_mainland("431102", datetime.date(1950, 3, 1), 11)
    other = make_mainland("431102", datetime.date(1950, 3, 1), 12)
    bad = other[:17] + ("0" if other[17] != "0" else "1")  # a wrong check character
    roster = tmp_path / "花名册.csv"
    roster.write_text(
        "东风社区居民花名册\n"
        "姓名,身份证号码,联系电话,小区,楼栋,单元,房号\n"
        f"王大爷,{good.lower()},138-0000-1234,幸福小区,3栋,1,101\n"
        f"李错号,{bad},,幸福小区,3栋,1,102\n",
        encoding="utf-8",
    )

    page = phone_page
    page.goto("/accounts/login/")
    page.fill("#id_username", "worker_a")
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.goto("/people/import/")
    page.set_input_files("input[type=file]", str(roster))
    page.click("form.stack button.btn")
    # The status page shows the counts and the rejected row with its reason.
    page.locator("a[href$='/report.xlsx']").wait_for(timeout=20000)
    body = page.locator("main").inner_text()
    assert "校验位" in body  # the reason for the bad check character, in Chinese
    assert "身份证号" in body
    assert (
        Resident.objects.filter(name="王大爷", area_code__startswith=tree.compound_a.code).count()
        == 1
    )
    assert not Resident.objects.filter(name="李错号").exists()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1
