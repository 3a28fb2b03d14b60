"""What the relief app lets roles do.

Hotline content is not a role's right: counsellors and the hotline lead are named people
(`HotlineStaff` rows, kept by the street office or the command centre), because a trained
counsellor may be a volunteer, a community worker or a cadre. `hotline_role(user)` says
whether, and as what, a user answers the hotline; every other role with
`relief.hotline_counts` sees counts only.
"""

from fangkong.core.permissions import permission
from fangkong.core.roles import Role
from fangkong.core.sight import sight

_COMMUNITY_STAFF = {Role.COMMAND, Role.STREET, Role.COMMUNITY}
_NEIGHBOURHOOD = _COMMUNITY_STAFF | {Role.GRID, Role.BUILDING}

# What the roles may see here (core.sight).
NEEDS = sight(
    "relief.needs",
    _NEIGHBOURHOOD | {Role.WORKER, Role.RESIDENT},
    "Residents' needs and their content (what, for whom, the door): staff of the "
    "jurisdiction; a volunteer the deliveries given to them or their team; a resident "
    "their household's",
    where="/relief/queue/, /relief/r/<id>/, /relief/tasks/, GET /api/v1/relief/requests, "
    "GET /api/v1/relief/tasks",
)
HOTLINE_CONTENT = sight(
    "relief.hotline_content",
    (),
    "What a hotline caller said: no role sees it as such, only the named counsellors and "
    "lead (HotlineStaff, whatever their role); others see counts (relief.hotline_counts)",
    where="/relief/hotline/<id>/",
)

can_request_help = permission(
    "relief.request_help",
    {Role.RESIDENT},
    "Ask for help for one's own household; see its requests, confirm a delivery or complain.",
)
can_register_for_resident = permission(
    "relief.register_for_resident",
    _NEIGHBOURHOOD,
    "Register a need on a resident's behalf (after a call or a door knock).",
)
can_triage = permission(
    "relief.triage",
    _COMMUNITY_STAFF | {Role.GRID},
    "Read the needs queue of one's jurisdiction; dispatch, batch-dispatch, change urgency, "
    "cancel; acknowledge escalations; call a resident (audited).",
)
can_deliver = permission(
    "relief.deliver",
    {Role.WORKER, Role.GRID, Role.BUILDING, Role.COMMUNITY},
    "Carry out the deliveries given to oneself or one's team: accept, picked up, delivered, "
    "a problem; call the resident through an audited reveal.",
)
can_manage_teams = permission(
    "relief.manage_teams", _COMMUNITY_STAFF, "Make delivery teams of one's community's users."
)
can_manage_categories = permission(
    "relief.manage_categories",
    _COMMUNITY_STAFF,
    "Add a category of need to one's community's list (or switch one off).",
)
can_check_in = permission(
    "relief.check_in",
    {Role.COMMUNITY, Role.GRID, Role.BUILDING},
    "Record check-ins with the vulnerable one is assigned to (a call or a visit).",
)
can_plan_care = permission(
    "relief.plan_care",
    _COMMUNITY_STAFF,
    "Make check-in schedules from the roster's tags, assign them; plan treatment transports "
    "and care packages.",
)
can_read_stock = permission(
    "relief.read_stock",
    _NEIGHBOURHOOD | {Role.WORKER},
    "See the supply points of one's jurisdiction and their stock.",
)
can_manage_stock = permission(
    "relief.manage_stock",
    _COMMUNITY_STAFF,
    "Open supply points, record arrivals and donations, set low-stock levels (a point's "
    "keeper may record arrivals and draws at that point, whatever their role).",
)
can_hotline_counts = permission(
    "relief.hotline_counts",
    _COMMUNITY_STAFF | {Role.INSPECTOR},
    "See how many hotline calls there were and how many are at risk (never their content).",
)
can_manage_hotline = permission(
    "relief.manage_hotline",
    {Role.COMMAND, Role.STREET},
    "Name the hotline's counsellors and lead (the only readers of tickets' content).",
)
can_read_numbers = permission(
    "relief.read_numbers",
    _COMMUNITY_STAFF | {Role.INSPECTOR},
    "Relief numbers of one's jurisdiction: needs by category and area, deadlines met, "
    "deliveries; export them.",
)


def hotline_role(user, area_code: str = "") -> str | None:
    """`"counsellor"` or `"lead"` if `user` answers the hotline (for `area_code`, if given),
    else None. Cached on the user object for the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.pk:
        return None
    rows = getattr(user, "_hotline_rows", None)
    if rows is None:
        from .models import HotlineStaff

        rows = user._hotline_rows = list(
            HotlineStaff.objects.filter(user=user, active=True).values_list("area_code", "role")
        )
    roles = [role for code, role in rows if not area_code or area_code.startswith(code)]
    if not roles:
        return None
    return "lead" if "lead" in roles else "counsellor"
