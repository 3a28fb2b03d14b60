"""Who the caller is: role, jurisdiction and what the role may do."""

from typing import Literal

from ninja import Router, Schema

from fangkong.core.permissions import all_permissions

router = Router(tags=["accounts"])


class JurisdictionArea(Schema):
    code: str
    name: str
    level: Literal["district", "street", "community", "compound", "building"]


class MeOut(Schema):
    username: str
    display_name: str
    role: str
    role_label: str
    jurisdiction: list[JurisdictionArea]
    resident_id: int | None
    may: dict[str, bool]


@router.get("", response=MeOut)
def me(request):
    """The caller, and every permission of the vocabulary with whether they hold it (a
    client may offer its user what they hold; the server checks each again on every
    call)."""
    user = request.auth
    roots = user.areas.model.objects.filter(code__in=user.scope_prefixes())
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "role_label": str(user.get_role_display()),
        "jurisdiction": [{"code": a.code, "name": a.name, "level": a.level_name} for a in roots],
        "resident_id": user.resident_id,
        "may": {p.code: p(user) for p in all_permissions()},
    }
