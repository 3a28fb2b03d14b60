"""Reads for user administration: whom an administrator manages, what they may grant."""

from django.db.models import Q

from fangkong.core.errors import DomainError
from fangkong.core.roles import Role
from fangkong.core.scoping import prefix_q

from .models import ApiToken, User
from .permissions import may_grant_role

AREA_LEVELS_TO_ASSIGN = 4  # streets, communities and compounds; buildings by code (API)


def area_model():
    """The area tree's model, named by the users' `areas` field (accounts sits below
    areas and does not import it)."""
    return User._meta.get_field("areas").related_model


def grantable_roles(actor) -> list[tuple[str, str]]:
    """The roles `actor` may give, as (value, label) choices."""
    return [(r.value, r.label) for r in Role if may_grant_role(actor, r)]


def managed_users(actor, q: str = ""):
    """Users `actor` administers: of a role they may grant, holding areas all inside the
    actor's jurisdiction (one outside, and they belong to an office higher up)."""
    roles = [value for value, _label in grantable_roles(actor)]
    prefixes = actor.scope_prefixes()
    through = User.areas.through
    outside = through.objects.exclude(prefix_q("area__code", prefixes)).values("user_id")
    inside = through.objects.filter(prefix_q("area__code", prefixes)).values("user_id")
    users = (
        User.objects.filter(role__in=roles, pk__in=inside)
        .exclude(pk__in=outside)
        .prefetch_related("areas")
        .order_by("username")
    )
    if q:
        users = users.filter(Q(username__startswith=q) | Q(display_name__startswith=q))
    return users


def assignable_areas(actor):
    """Areas `actor` may give (streets to compounds of their jurisdiction, in use)."""
    return (
        area_model()
        .objects.for_user(actor)
        .filter(retired_at__isnull=True, level__lte=AREA_LEVELS_TO_ASSIGN)
        .order_by("code")
    )


def areas_by_code(actor, codes) -> list:
    """The areas of `codes` inside the actor's jurisdiction, in use; DomainError naming
    the first code that is not."""
    codes = {c.strip() for c in codes if c.strip()}
    areas = list(
        area_model().objects.for_user(actor).filter(code__in=codes, retired_at__isnull=True)
    )
    unknown = sorted(codes - {a.code for a in areas})
    if unknown:
        raise DomainError(
            f"辖区{unknown[0]}不存在或不在您的辖区内",
            f"area {unknown[0]} does not exist or is outside your jurisdiction",
            field="areas",
        )
    return areas


def tokens_of(user):
    return ApiToken.objects.filter(user=user).order_by("-created_at")
