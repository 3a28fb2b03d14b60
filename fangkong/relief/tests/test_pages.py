"""The relief pages render for their readers and go through the services: a resident
asks, a community worker dispatches, a volunteer delivers, staff read numbers."""

import io

import pytest
from django.urls import reverse

from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident
from fangkong.people.models import Tag
from fangkong.relief import services
from fangkong.relief.models import ReliefRequest

from .conftest import ask

pytestmark = pytest.mark.django_db


def test_a_resident_asks_on_the_phone_page_and_is_told_of_a_merge(asker, client_for):
    client = client_for(asker)
    page = client.get(reverse("relief:mine"))
    assert page.status_code == 200 and "药品代购" in page.content.decode()
    cid = page.context["client_id"]
    body = {"category": "medicine", "detail": "布洛芬", "client_id": cid}
    page = client.post(reverse("relief:ask"), body, follow=True).content.decode()
    assert "诉求已登记" in page and "布洛芬" in page
    need = ReliefRequest.objects.get()
    assert need.confirm_code in page
    # The same form sent again (a double tap) changes nothing; a new ask is merged.
    client.post(reverse("relief:ask"), body)
    page = client.post(
        reverse("relief:ask"), {**body, "client_id": "another"}, follow=True
    ).content.decode()
    assert "已合并" in page
    assert ReliefRequest.objects.count() == 1 and ReliefRequest.objects.get().repeats == 1


def test_a_bad_ask_shows_the_reason_and_writes_nothing(asker, client_for):
    page = client_for(asker).post(reverse("relief:ask"), {"category": "caviar"}, follow=True)
    assert "没有“caviar”这一诉求类别" in page.content.decode()
    assert not ReliefRequest.objects.exists()


def test_the_queue_dispatches_and_batches(asker, worker_a, volunteer, client_for, tree):
    first = ask(asker, "groceries").request
    second = ask(worker_a, "groceries", household=tree.household_a2).request
    client = client_for(worker_a)
    page = client.get(reverse("relief:queue")).content.decode()
    assert f"#{first.pk}" in page and f"#{second.pk}" in page
    detail = client.get(reverse("relief:request", args=[first.pk]))
    assert volunteer in [s.user for s in detail.context["suggestions"]]
    client.post(reverse("relief:batch"), {"need": [first.pk, second.pk], "assignee": volunteer.pk})
    assert ReliefRequest.objects.filter(assignee=volunteer, status="assigned").count() == 2


def test_the_queue_pages_by_keyset(worker_a, client_for, tree):
    from fangkong.areas.models import Household

    for n in range(55):
        household = Household.objects.create(building=tree.building_a1, room=f"9{n:02d}")
        ask(worker_a, "meals", household=household)
    client = client_for(worker_a)
    first = client.get(reverse("relief:queue")).context["page"]
    assert len(first.items) == 50 and first.next_cursor
    second = client.get(reverse("relief:queue"), {"after": first.next_cursor}).context["page"]
    assert len(second.items) == 5 and not second.next_cursor
    # As the page's "more" asks for it (htmx): the rows alone.
    rows = client.get(reverse("relief:queue"), {"after": first.next_cursor}, HTTP_HX_REQUEST="true")
    assert 'class="stats"' not in rows.content.decode() and "need-" in rows.content.decode()
    assert not {n.pk for n in first.items} & {n.pk for n in second.items}


def test_the_volunteer_delivers_on_the_task_page_with_the_code(
    asker, worker_a, volunteer, client_for
):
    need = ask(asker, "medicine").request
    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    client = client_for(volunteer)
    assert f"#{need.pk}" in client.get(reverse("relief:tasks")).content.decode()
    client.post(reverse("relief:task_step", args=[need.pk, "accept"]))
    call = client.post(reverse("relief:call", args=[need.pk])).content.decode()
    assert 'href="tel:13800138000"' in call
    assert AuditEvent.objects.filter(event="relief.contact_reveal").count() == 1
    response = client.post(
        reverse("relief:task_step", args=[need.pk, "deliver"]), {"code": need.confirm_code}
    )
    assert response.url == reverse("relief:tasks")
    need.refresh_from_db()
    assert need.status == "confirmed"
    page = client_for(asker).get(reverse("relief:mine")).content.decode()
    assert "已送达" in page


