"""What screening adds to other apps' pages (declared in apps.py `panels`)."""

from django.template.loader import render_to_string

from .permissions import can_read_status, can_set_status
from .selectors import status_of_resident


def resident_status(request, resident) -> str:
    """The people app's resident page: the current control status and its history, for
    those who may see it (the page has fetched the resident through its scope)."""
    if not can_read_status(request.user):
        return ""
    view = status_of_resident(resident.pk)
    return render_to_string(
        "screening/_resident_status.html",
        {"view": view, "resident": resident, "can_set": can_set_status(request.user)},
        request=request,
    )
