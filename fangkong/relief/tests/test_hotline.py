"""Who may read a hotline ticket: its counsellor and the hotline lead; everyone else with
the right sees counts only, by page and by service."""

import pytest
from django.urls import reverse

from fangkong.core.errors import PermissionDenied
from fangkong.core.models import AuditEvent, Notification
from fangkong.relief import selectors, services
from fangkong.relief.models import HotlineTicket

pytestmark = pytest.mark.django_db


def test_a_call_logged_by_the_lead_goes_to_the_counsellor_on_shift(hotline, tree):
    lead, c1, c2 = hotline
    services.hotline_shift(actor=c2, on=True)
    ticket = services.ticket_open(
        actor=lead,
        area=tree.street,
        topic="counselling",
        content="封控第十天，睡不着",
        caller="王女士",
    )
    assert ticket.assignee == c2
    assert Notification.objects.filter(recipient=c2, kind="relief.hotline").exists()
    # Stored encrypted: the words are not in the row.
    raw = HotlineTicket.objects.values_list("content_cipher", flat=True).get()
    assert "睡不着".encode() not in bytes(raw)


def test_only_the_tickets_counsellor_and_the_lead_read_it(
    hotline, tree, street_user, worker_a, command_user
):
    lead, c1, c2 = hotline
    ticket = services.ticket_open(actor=c1, area=tree.street, topic="counselling", content="很焦虑")
    assert ticket.assignee == c1
    assert services.ticket_read(actor=c1, ticket=ticket)["content"] == "很焦虑"
    assert services.ticket_read(actor=lead, ticket=ticket)["content"] == "很焦虑"
    for outsider in (c2, street_user, worker_a, command_user):
        with pytest.raises(PermissionDenied):
            services.ticket_read(actor=outsider, ticket=ticket)
    assert AuditEvent.objects.filter(event="relief.ticket_read").count() == 2


def test_pages_show_content_to_readers_and_counts_to_everyone_else(
    hotline, tree, street_user, client_for
):
    lead, c1, c2 = hotline
    ticket = services.ticket_open(actor=c1, area=tree.street, topic="help", content="独居老人求助")
    url = reverse("relief:ticket", args=[ticket.pk])
    assert "独居老人求助" in client_for(c1).get(url).content.decode()
    assert "独居老人求助" in client_for(lead).get(url).content.decode()
    for outsider in (c2, street_user):
        assert client_for(outsider).get(url).status_code == 404
    page = client_for(street_user).get(reverse("relief:hotline")).content.decode()
    assert "独居老人求助" not in page and f"#{ticket.pk}" not in page
    assert (
        client_for(street_user).get(reverse("relief:hotline")).context["counts"][0][1]["calls"] == 1
    )
    assert selectors.hotline_counts(tree.street.code)["open"] == 1


def test_a_high_risk_call_escalates_to_the_lead_and_tells_the_street_no_content(
    hotline, tree, street_user
):
    lead, c1, c2 = hotline
    ticket = services.ticket_open(
        actor=c1, area=tree.street, topic="counselling", content="有轻生念头"
    )
    services.ticket_set_risk(actor=c1, ticket=ticket, risk="high", reason="表达轻生念头")
    ticket.refresh_from_db()
    assert ticket.escalated_at is not None
    assert Notification.objects.filter(recipient=lead, kind="relief.hotline_risk").exists()
    told = Notification.objects.get(recipient=street_user, kind="relief.hotline_risk")
    assert "轻生" not in told.text_zh and str(ticket.pk) not in told.url
    assert selectors.hotline_counts(tree.street.code)["high_risk"] == 1


def test_follow_ups_and_closing(hotline, tree, clock):
    import datetime as dt

    lead, c1, c2 = hotline
    ticket = services.ticket_open(actor=c1, area=tree.street, topic="counselling", content="x")
    from django.utils import timezone

    services.ticket_note(
        actor=c1,
        ticket=ticket,
        text="明早再打",
        follow_up_at=timezone.now() + dt.timedelta(hours=12),
    )
    ticket.refresh_from_db()
    assert ticket.status == "follow_up"
    assert services.ticket_read(actor=lead, ticket=ticket)["notes"][0][2] == "明早再打"
    services.ticket_close(actor=lead, ticket=ticket, reason="情绪平稳")
    ticket.refresh_from_db()
    assert ticket.status == "closed"


def test_only_named_people_answer_the_hotline(tree, worker_a):
    with pytest.raises(PermissionDenied):
        services.ticket_open(actor=worker_a, area=tree.street, topic="help", content="x")
    with pytest.raises(PermissionDenied):
        services.hotline_staff_add(actor=worker_a, user=worker_a, area=tree.street)
