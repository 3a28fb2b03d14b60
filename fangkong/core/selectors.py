import datetime as dt

from django.db.models import Q

from .models import AuditEvent
from .scoping import prefix_q

AUDIT_FILTERS = ("event", "actor", "target", "area", "since", "until")


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def audit_events(user, filters: dict[str, str]):
    """Audit events in the user's jurisdiction (and those tied to no area), filtered."""
    scope = Q(area_code="") | prefix_q("area_code", user.scope_prefixes())
    events = AuditEvent.objects.select_related("actor").filter(scope)
    if filters.get("event"):
        events = events.filter(event__startswith=filters["event"])
    if filters.get("actor"):
        events = events.filter(actor_name=filters["actor"])
    if filters.get("target"):
        events = events.filter(target_label__startswith=filters["target"])
    if filters.get("area"):
        events = events.filter(area_code__startswith=filters["area"])
    if since := _date(filters.get("since", "")):
        events = events.filter(at__date__gte=since)
    if until := _date(filters.get("until", "")):
        events = events.filter(at__date__lte=until)
    return events
