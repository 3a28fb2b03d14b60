"""User administration and API tokens: every write, each checking the actor's role and
jurisdiction itself and audited in the same transaction.

The system (`core.actors.SYSTEM`, or `command_line()` for an operator at the server's
command line: `fangkong create-user`, `fangkong token`) is trusted with everything and
recorded in the audit log under its name ("cli:<os user>").
"""

import datetime as dt
import functools
import secrets

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone, translation

from fangkong.core.actors import is_system
from fangkong.core.audit import audit_record
from fangkong.core.errors import DomainError
from fangkong.core.guards import require, require_actor, require_area, required_reason
from fangkong.core.roles import Role

from .models import ApiToken, TokenScope, User
from .permissions import may_grant_role


def _held(user: User) -> list[str]:
    """Area codes of everything `user` may see: held areas, kept grids, their household."""
    codes = list(user.scope_prefixes())
    if user.resident_id:
        codes.append(user.resident.area_code)
    return codes


def _area_of(user: User) -> str:
    """The area an audit record about `user` is filed under: their one area, if one."""
    codes = _held(user)
    return codes[0] if len(codes) == 1 else ""


def require_manages(actor, user: User) -> None:
    """`actor` may administer `user`: the command line; or an administrator whose role is
    above the user's and whose jurisdiction holds all the user holds. A user holding
    nothing (made at the command line) is the command centre's."""
    require_actor(actor)
    if is_system(actor):
        return
    require(may_grant_role(actor, user.role))
    codes = _held(user)
    if not codes:
        require(actor.role == Role.COMMAND)
    for code in codes:
        require_area(actor, code)


def _password_reason(error: ValidationError) -> tuple[str, str]:
    code, params = error.code, error.params or {}
    if code == "password_too_short":
        n = params.get("min_length", "")
        return f"密码太短，至少{n}个字符", f"the password is too short: at least {n} characters"
    if code == "password_too_common":
        return "密码太常见，容易被猜中", "the password is too common and easily guessed"
    if code == "password_entirely_numeric":
        return "密码不能全是数字", "the password cannot be entirely numeric"
    if code == "password_too_similar":
        return "密码与用户名或姓名太相似", "the password is too similar to the user's name"
    with translation.override("zh-hans"):
        zh = " ".join(error.messages)
    with translation.override("en"):
        return zh, " ".join(error.messages)


