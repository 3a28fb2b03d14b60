from django.utils.translation import gettext_lazy as _

from fangkong.core.registry import FangkongApp, Nav
from fangkong.core.roles import Role

from .permissions import (
    HEALTH_TAGS,
    can_approve_handover,
    can_edit_residents,
    can_read_residents,
)


class PeopleConfig(FangkongApp):
    name = "fangkong.people"
    label = "people"
    verbose_name = _("People")
    url_prefix = "people/"
    api_prefix = "/residents"
    api_routers = (("/handovers", "fangkong.people.api_handovers.router"),)
    nav = (
        Nav(_("Residents"), "people:search", "people.read_residents", order=20),
        Nav(
            _("Key populations"),
            "people:tags",
            lambda user: can_read_residents(user) and HEALTH_TAGS(user),
            order=25,
        ),
        Nav(_("Roster import"), "people:import", "people.import_roster", order=30),
        Nav(
            _("My household"),
            "people:mine",
            "people.see_own_household",
            order=5,
            home_for=frozenset({Role.RESIDENT}),
        ),
    )
    admin = (
        Nav(
            _("Register a resident"),
            "people:register",
            "people.edit_residents",
            order=40,
            hint=_("A person at an address; one held elsewhere is asked for by hand-over"),
        ),
        Nav(
            _("Hand-overs"),
            "people:handovers",
            lambda user: can_edit_residents(user) or can_approve_handover(user),
            order=45,
            hint=_("Residents moving between communities, approved by the office above both"),
        ),
    )
    demo_steps = (("seed", "--if-empty"),)
