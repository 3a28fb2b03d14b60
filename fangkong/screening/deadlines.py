""" "2+6": when a trace task raised at a moment is due, by the policy in force.

A task raised by day (the policy's day hours, on the deployment's clock, Asia/Shanghai
by default) is due `day_hours` later; one raised by night, `night_hours` later. The
hours are elapsed time from the moment raised: a task raised at 21:59 is due at 23:59,
one raised at 22:00 at 04:00 the next morning.
"""

import datetime as dt
from functools import lru_cache

from django.utils import timezone

from .policies import DEADLINES, TraceDeadlines


def is_day(local: dt.time, rule: TraceDeadlines) -> bool:
    """Whether a local time of day lies in the rule's day, [day_starts, day_ends); a day
    that ends after midnight (day_ends < day_starts) wraps."""
    if rule.day_starts < rule.day_ends:
        return rule.day_starts <= local < rule.day_ends
    return local >= rule.day_starts or local < rule.day_ends


def deadline_for(raised_at: dt.datetime, rule: TraceDeadlines) -> dt.datetime:
    local = timezone.localtime(raised_at)
    hours = rule.day_hours if is_day(local.time().replace(tzinfo=None), rule) else rule.night_hours
    return raised_at + dt.timedelta(hours=hours)


class Deadlines:
    """Deadlines for many tasks raised at one moment (a match run): the policy in force
    is read once per community, not once per task."""

    def __init__(self, raised_at: dt.datetime):
        self.raised_at = raised_at
        self._rules = lru_cache(maxsize=4096)(self._rule)

    def _rule(self, community: str):
        return DEADLINES.at(self.raised_at, community)

    def for_area(self, area_code: str) -> tuple[dt.datetime, int]:
        """(deadline, policy version) of a task raised now in `area_code`."""
        rule = self._rules(area_code[:12])
        return deadline_for(self.raised_at, rule.value), rule.version
