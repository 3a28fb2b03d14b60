"""The hotline: who answers, tickets, follow-ups, risk. Content and caller are read only
by the ticket's counsellor and the hotline lead, and each read is audited."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from fangkong.areas.models import Area, Level
from fangkong.core.actors import is_system, user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.guards import authorize, required_reason
from fangkong.core.notifications import Recipient, notify
from fangkong.core.pii import encrypt

from ..models import HotlineNote, HotlineStaff, HotlineTicket, Risk, StaffRole, TicketStatus
from ..permissions import can_manage_hotline, hotline_role
from ._common import staff_of

TOPICS = ("counselling", "help", "medical", "complaint", "other")


@transaction.atomic
def hotline_staff_add(*, actor, user, area: Area, role: str = StaffRole.COUNSELLOR) -> HotlineStaff:
    """Name a trained person as a counsellor (or the lead) of an area's hotline."""
    authorize(actor, can_manage_hotline, area=area.code)
    if area.level > Level.COMMUNITY:
        raise DomainError(
            "热线设在区、街道或社区",
            "a hotline serves a district, street or community",
            field="area",
        )
    if role not in StaffRole.values:
        raise DomainError("角色应为咨询员或负责人", "role must be counsellor or lead", field="role")
    row, _ = HotlineStaff.objects.update_or_create(
        user=user, area=area, defaults={"role": role, "active": True}
    )
    audit_record(
        actor=actor,
        event="relief.hotline_staff_add",
        target=row,
        area_code=area.code,
        detail={"user": user.username, "role": role},
    )
    return row


@transaction.atomic
def hotline_shift(*, actor, on: bool) -> int:
    """A counsellor starts or ends their shift (new calls go to those on shift)."""
    if hotline_role(actor) is None:
        raise PermissionDenied("您不是热线人员", "you do not answer the hotline")
    changed = HotlineStaff.objects.filter(user=actor, active=True).update(on_shift=on)
    audit_record(actor=actor, event="relief.hotline_shift", detail={"on": on})
    return changed


def _reader(actor, ticket: HotlineTicket) -> str:
    """The actor may read and work the ticket: its counsellor or the lead."""
    if is_system(actor):
        return "lead"
    role = hotline_role(actor, ticket.area_code)
    if role == "lead" or (role == "counsellor" and ticket.assignee_id == actor.pk):
        return role
    raise PermissionDenied(
        "只有接线咨询员和热线负责人可以查看工单内容",
        "only the ticket's counsellor and the hotline lead may read it",
    )


def _on_shift_counsellor(area_code: str):
    """The counsellor on shift over `area_code` with the fewest open tickets."""
    posts = HotlineStaff.objects.filter(
        active=True, on_shift=True, role=StaffRole.COUNSELLOR, user__is_active=True
    )
    users = [p.user_id for p in posts if area_code.startswith(p.area_code)]
    if not users:
        return None
    load = get_user_model().objects.filter(pk__in=users)
    open_counts = dict(
        HotlineTicket.objects.filter(assignee_id__in=users)
        .exclude(status=TicketStatus.CLOSED)
        .values_list("assignee_id")
        .annotate(n=Count("id"))
    )
    return min(load, key=lambda u: (open_counts.get(u.pk, 0), u.pk))


@transaction.atomic
def ticket_open(
    *,
    actor,
    area: Area,
    topic: str,
    content: str,
    caller: str = "",
    risk: str = Risk.NONE,
    client_id: str = "",
) -> HotlineTicket:
    """Log a call. A counsellor's own call stays with them; one logged by the lead goes to
    the counsellor on shift with the fewest open tickets (or waits for the lead)."""
    role = None if is_system(actor) else hotline_role(actor, area.code)
    if role is None and not is_system(actor):
        raise PermissionDenied("您不是该热线的人员", "you do not answer this hotline")
    if client_id:
        found = HotlineTicket.objects.filter(opened_by=user_of(actor), client_id=client_id).first()
        if found is not None:
            return found
    if topic not in TOPICS:
        raise DomainError("请选择来电类别", "choose the topic of the call", field="topic")
    content = (content or "").strip()
    if not content:
        raise DomainError("请记录来电内容", "write down what the call was about", field="content")
    if risk not in Risk.values:
        raise DomainError("风险等级不对", "unknown risk level", field="risk")
    assignee = actor if role == "counsellor" else _on_shift_counsellor(area.code)
    try:
        with transaction.atomic():
            ticket = HotlineTicket.objects.create(
                area_code=area.code,
                opened_by=user_of(actor),
                topic=topic,
                caller_cipher=encrypt((caller or "").strip()[:200]),
                content_cipher=encrypt(content[:4000]),
                risk=risk,
                assignee=assignee,
                client_id=client_id[:64],
            )
    except IntegrityError:
        return HotlineTicket.objects.get(opened_by=user_of(actor), client_id=client_id)
    audit_record(
        actor=actor,
        event="relief.ticket_open",
        target=ticket,
        area_code=area.code,
        detail={"topic": topic, "risk": risk},
    )
    if risk == Risk.HIGH:
        _escalate(actor, ticket)
    elif assignee is not None and assignee != actor:
        notify(
            recipients=[Recipient(assignee)],
            kind="relief.hotline",
            text_zh=f"新的热线工单#{ticket.pk}",
            text_en=f"new hotline ticket #{ticket.pk}",
            url=reverse("relief:ticket", args=[ticket.pk]),
        )
    return ticket


