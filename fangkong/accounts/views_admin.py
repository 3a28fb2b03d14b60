"""User administration from the browser: thin views over the accounts services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from fangkong.core.forms import submit
from fangkong.core.paging import paginate
from fangkong.core.shortcuts import deny_unless

from . import selectors, services
from .forms import (
    PasswordForm,
    ReasonForm,
    TokenForm,
    UserAreasForm,
    UserCreateForm,
    UserImportForm,
    UserUpdateForm,
)
from .imports import read_users, users_import
from .permissions import can_manage_users


def _page(request) -> int:
    try:
        return max(1, int(request.GET.get("page", 1)))
    except ValueError:
        return 1


@login_required
def users(request):
    deny_unless(can_manage_users(request.user))
    q = request.GET.get("q", "").strip()
    page = paginate(selectors.managed_users(request.user, q), _page(request), 30)
    return render(request, "accounts/users.html", {"page": page, "q": q})


@login_required
def user_new(request):
    deny_unless(can_manage_users(request.user))
    form = UserCreateForm(request.user, request.POST or None)
    if request.method == "POST":
        ok, user = submit(
            form,
            lambda d: services.user_create(
                actor=request.user,
                username=d["username"],
                password=d["password"] or None,
                role=d["role"],
                areas=selectors.areas_by_code(request.user, d["areas"]),
                display_name=d["display_name"],
            ),
        )
        if ok:
            messages.success(request, _("Saved."))
            return redirect("accounts:user", pk=user.pk)
    return render(
        request, "accounts/user_new.html", {"form": form}, status=400 if form.errors else 200
    )


def _forms(actor, user, post, action):
    def bound(name):
        return post if action == name else None

    return {
        "update": UserUpdateForm(
            actor,
            bound("update"),
            prefix="update",
            initial={"display_name": user.display_name, "role": user.role},
        ),
        "areas": UserAreasForm(
            actor,
            bound("areas"),
            prefix="areas",
            initial={"areas": list(user.areas.values_list("code", flat=True))},
        ),
        "password": PasswordForm(bound("password"), prefix="password"),
        "disable": ReasonForm(bound("disable"), prefix="disable"),
        "enable": ReasonForm(bound("enable"), prefix="enable"),
        "token": TokenForm(bound("token"), prefix="token"),
        "revoke": ReasonForm(bound("revoke"), prefix="revoke"),
    }


@login_required
def user_detail(request, pk):
    """One account: name and role, jurisdiction, password, disable/enable, tokens."""
    deny_unless(can_manage_users(request.user))
    user = selectors.managed_users(request.user).filter(pk=pk).first()
    if user is None:
        raise Http404
    actor = request.user
    action = request.POST.get("action", "") if request.method == "POST" else ""
    forms = _forms(actor, user, request.POST, action)
    new_key = None
    if action:

        def revoke(d):
            token = selectors.tokens_of(user).filter(pk=request.POST.get("token_id")).first()
            if token is None:
                raise Http404
            return services.token_revoke(actor=actor, token=token)

        calls = {
            "update": lambda d: services.user_update(
                actor=actor, user=user, role=d["role"], display_name=d["display_name"]
            ),
            "areas": lambda d: services.user_set_areas(
                actor=actor, user=user, areas=selectors.areas_by_code(actor, d["areas"])
            ),
            "password": lambda d: services.user_set_password(
                actor=actor, user=user, password=d["password"]
            ),
            "disable": lambda d: services.user_disable(actor=actor, user=user, reason=d["reason"]),
            "enable": lambda d: services.user_enable(actor=actor, user=user, reason=d["reason"]),
            "token": lambda d: services.token_issue(actor=actor, user=user, name=d["name"]),
            "revoke": revoke,
        }
        deny_unless(action in calls)
        ok, result = submit(forms[action], calls[action])
        if ok and action == "token":
            new_key = result  # shown once, on this answer only; never stored
        elif ok:
            messages.success(request, _("Saved."))
            return redirect("accounts:user", pk=user.pk)
    context = {
        "u": user,
        "forms": forms,
        "open": action,
        "failed": forms.get(action),
        "tokens": selectors.tokens_of(user),
        "new_key": new_key,
    }
    status = 400 if action and not new_key else 200
    return render(request, "accounts/user.html", context, status=status)


@login_required
def user_import(request):
    deny_unless(can_manage_users(request.user))
    form = UserImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST":
        _ok, report = submit(
            form, lambda d: users_import(actor=request.user, rows=read_users(d["file"]))
        )
    return render(request, "accounts/import.html", {"form": form, "report": report})