def password_check(password: str, user: User) -> None:
    """Django's password validators (settings.AUTH_PASSWORD_VALIDATORS: length, common,
    numeric, similarity to the user's names), as one bilingual DomainError naming every
    rule the password breaks."""
    reasons = []
    for validator in password_validation.get_default_password_validators():
        try:
            validator.validate(password, user)
        except ValidationError as exc:
            reasons += [_password_reason(e) for e in exc.error_list]
    if reasons:
        zh = "；".join(r[0] for r in reasons)
        en = "; ".join(r[1] for r in reasons)
        raise DomainError(zh, en, field="password")


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
    """Make a user holding `areas` (each inside the actor's jurisdiction, and at least one
    unless made at the command line) with a role below the actor's. `password=None`
    makes a user who cannot log in until one is set."""
    require_actor(actor)
    role = Role(role)
    areas = list(areas)
    if not is_system(actor):
        require(may_grant_role(actor, role))
        if not areas:
            raise DomainError("请至少指定一个辖区", "give at least one area", field="areas")
        for area in areas:
            require_area(actor, area.code)
    username = (username or "").strip()
    if not username:
        raise DomainError("用户名为空", "the user name is empty", field="username")
    if User.objects.filter(username=username).exists():
        raise DomainError("该用户名已被使用", "this user name is taken", field="username")
    user = User(username=username, role=role, display_name=display_name.strip())
    if password:
        password_check(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    if areas:
        user.areas.set(areas)
    audit_record(
        actor=actor,
        event="accounts.user_create",
        target=user,
        area_code=areas[0].code if len(areas) == 1 else "",
        detail={"role": role, "areas": [a.code for a in areas]},
    )
    return user


@transaction.atomic
def user_set_password(*, actor, user: User, password: str) -> None:
    """Set (or reset) a user's password, checked by the validators: by the user
    themselves or by someone who administers them. Their other sessions end."""
    require_actor(actor)
    if is_system(actor) or actor.pk != user.pk:
        require_manages(actor, user)
    password_check(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(
        actor=actor,
        event="accounts.user_set_password",
        target=user,
        area_code=_area_of(user),
        detail={"by": "self" if not is_system(actor) and actor.pk == user.pk else "admin"},
    )


@transaction.atomic
def user_update(
    *, actor, user: User, role: str | None = None, display_name: str | None = None
) -> list[str]:
    """Change a user's role and/or display name (None keeps it); the fields changed.

    The actor must administer the user as they are, and be above the new role too: a
    street office cannot make a community worker into a street office."""
    require_manages(actor, user)
    before = {"role": user.role, "display_name": user.display_name}
    if role is not None:
        role = Role(role)
        if not is_system(actor):
            require(may_grant_role(actor, role))
        user.role = role
    if display_name is not None:
        user.display_name = display_name.strip()
    changed = [f for f in before if getattr(user, f) != before[f]]
    if not changed:
        return []
    user.save(update_fields=changed)
    audit_record(
        actor=actor,
        event="accounts.user_update",
        target=user,
        area_code=_area_of(user),
        detail={f: [before[f], getattr(user, f)] for f in changed},
    )
    return changed


@transaction.atomic
def user_set_areas(*, actor, user: User, areas) -> bool:
    """Replace the area subtrees a user holds; whether anything changed.

    Only inside the actor's own jurisdiction, for a user of a role below the actor's
    whose present areas lie inside it too; at least one area (the command line may
    leave a user holding none)."""
    require_manages(actor, user)
    areas = list(areas)
    if not is_system(actor):
        if not areas:
            raise DomainError("请至少指定一个辖区", "give at least one area", field="areas")
        for area in areas:
            require_area(actor, area.code)
    before = sorted(user.areas.values_list("code", flat=True))
    after = sorted({a.code for a in areas})
    if before == after:
        return False
    user.areas.set(areas)
    user._scope_prefixes = None  # recomputed from the new areas
    audit_record(
        actor=actor,
        event="accounts.user_set_areas",
        target=user,
        area_code=_area_of(user),
        detail={"from": before, "to": after},
    )
    return True


@transaction.atomic
def user_disable(*, actor, user: User, reason: str) -> None:
    """Stop a user logging in or using any token, at once, with a reason on record.
    Their sessions and tokens stop working; nothing of theirs is deleted."""
    require_manages(actor, user)
    if not is_system(actor) and actor.pk == user.pk:
        raise DomainError("不能停用自己的账号", "you cannot disable your own account")
    reason = required_reason(reason)
    if not user.is_active:
        return
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        event="accounts.user_disable",
        target=user,
        area_code=_area_of(user),
        reason=reason,
    )


@transaction.atomic
def user_enable(*, actor, user: User, reason: str = "") -> None:
    """Let a disabled user log in again (their tokens work again unless revoked)."""
    require_manages(actor, user)
    if user.is_active:
        return
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        event="accounts.user_enable",
        target=user,
        area_code=_area_of(user),
        reason=(reason or "").strip(),
    )


def _require_token_rights(actor, user: User) -> None:
    """Tokens of a user are theirs to make and revoke, or their administrator's."""
    require_actor(actor)
    if is_system(actor) or actor.pk != user.pk:
        require_manages(actor, user)