def _escalate(actor, ticket: HotlineTicket) -> None:
    """A high-risk call: the leads are told at once, with a text message, and the street
    office learns that one is at risk (never what was said)."""
    ticket.escalated_at = timezone.now()
    ticket.save(update_fields=["escalated_at"])
    leads = [
        p.user
        for p in HotlineStaff.objects.filter(active=True, role=StaffRole.LEAD).select_related(
            "user"
        )
        if ticket.area_code.startswith(p.area_code)
    ]
    url = reverse("relief:ticket", args=[ticket.pk])
    if leads:
        notify(
            recipients=[Recipient(u) for u in leads],
            kind="relief.hotline_risk",
            text_zh=f"热线工单#{ticket.pk}为高风险，请立即跟进",
            text_en=f"hotline ticket #{ticket.pk} is high risk: act now",
            url=url,
        )
    street = staff_of(["street"], ticket.area_code)
    if street:
        notify(
            recipients=[Recipient(u) for u in street],
            kind="relief.hotline_risk",
            text_zh="有一通热线来电被标记为高风险，热线负责人正在跟进",
            text_en="a hotline call was marked high risk; the hotline lead is on it",
            url=reverse("relief:hotline"),
        )
    audit_record(
        actor=actor, event="relief.ticket_escalate", target=ticket, area_code=ticket.area_code
    )


def ticket_read(*, actor, ticket: HotlineTicket) -> dict:
    """The ticket's caller, content and notes; audited."""
    with transaction.atomic():
        _reader(actor, ticket)
        audit_record(
            actor=actor, event="relief.ticket_read", target=ticket, area_code=ticket.area_code
        )
    return {
        "caller": ticket.caller(),
        "content": ticket.content(),
        "notes": [(n.at, n.by_name, n.text()) for n in ticket.notes.all()],
    }


@transaction.atomic
def ticket_note(
    *, actor, ticket: HotlineTicket, text: str, follow_up_at: dt.datetime | None = None
) -> HotlineNote:
    _reader(actor, ticket)
    text = (text or "").strip()
    if not text:
        raise DomainError("请填写跟进记录", "write the follow-up", field="text")
    row = HotlineTicket.objects.select_for_update().get(pk=ticket.pk)
    if row.status == TicketStatus.CLOSED:
        raise DomainError("工单已关闭", "the ticket is closed", field="status")
    note = HotlineNote.objects.create(
        ticket=row, by=user_of(actor), by_name=actor.username, text_cipher=encrypt(text[:4000])
    )
    if follow_up_at is not None:
        if follow_up_at <= timezone.now():
            raise DomainError(
                "回访时间应在将来", "the follow-up must be in the future", field="follow_up_at"
            )
        row.status, row.follow_up_at = TicketStatus.FOLLOW_UP, follow_up_at
        row.save(update_fields=["status", "follow_up_at"])
    audit_record(actor=actor, event="relief.ticket_note", target=row, area_code=row.area_code)
    return note


@transaction.atomic
def ticket_set_risk(*, actor, ticket: HotlineTicket, risk: str, reason: str) -> HotlineTicket:
    _reader(actor, ticket)
    reason = required_reason(reason)
    if risk not in Risk.values:
        raise DomainError("风险等级不对", "unknown risk level", field="risk")
    row = HotlineTicket.objects.select_for_update().get(pk=ticket.pk)
    before, row.risk = row.risk, risk
    row.save(update_fields=["risk"])
    audit_record(
        actor=actor,
        event="relief.ticket_set_risk",
        target=row,
        area_code=row.area_code,
        reason=reason,
        detail={"before": before, "after": risk},
    )
    if risk == Risk.HIGH and before != Risk.HIGH:
        _escalate(actor, row)
    return row


@transaction.atomic
def ticket_assign(*, actor, ticket: HotlineTicket, counsellor) -> HotlineTicket:
    """The lead hands a ticket to a counsellor of the hotline."""
    if not is_system(actor) and hotline_role(actor, ticket.area_code) != "lead":
        raise PermissionDenied("只有热线负责人可以转派", "only the hotline lead hands tickets over")
    if hotline_role(counsellor, ticket.area_code) is None:
        raise DomainError(
            "对方不是该热线的咨询员", "that person is not a counsellor here", field="counsellor"
        )
    row = HotlineTicket.objects.select_for_update().get(pk=ticket.pk)
    row.assignee = counsellor
    row.save(update_fields=["assignee"])
    audit_record(
        actor=actor,
        event="relief.ticket_assign",
        target=row,
        area_code=row.area_code,
        detail={"to": counsellor.username},
    )
    return row


@transaction.atomic
def ticket_close(*, actor, ticket: HotlineTicket, reason: str) -> HotlineTicket:
    _reader(actor, ticket)
    reason = required_reason(reason)
    row = HotlineTicket.objects.select_for_update().get(pk=ticket.pk)
    row.status, row.closed_at = TicketStatus.CLOSED, timezone.now()
    row.save(update_fields=["status", "closed_at"])
    audit_record(
        actor=actor, event="relief.ticket_close", target=row, area_code=row.area_code, reason=reason
    )
    return row
