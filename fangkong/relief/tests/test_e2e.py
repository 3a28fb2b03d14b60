"""On a 360 px phone (Chromium): a resident asks for medicine, a community worker
dispatches it, a volunteer delivers it with the resident's confirmation code, and the
resident sees it delivered. No page is wider than the phone."""

import pytest
from playwright.sync_api import expect

from fangkong.factories import make_user
from fangkong.relief.models import ReliefRequest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def login(page, username):
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def fits(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 361, page.url


def test_medicine_from_ask_to_delivered_on_phones(phone_page, resident_a, worker_a, volunteer):
    make_user("res_a", "resident", resident=resident_a)
    page = phone_page

    login(page, "res_a")
    page.goto("/relief/")
    fits(page)
    page.select_option("#id_category", "medicine")
    page.fill("#id_detail", "硝苯地平缓释片 两盒")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".messages")).to_contain_text("诉求已登记")
    code = page.locator("[data-code]").first.inner_text().strip()
    need = ReliefRequest.objects.get()
    assert code == need.confirm_code and need.kind == "medicine"
    fits(page)

    login(page, "worker_a")
    page.goto("/relief/queue/")
    fits(page)
    page.get_by_role("link", name=f"#{need.pk}").first.click()
    expect(page.locator("h1, article").first).to_contain_text("药品代购")
    page.get_by_role("button", name="volunteer").click()
    expect(page.locator(".messages")).to_contain_text("已派单")
    fits(page)

    login(page, "volunteer")
    page.goto("/relief/tasks/")
    page.locator(f"#need-{need.pk}").click()
    fits(page)
    page.get_by_role("button", name="接单").click()
    expect(page.locator(".messages")).to_contain_text("已接单")
    # The number is masked; calling shows it (audited) as a tel: link.
    page.get_by_role("button", name="电话").click()
    expect(page.locator("a.tel")).to_have_attribute("href", "tel:13800138000")
    page.fill("#id_code", code)
    page.get_by_role("button", name="已送达").click()
    expect(page.locator(".messages")).to_contain_text("已送达")
    fits(page)

    login(page, "res_a")
    page.goto("/relief/")
    expect(page.locator(f"#need-{need.pk}")).to_contain_text("已送达")
    fits(page)
    need.refresh_from_db()
    assert need.status == "confirmed" and need.proof == "code"


def test_the_numbers_page_draws_its_charts_on_a_phone(phone_page, street_user, resident_a, tree):
    from fangkong.relief import services

    asker = make_user("res_a", "resident", resident=resident_a)
    services.request_register(actor=asker, category="gas_cylinder", client_id="e2e")
    errors = []
    phone_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(phone_page, "street")
    # Every page of the project logs one refusal already (htmx's indicator <style>):
    # the charts must add none of their own.
    phone_page.goto("/relief/queue/")
    expect(phone_page.locator("h1")).to_be_visible()
    before = set(errors)
    errors.clear()
    phone_page.goto(f"/relief/numbers/{tree.street.code}/")
    expect(phone_page.locator("#chart-category canvas")).to_be_visible()
    expect(phone_page.locator("#chart-area canvas")).to_be_visible()
    fits(phone_page)
    assert not [e for e in errors if "Content Security Policy" in e and e not in before], errors
