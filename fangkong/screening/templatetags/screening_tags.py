from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def time_left(deadline, now=None) -> str:
    """ "2 h 05 min left" or "20 min overdue", to the minute."""
    if deadline is None:
        return ""
    seconds = int((deadline - (now or timezone.now())).total_seconds())
    minutes = abs(seconds) // 60
    hours, minutes = divmod(minutes, 60)
    span = (
        _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
        if hours
        else _("%(m)d min") % {"m": minutes}
    )
    if seconds < 0:
        return _("%(span)s overdue") % {"span": span}
    return _("%(span)s left") % {"span": span}


@register.filter
def is_overdue(deadline, now=None) -> bool:
    return deadline is not None and deadline < (now or timezone.now())
