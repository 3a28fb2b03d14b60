"""Scoped getters: the only way a view fetches a row by id."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404


def get_scoped_or_404(queryset, user, **lookup):
    """Fetch one row through `queryset.for_user(user)`; outside the scope it does not exist."""
    obj = queryset.for_user(user).filter(**lookup).first()
    if obj is None:
        raise Http404
    return obj


def deny_unless(permitted: bool) -> None:
    """A page's role check: Django's 403 page unless the policy allows it."""
    if not permitted:
        raise DjangoPermissionDenied
