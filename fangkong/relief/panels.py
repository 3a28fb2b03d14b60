"""What relief adds to other apps' pages (declared in apps.py `panels`)."""

from django.template.loader import render_to_string

from .models import ACTIVE
from .permissions import can_deliver
from .selectors import tasks_of


def worker_tasks(request, worker) -> str:
    """The workforce app's "my duty" page (a worker's phone): the open relief tasks given
    to the worker signed in, or to a team of theirs, each with its next step (accept here;
    picked up and delivered on the task's own page, where the stock and the code are)."""
    user = request.user
    if not can_deliver(user):
        return ""
    tasks = [t for t in tasks_of(user)[:50] if t.status in ACTIVE]
    return render_to_string("relief/_tasks_panel.html", {"tasks": tasks}, request=request)
