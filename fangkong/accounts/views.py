from django.conf import settings
from django.contrib.auth import views as auth_views
from django.shortcuts import render


class LoginView(auth_views.LoginView):
    """Django's login page; a throttled user name gets the lockout page (429) instead
    of "wrong password", which would send its owner guessing."""

    template_name = "accounts/login.html"

    def form_invalid(self, form):
        wait = getattr(self.request, "login_throttled_for", None)
        if wait is not None:
            context = {"throttled_seconds": wait, "username": form.data.get("username", "")}
            return render(self.request, "accounts/lockout.html", context, status=429)
        return super().form_invalid(form)


def axes_lockout(request, original_response=None, credentials=None):
    """django-axes' answer once a (user name, address) pair is locked
    (settings.AXES_LOCKOUT_CALLABLE): the same bilingual page, 429."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    context = {"locked_minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT}
    return render(request, "accounts/lockout.html", context, status=429)
