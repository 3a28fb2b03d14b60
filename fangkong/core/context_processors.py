from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from fangkong.accounts import policy


def navigation(request):
    """The menu a user sees depends on their role; pages never hard-code it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    items = []
    if policy.can_browse_areas(user):
        items.append((_("Areas"), reverse("areas:browse")))
    if policy.can_read_residents(user):
        items.append((_("Residents"), reverse("people:search")))
    if policy.can_import_roster(user):
        items.append((_("Roster import"), reverse("people:import")))
    if user.role == "resident":
        items.append((_("My household"), reverse("people:mine")))
    if policy.can_read_coverage(user) or policy.can_run_round(user):
        items.append((_("Testing rounds"), reverse("testing:rounds")))
    if policy.can_sample(user):
        items.append((_("Sampling"), reverse("testing:sampler")))
    if policy.can_upload_results(user):
        items.append((_("Upload results"), reverse("labs:upload")))
    if policy.can_read_recalls(user):
        items.append((_("Recalls"), reverse("labs:recalls")))
    if policy.can_read_round_report(user):
        items.append((_("Round report"), reverse("labs:rounds")))
    if policy.can_read_audit(user):
        items.append((_("Audit log"), reverse("core:audit")))
    return {"nav": items}
