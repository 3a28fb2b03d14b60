"""On a 360 px phone (Chromium): a grid worker screens a household, flags a traveller
staying there, and the trace task appears with its deadline, on the spot and in the
worker's task list."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fangkong.factories import make_resident, new_id_number
from fangkong.screening import services
from fangkong.screening.models import TraceTask
from fangkong.testing.tests.test_sampler_e2e import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def no_sideways_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide"


def test_a_grid_worker_screens_a_household_and_flags_a_traveller(
    phone_page, tree, grid_worker, street_user
):
    page = phone_page
    make_resident(tree.household_a1, "王大明")
    campaign = services.campaign_launch(
        actor=street_user,
        name="第一轮摸排",
        areas=[tree.community_a],
        deadline=timezone.now() + dt.timedelta(days=1),
        risk_places="上海市浦东新区",
    )
    login(page, "grid_a1")
    page.goto(f"/screening/campaigns/{campaign.pk}/building/{tree.building_a1.code}/")
    no_sideways_scroll(page)
    door = page.locator(f"[data-household='{tree.household_a1.pk}']")
    assert door.bounding_box()["height"] >= 44
    door.click()
    expect(page.locator("h1")).to_contain_text("101")
    expect(page.get_by_text("王大明")).to_be_visible()
    no_sideways_scroll(page)

    page.get_by_text("此户有不在名册的人员").click()
    page.fill("input[name=x_id_number]", new_id_number(region="310115"))
    page.fill("input[name=x_name]", "来访亲戚")
    page.fill("input[name=x_phone]", "13811112222")
    risk = page.locator("#visitor label", has_text="风险地区")
    assert risk.bounding_box()["height"] >= 44
    risk.click()
    page.fill("#visitor input[name=x_travel_from]", "上海市浦东新区")
    save = page.locator("#save-visit")
    assert save.bounding_box()["height"] >= 44
    save.click()

    card = page.locator(".task-card")
    expect(card).to_contain_text("来访亲戚")
    expect(card).to_contain_text("风险地区来返")
    expect(card).to_contain_text("剩余")
    task = TraceTask.objects.get()
    due = timezone.localtime(task.deadline)
    expect(card).to_contain_text(f"时限 {due:%H:%M}")
    no_sideways_scroll(page)

    page.goto("/screening/")
    listed = page.locator(f"[data-task='{task.pk}']")
    expect(listed).to_contain_text("来访亲戚")
    expect(listed).to_contain_text(f"{due:%H:%M}")
    no_sideways_scroll(page)
