"""Deadlines from the SLA policy: minutes by urgency, with the night not counted for the
urgencies the policy pauses at night. Reasoned in the deployment's local time."""

import datetime as dt

from django.utils import timezone

from .policies import SlaRule


def _is_night(t: dt.datetime, start: dt.time, end: dt.time) -> bool:
    clock = t.time()
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end


def _next_at(t: dt.datetime, clock: dt.time) -> dt.datetime:
    """The first local moment at `clock` strictly after `t`."""
    candidate = timezone.make_aware(dt.datetime.combine(t.date(), clock))
    while candidate <= t:
        candidate = timezone.make_aware(
            dt.datetime.combine(candidate.date() + dt.timedelta(days=1), clock)
        )
    return candidate


def deadline_for(start: dt.datetime, urgency: str, rule: SlaRule) -> dt.datetime:
    """When a need of `urgency` registered at `start` is due under `rule`."""
    left = dt.timedelta(minutes=rule.minutes(urgency))
    if urgency not in rule.paused_at_night or rule.night_start == rule.night_end:
        return start + left
    t = timezone.localtime(start)
    while True:
        if _is_night(t, rule.night_start, rule.night_end):
            t = timezone.localtime(_next_at(t, rule.night_end))
        day_ends = timezone.localtime(_next_at(t, rule.night_start))
        if t + left <= day_ends:
            return t + left
        left -= day_ends - t
        t = day_ends
