"""The administration page (管理) and the policies the command centre sets."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from . import policies, selectors
from .errors import DomainError
from .forms import PolicyForm, submit
from .permissions import can_manage_policies, can_read_policies
from .registry import admin_entries
from .services import policy_set
from .shortcuts import deny_unless


@login_required
def administration(request):
    """What the user may set up, from every app (their `admin` declarations)."""
    entries = admin_entries(request.user)
    deny_unless(bool(entries))
    return render(request, "core/administration.html", {"entries": entries})


def _policy_areas(user):
    """Where a policy may be set: the user's areas and the streets below them."""
    area_model = user.areas.model  # the area tree, without core importing its app
    return area_model.objects.for_user(user).filter(level__lte=2, retired_at__isnull=True)


@login_required
def policy_list(request):
    deny_unless(can_read_policies(request.user))
    return render(request, "core/policies.html", {"rows": selectors.policy_rows()})


@login_required
def policy_detail(request, key):
    deny_unless(can_read_policies(request.user))
    try:
        declared = policies.get(key)
    except DomainError:
        raise Http404 from None
    rule = declared.at()
    may_set = can_manage_policies(request.user)
    form = None
    if may_set:
        areas = _policy_areas(request.user)
        form = PolicyForm(declared, rule.value, areas, request.POST or None)
        if request.method == "POST":
            ok, row = submit(
                form,
                lambda data: policy_set(
                    actor=request.user,
                    key=key,
                    value=form.value(),
                    reason=data["reason"],
                    effective_from=data["effective_from"],
                    area_code=data["area"],
                ),
                {"area_code": "area", **{f"value.{n}": f"value_{n}" for n in form.value_names}},
            )
            if ok:
                messages.success(
                    request, _("Version %(version)s saved.") % {"version": row.version}
                )
                return redirect("core:policy", key=key)
    elif request.method == "POST":
        deny_unless(False)
    context = {
        "policy": declared,
        "rule": rule,
        "default": declared.default.model_dump(mode="json"),
        "history": selectors.policy_history(key)[:100],
        "form": form,
    }
    return render(request, "core/policy.html", context)
