from importlib import import_module

from django.urls import reverse

from .notifications import unread_count
from .registry import fangkong_apps, nav_entries


def navigation(request):
    """The menu a user sees: every app's entries that the user's role may open; and how
    many of their notifications are unread."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    if getattr(request, "htmx", False):
        return {}
    items = [(e.label, reverse(e.url_name)) for e in nav_entries() if e.visible_to(user)]
    # One entry is current: the one whose address is the longest start of this page's.
    under = [url for _label, url in items if request.path.startswith(url)]
    current = max(under, key=len, default=None)
    return {
        "nav": [(label, url, url == current) for label, url in items],
        "unread_notifications": unread_count(user),
    }


_processors = None


def apps_context(request):
    """What the apps add to every page (their declared context processors)."""
    global _processors
    if _processors is None:
        found = []
        for config in fangkong_apps():
            for dotted in config.context_processors:
                module, name = dotted.rsplit(".", 1)
                found.append(getattr(import_module(module), name))
        _processors = found
    context = {}
    for processor in _processors:
        context.update(processor(request))
    return context
