"""Hotline pages: counts for every reader; tickets, their content and follow-ups only for
the ticket's counsellor and the hotline lead (each read audited)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fangkong.areas.models import Area
from fangkong.core.errors import DomainError
from fangkong.core.shortcuts import deny_unless

from . import selectors, services
from .models import HotlineStaff, HotlineTicket, Risk, TicketStatus
from .permissions import can_hotline_counts, hotline_role
from .services.hotline import TOPICS
from .views_common import client_id, done


@login_required
def hotline(request):
    role = hotline_role(request.user)
    deny_unless(role is not None or can_hotline_counts(request.user))
    prefixes = request.user.scope_prefixes()
    posts = list(HotlineStaff.objects.filter(user=request.user, active=True).select_related("area"))
    codes = [p.area_code for p in posts] or prefixes
    since = timezone.now() - timezone.timedelta(days=1)
    counts = [
        (code, selectors.hotline_counts(code), selectors.hotline_counts(code, since))
        for code in codes[:10]
    ]
    context = {
        "role": role,
        "counts": counts,
        "names": dict(Area.objects.filter(code__in=codes).values_list("code", "name")),
        "posts": posts,
        "on_shift": any(p.on_shift for p in posts),
        "tickets": selectors.tickets_for(request.user, role)[:100] if role else [],
        "topics": TOPICS,
        "risks": Risk.choices,
        "client_id": client_id(),
    }
    return render(request, "relief/hotline.html", context)


@login_required
@require_POST
def shift(request):
    on = request.POST.get("on") == "1"
    done(request, lambda: services.hotline_shift(actor=request.user, on=on), _("Shift updated."))
    return redirect("relief:hotline")


@login_required
@require_POST
def open_ticket(request):
    if hotline_role(request.user) is None:
        raise Http404
    post = (
        HotlineStaff.objects.filter(user=request.user, active=True).select_related("area").first()
    )
    made = done(
        request,
        lambda: services.ticket_open(
            actor=request.user,
            area=post.area,
            topic=request.POST.get("topic", ""),
            content=request.POST.get("content", ""),
            caller=request.POST.get("caller", ""),
            risk=request.POST.get("risk", Risk.NONE),
            client_id=request.POST.get("client_id", ""),
        ),
        _("Call logged."),
    )
    if made is not None:
        return redirect("relief:ticket", pk=made.pk)
    return redirect("relief:hotline")


def _ticket(request, pk) -> HotlineTicket:
    """A ticket the user may work, or 404 (a refusal tells no more than a missing one)."""
    found = selectors.workable_ticket(request.user, pk)
    if found is None:
        raise Http404
    return found


@login_required
def ticket(request, pk):
    found = _ticket(request, pk)
    try:
        content = services.ticket_read(actor=request.user, ticket=found)
    except DomainError:
        raise Http404 from None
    context = {
        "ticket": found,
        "content": content,
        "risks": Risk.choices,
        "closed": found.status == TicketStatus.CLOSED,
        "role": hotline_role(request.user, found.area_code),
        "counsellors": HotlineStaff.objects.filter(active=True, role="counsellor").select_related(
            "user"
        )
        if hotline_role(request.user, found.area_code) == "lead"
        else [],
    }
    return render(request, "relief/ticket.html", context)


@login_required
@require_POST
def ticket_step(request, pk, step):
    found = _ticket(request, pk)
    post, user = request.POST, request.user
    if step == "note":
        when = parse_datetime(post.get("follow_up_at", "") or "")
        if when is not None and timezone.is_naive(when):
            when = timezone.make_aware(when)
        done(
            request,
            lambda: services.ticket_note(
                actor=user, ticket=found, text=post.get("text", ""), follow_up_at=when
            ),
            _("Follow-up recorded."),
        )
    elif step == "risk":
        done(
            request,
            lambda: services.ticket_set_risk(
                actor=user, ticket=found, risk=post.get("risk", ""), reason=post.get("reason", "")
            ),
            _("Risk updated."),
        )
    elif step == "assign":
        from django.contrib.auth import get_user_model

        counsellor = get_user_model().objects.filter(pk=post.get("counsellor") or 0).first()
        if counsellor is None:
            raise Http404
        done(
            request,
            lambda: services.ticket_assign(actor=user, ticket=found, counsellor=counsellor),
            _("Handed over."),
        )
    elif step == "close":
        done(
            request,
            lambda: services.ticket_close(actor=user, ticket=found, reason=post.get("reason", "")),
            _("Ticket closed."),
        )
    else:
        raise Http404
    return redirect("relief:ticket", pk=found.pk)
