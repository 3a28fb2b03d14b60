import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q

from .models import AuditEvent, PolicyVersion
from .policies import Policy, Rule, all_policies
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


@dataclass
class PolicyRow:
    policy: Policy
    rule: Rule
    versions: int


def policy_rows(when: dt.datetime | None = None) -> list[PolicyRow]:
    """Every declared policy with the rule in force everywhere now, and how many
    versions have been set."""
    counts = dict(PolicyVersion.objects.values_list("key").annotate(n=Count("id")).order_by())
    return [PolicyRow(p, p.at(when), counts.get(p.key, 0)) for p in all_policies()]


def policy_history(key: str):
    """The versions set of one policy, newest first."""
    return PolicyVersion.objects.filter(key=key).order_by("-version")
