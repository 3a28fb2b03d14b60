"""Who the caller is: role, jurisdiction and what the role may do."""

from ninja import Router, Schema

from fangkong.areas.api import AreaBrief, area_brief
from fangkong.areas.models import Area

from . import policy

router = Router(tags=["accounts"])

# What a client may offer its user; the server checks each again on every call.
ABILITIES = {
    "browse_areas": policy.can_browse_areas,
    "read_residents": policy.can_read_residents,
    "edit_residents": policy.can_edit_residents,
    "reveal_pii": policy.can_reveal_pii,
    "import_roster": policy.can_import_roster,
    "export_roster": policy.can_export_roster,
    "declare_zone": policy.can_declare_zone,
    "read_audit": policy.can_read_audit,
}


class MeOut(Schema):
    username: str
    display_name: str
    role: str
    role_label: str
    jurisdiction: list[AreaBrief]
    resident_id: int | None
    may: dict[str, bool]


@router.get("", response=MeOut)
def me(request):
    user = request.auth
    roots = Area.objects.filter(code__in=user.scope_prefixes())
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "role_label": str(user.get_role_display()),
        "jurisdiction": [area_brief(a) for a in roots],
        "resident_id": user.resident_id,
        "may": {name: check(user) for name, check in ABILITIES.items()},
    }
