"""A worker on a 360 px phone: registers, reports in by scanning the community's code,
checks in at a post by scanning its code (offline first, then synced once), and accepts
a call-out. Chromium (Debian's) against a live server, on the real clock."""

import pytest
from playwright.sync_api import expect

from fangkong.core.actors import SYSTEM
from fangkong.factories import new_id_number
from fangkong.workforce import services
from fangkong.workforce.models import Attendance, Enrollment, Worker

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_worker_registers_reports_in_checks_in_and_answers_a_call_out(
    phone_page, world, health, worker_a
):
    page = phone_page
    community_code = services.community_code(actor=worker_a, community=world.community_a)
    post = services.post_create(
        actor=worker_a, area=world.compound_a, name="东门卡口", kind="checkpoint"
    )
    post_code = services.post_code(actor=worker_a, post=post)

    # Register.
    page.goto("/workforce/register/")
    no_sideways_scroll(page)
    page.fill("#f-name", "韩梅梅")
    page.fill("#f-id", new_id_number())
    page.fill("#f-phone", "13955556666")
    page.select_option("#f-home", world.community_a.code)
    page.select_option("#f-organ", str(health.pk))
    page.fill("#f-password", "phone-pass-1")
    box = page.locator("#register-form button[type=submit]").bounding_box()
    assert box["height"] >= 44
    page.click("#register-form button[type=submit]")
    page.wait_for_url("**/workforce/report-in/")
    worker = Worker.objects.get()

    # Report in by scanning: the page reads the code on the phone first.
    page.locator("#report-in-form[data-ready='true']").wait_for()
    page.fill("#ri-code", community_code)
    page.locator("#ri-code").dispatch_event("change")
    expect(page.locator("#ri-community")).to_contain_text(world.community_a.name)
    page.click("#ri-submit")
    page.wait_for_url("**/workforce/me/")
    assert Enrollment.objects.get(worker=worker).via == "scan"
    expect(page.locator("#my-enrollment")).to_contain_text(world.community_a.name)
    no_sideways_scroll(page)

    # Check in at the post with the network down; it waits, then goes once.
    page.goto("/workforce/duty/")
    page.locator("#duty[data-ready='true']").wait_for()
    page.context.set_offline(True)
    page.fill("#duty-code", post_code)
    page.press("#duty-code", "Enter")
    expect(page.locator("#duty-message")).to_contain_text("东门卡口")
    page.locator("#duty[data-pending='1']").wait_for()
    assert not Attendance.objects.exists()
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.locator("#duty[data-pending='0']").wait_for(timeout=20_000)
    att = Attendance.objects.get()
    assert att.worker == worker and att.post == post and att.check_out_at is None
    # Reloading and waiting never sends it twice.
    page.reload()
    page.locator("#duty[data-ready='true']").wait_for()
    page.wait_for_timeout(3500)
    assert Attendance.objects.count() == 1
    expect(page.locator("#duty-state")).to_contain_text("东门卡口")

    # Check out, and a call-out arrives: accepted from the phone.
    page.click("#duty-out")
    page.locator("#duty[data-pending='0']").wait_for(timeout=20_000)
    att.refresh_from_db()
    assert att.check_out_at is not None
    callout = services.callout_post(
        actor=SYSTEM, area=world.community_a, place="3号楼转运", lat=26.21, lon=111.60, needed=1
    )
    page.goto("/workforce/me/")
    expect(page.locator("#my-callouts")).to_contain_text("3号楼转运")
    page.locator("#my-callouts button[value=accept]").click()
    expect(page.locator("#my-answer")).to_contain_text("已接收")  # "Accepted"
    callout.refresh_from_db()
    assert callout.accepted == 1 and callout.status == "filled"
    no_sideways_scroll(page)
