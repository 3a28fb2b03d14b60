import secrets

from django.db import transaction
from django.utils import timezone

from fangkong.core.audit import audit_record
from fangkong.core.roles import Role

from .models import ApiToken, User


@transaction.atomic
def user_create(
    *,
    actor,
    username: str,
    password: str | None,
    role: str,
    areas=(),
    display_name: str = "",
) -> User:
    user = User(username=username, role=Role(role), display_name=display_name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    if areas:
        user.areas.set(areas)
    audit_record(
        actor=actor,
        event="user.create",
        target=user,
        detail={"role": role, "areas": [a.code for a in areas]},
    )
    return user


@transaction.atomic
def token_issue(*, actor, user: User, name: str = "") -> str:
    """Make a bearer token for `user`; the plain key is returned once and never stored."""
    key = "fk_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, key_hash=ApiToken.hash_key(key), prefix=key[:10]
    )
    audit_record(actor=actor, event="token.issue", target=token, detail={"user": user.username})
    return key


def token_authenticate(key: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=ApiToken.hash_key(key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Touch at most once a minute, so a busy device does not write on every call.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def token_revoke(*, actor, token: ApiToken) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(actor=actor, event="token.revoke", target=token)