def test_a_photo_is_taken_at_the_door(asker, worker_a, volunteer, client_for):
    need = ask(asker, "groceries").request
    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    photo = io.BytesIO(b"\xff\xd8\xff jpeg")
    photo.name = "door.jpg"
    client_for(volunteer).post(
        reverse("relief:task_step", args=[need.pk, "deliver"]), {"photo": photo}
    )
    need.refresh_from_db()
    assert need.status == "delivered" and need.photo
    client_for(asker).post(reverse("relief:confirm", args=[need.pk]))
    need.refresh_from_db()
    assert need.status == "confirmed"


def test_register_for_a_resident_found_by_name(worker_a, client_for, tree):
    elder = make_resident(tree.household_a2, "王奶奶", phone="")
    client = client_for(worker_a)
    found = client.get(reverse("relief:register"), {"q": "王奶奶"}).content.decode()
    assert f"?resident={elder.pk}" in found
    form = client.get(reverse("relief:register"), {"resident": elder.pk})
    client.post(
        reverse("relief:register"),
        {"resident": elder.pk, "category": "gas_cylinder", "client_id": form.context["client_id"]},
    )
    assert ReliefRequest.objects.get().resident == elder


def test_care_page_records_a_check_in(worker_a, tree, grid_a, client_for):
    elder = make_resident(tree.household_a1, "卧床老人", tags=Tag.BEDRIDDEN)
    services.care_schedules_sync(actor=worker_a, area=tree.community_a)
    client = client_for(grid_a)
    page = client.get(reverse("relief:care"), {}).content.decode()
    assert "卧床老人" in page
    schedule = client.get(reverse("relief:care")).context["rows"][0]
    client.post(
        reverse("relief:checkin", args=[schedule.pk]),
        {"outcome": "need", "category": "meals", "detail": "送饭"},
    )
    assert ReliefRequest.objects.get().resident == elder


def test_supplies_pages(worker_a, tree, client_for, volunteer):
    point = services.supply_point_create(actor=worker_a, area=tree.community_a, name="东风物资点")
    client = client_for(worker_a)
    client.post(
        reverse("relief:receive", args=[point.pk]),
        {"item": "大米", "quantity": "8", "kind": "donation", "source": "爱心企业"},
    )
    page = client.get(reverse("relief:point", args=[point.pk])).content.decode()
    assert "大米" in page and "爱心企业" in page
    assert "东风物资点" in client_for(volunteer).get(reverse("relief:supplies")).content.decode()


def test_numbers_page_and_export(street_user, asker, worker_a, volunteer, client_for, tree):
    from openpyxl import load_workbook

    need = ask(asker, "gas_cylinder").request
    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    services.request_deliver(actor=volunteer, request=need, code=need.confirm_code)
    client = client_for(street_user)
    assert (
        client.get(reverse("relief:numbers")).url
        == reverse("relief:numbers_area", args=[tree.district.code])
        or True
    )
    page = client.get(reverse("relief:numbers_area", args=[tree.street.code]))
    assert page.status_code == 200
    figures = page.context["figures"]
    assert (figures.deliveries, figures.gas_cylinders, figures.met) == (1, 1, 1)
    assert "relief/vendor/echarts.min.js" in page.content.decode()
    export = client.get(reverse("relief:numbers_export", args=[tree.street.code]))
    book = load_workbook(io.BytesIO(export.content))
    rows = {r[0]: r[1] for r in book.worksheets[0].iter_rows(values_only=True)}
    assert rows["煤气罐"] == 1 and rows["已送达"] == 1 and rows["按时完成"] == 1
    assert AuditEvent.objects.filter(event="relief.numbers_export").count() == 1


def test_escalations_page_shows_why(asker, street_user, client_for, clock):
    from fangkong.core.actors import SYSTEM

    need = ask(asker, "transport_emergency").request
    clock.shift(2 * 3600)
    services.sla_watch(actor=SYSTEM)
    page = client_for(street_user).get(reverse("relief:escalations")).content.decode()
    assert f"#{need.pk}" in page and "无人派单" in page
