from fangkong.labs.permissions import can_read_recalls

from .selectors import recall_banner


def recalls(request):
    """Open recalls in the user's jurisdiction, on every page they open: a marked building
    is seen by its community and street at once, not when someone looks for it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not can_read_recalls(user):
        return {}
    if getattr(request, "htmx", False):
        return {}
    return {"recall_banner": recall_banner(user)}
