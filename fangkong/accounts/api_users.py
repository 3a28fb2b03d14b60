"""User administration over JSON: the same services as the users pages, for the command
centre, street offices and communities (roles below their own, areas inside theirs)."""

import datetime as dt

from django.http import Http404, HttpResponse
from ninja import Field, File, Query, Router, Schema, Status, UploadedFile

from fangkong.core.api import MAX_PAGE, PageOut, errors, page_out, require
from fangkong.core.paging import paginate
from fangkong.core.roles import Role

from . import selectors, services
from .imports import read_users, users_import
from .models import User
from .permissions import can_manage_users

router = Router(tags=["users"])


class ManagedUserOut(Schema):
    id: int
    username: str
    display_name: str
    role: Role
    areas: list[str]
    is_active: bool
    last_login: dt.datetime | None


class UserCreateIn(Schema):
    username: str = Field(max_length=150)
    display_name: str = Field("", max_length=100)
    role: Role
    areas: list[str] = Field(max_length=200, description="area codes inside your jurisdiction")
    password: str | None = Field(None, max_length=128, description="null: cannot log in yet")


class UserUpdateIn(Schema):
    display_name: str | None = Field(None, max_length=100)
    role: Role | None = None


class UserAreasIn(Schema):
    areas: list[str] = Field(max_length=200)


class PasswordIn(Schema):
    password: str = Field(max_length=128)


class ReasonIn(Schema):
    reason: str = Field("", max_length=2000)


class TokenIn(Schema):
    name: str = Field(max_length=100)


class TokenOut(Schema):
    id: int
    prefix: str
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenIssuedOut(Schema):
    key: str = Field(description="shown this once; only its hash is kept")


class UserListQuery(Schema):
    q: str = Field("", max_length=150)
    page: int = Field(1, ge=1, le=MAX_PAGE)


class UserRowErrorOut(Schema):
    row: int
    field: str
    message: str
    message_zh: str


class UserMadeOut(Schema):
    row: int
    username: str
    password: str = Field(description="a generated initial password, shown once; else empty")


class UserImportOut(Schema):
    created: list[UserMadeOut]
    unchanged: int
    rejected: int
    errors: list[UserRowErrorOut]


def user_out(user: User) -> dict:
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "areas": sorted(a.code for a in user.areas.all()),
        "is_active": user.is_active,
        "last_login": user.last_login,
    }


def _user(request, user_id: int) -> User:
    require(can_manage_users(request.auth))
    user = selectors.managed_users(request.auth).filter(pk=user_id).first()
    if user is None:
        raise Http404
    return user


@router.get("/", response={200: PageOut[ManagedUserOut], **errors(403, 422)})
def user_list(request, query: Query[UserListQuery]):
    """The accounts you administer (roles below yours, areas inside yours)."""
    require(can_manage_users(request.auth))
    page = paginate(selectors.managed_users(request.auth, query.q), query.page, 50)
    return page_out(page, [user_out(u) for u in page.items])


@router.post("/", response={201: ManagedUserOut, **errors(400, 403, 422)})
def user_create(request, payload: UserCreateIn):
    """Make an account of a role below yours, holding areas inside your jurisdiction."""
    require(can_manage_users(request.auth))
    user = services.user_create(
        actor=request.auth,
        username=payload.username,
        password=payload.password,
        role=payload.role,
        areas=selectors.areas_by_code(request.auth, payload.areas),
        display_name=payload.display_name,
    )
    return Status(201, user_out(user))


@router.post("/import", response={200: UserImportOut, **errors(400, 403, 422)})
def user_import(request, file: File[UploadedFile]):
    """Accounts from a spreadsheet (username, name, role, areas, password); bad rows come
    back with row, field and reason; importing it again changes nothing."""
    report = users_import(actor=request.auth, rows=read_users(file))
    return {
        "created": [vars(m) for m in report.created],
        "unchanged": report.unchanged,
        "rejected": len(report.errors),
        "errors": [
            {"row": e.row, "field": e.column, "message": e.en, "message_zh": e.zh}
            for e in report.errors
        ],
    }


@router.get("/{user_id}", response={200: ManagedUserOut, **errors(403, 404)})
def user_detail(request, user_id: int):
    return user_out(_user(request, user_id))


@router.patch("/{user_id}", response={200: ManagedUserOut, **errors(400, 403, 404, 422)})
def user_update(request, user_id: int, payload: UserUpdateIn):
    """Change an account's name and/or role (to one below yours)."""
    user = _user(request, user_id)
    services.user_update(
        actor=request.auth, user=user, role=payload.role, display_name=payload.display_name
    )
    return user_out(user)


@router.put("/{user_id}/areas", response={200: ManagedUserOut, **errors(400, 403, 404, 422)})
def user_set_areas(request, user_id: int, payload: UserAreasIn):
    """Replace the areas an account holds (inside your jurisdiction)."""
    user = _user(request, user_id)
    services.user_set_areas(
        actor=request.auth, user=user, areas=selectors.areas_by_code(request.auth, payload.areas)
    )
    return user_out(user)


@router.post("/{user_id}/password", response={204: None, **errors(400, 403, 404, 422)})
def user_set_password(request, user_id: int, payload: PasswordIn):
    """Reset an account's password (checked by the password rules)."""
    services.user_set_password(
        actor=request.auth, user=_user(request, user_id), password=payload.password
    )
    return Status(204, None)


@router.post("/{user_id}/disable", response={200: ManagedUserOut, **errors(400, 403, 404, 422)})
def user_disable(request, user_id: int, payload: ReasonIn):
    """Stop an account logging in or using any token at once (a reason is required)."""
    user = _user(request, user_id)
    services.user_disable(actor=request.auth, user=user, reason=payload.reason)
    return user_out(user)


@router.post("/{user_id}/enable", response={200: ManagedUserOut, **errors(400, 403, 404, 422)})
def user_enable(request, user_id: int, payload: ReasonIn):
    user = _user(request, user_id)
    services.user_enable(actor=request.auth, user=user, reason=payload.reason)
    return user_out(user)


@router.get("/{user_id}/tokens", response={200: list[TokenOut], **errors(403, 404)})
def token_list(request, user_id: int):
    return list(selectors.tokens_of(_user(request, user_id)))


@router.post("/{user_id}/tokens", response={201: TokenIssuedOut, **errors(400, 403, 404, 422)})
def token_issue(request, user_id: int, payload: TokenIn, response: HttpResponse):
    """Issue a device token for the account; the key is in this answer only."""
    key = services.token_issue(actor=request.auth, user=_user(request, user_id), name=payload.name)
    response["Cache-Control"] = "no-store"
    return Status(201, {"key": key})


@router.post("/{user_id}/tokens/{token_id}/revoke", response={204: None, **errors(403, 404)})
def token_revoke(request, user_id: int, token_id: int):
    token = selectors.tokens_of(_user(request, user_id)).filter(pk=token_id).first()
    if token is None:
        raise Http404
    services.token_revoke(actor=request.auth, token=token)
    return Status(204, None)