@transaction.atomic
def token_issue(
    *,
    actor,
    user: User,
    name: str = "",
    scope: str = TokenScope.ALL,
    days: int | None = None,
) -> str:
    """Make a bearer token for `user`, reaching only what `scope` allows, valid for
    `days` (settings.TOKEN_DAYS by default, at most TOKEN_MAX_DAYS). The plain key is
    returned once and never stored."""
    _require_token_rights(actor, user)
    if not user.is_active:
        raise DomainError("该用户已停用", "this user is disabled", field="user")
    if scope not in TokenScope.values:
        raise DomainError(f"令牌范围{scope}无效", f"unknown token scope {scope}", field="scope")
    days = settings.TOKEN_DAYS if days is None else days
    if not 1 <= days <= settings.TOKEN_MAX_DAYS:
        raise DomainError(
            f"有效期应为1至{settings.TOKEN_MAX_DAYS}天",
            f"a token lasts 1 to {settings.TOKEN_MAX_DAYS} days",
            field="days",
        )
    key = "fk_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        key_hash=ApiToken.hash_key(key),
        prefix=key[:10],
        scope=scope,
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    audit_record(
        actor=actor,
        event="accounts.token_issue",
        target=token,
        area_code=_area_of(user),
        detail={"user": user.username, "scope": scope, "days": days},
    )
    return key


def token_authenticate(key: str) -> ApiToken | None:
    """The token for a key, with its user, if it is neither revoked nor expired and its
    user is active; None otherwise. One indexed query, on every request: nothing is
    cached, so a revocation holds on the very next request of every server process.

    The query is written once (`_token_query`) rather than built by the ORM: it runs on
    every device upload, and compiling `select_related(...).filter(...).first()` cost
    more CPU than everything else the API does before the upload itself
    (docs/benchmarks.md, issue 12 round 3). The rows become model instances with the
    fields' own database converters, as the ORM makes them."""
    now = timezone.now()
    sql, token_fields, user_fields = _token_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [ApiToken.hash_key(key), now])
        row = cursor.fetchone()
    if row is None:
        return None
    n = len(token_fields)
    token = _from_row(ApiToken, token_fields, row[:n])
    token.user = _from_row(User, user_fields, row[n:])
    # Touch at most once a minute, so a busy device does not write on every call.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


@functools.cache
def _token_query() -> tuple[str, list, list]:
    """SELECT token and user columns of a live token by key hash (see token_authenticate),
    and each model's columns (attribute name, field, column expression)."""
    qn = connection.ops.quote_name

    def col(model, alias, name):
        return f"{alias}.{qn(model._meta.get_field(name).column)}"

    token_fields = list(ApiToken._meta.concrete_fields)
    user_fields = list(User._meta.concrete_fields)
    cols = [f"t.{qn(f.column)}" for f in token_fields] + [f"u.{qn(f.column)}" for f in user_fields]
    sql = (
        f"SELECT {', '.join(cols)} FROM {qn(ApiToken._meta.db_table)} t "
        f"JOIN {qn(User._meta.db_table)} u ON {col(User, 'u', 'id')} = {col(ApiToken, 't', 'user')} "
        f"WHERE {col(ApiToken, 't', 'key_hash')} = %s AND {col(ApiToken, 't', 'revoked_at')} "
        f"IS NULL AND {col(ApiToken, 't', 'expires_at')} > %s "
        f"AND {col(User, 'u', 'is_active')} LIMIT 1"
    )
    return sql, _columns(ApiToken, token_fields), _columns(User, user_fields)


def _columns(model, fields) -> list[tuple[str, object, object]]:
    return [(f.attname, f, f.get_col(model._meta.db_table)) for f in fields]


def _from_row(model, columns, values):
    """A model instance from its concrete columns' values, converted as the ORM does (the
    converters are asked of this thread's connection, as the ORM asks them)."""
    converted = []
    for (_name, field, expression), value in zip(columns, values, strict=True):
        converters = connection.ops.get_db_converters(expression)
        for convert in converters + field.get_db_converters(connection):
            value = convert(value, expression, connection)
        converted.append(value)
    return model.from_db(connection.alias, [c[0] for c in columns], converted)


@transaction.atomic
def token_revoke(*, actor, token: ApiToken) -> None:
    """Revoke a token, by its user or their administrator. Revoking twice changes nothing."""
    _require_token_rights(actor, token.user)
    if token.revoked_at is not None:
        return
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        event="accounts.token_revoke",
        target=token,
        area_code=_area_of(token.user),
        detail={"user": token.user.username},
    )
