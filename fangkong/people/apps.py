from django.utils.translation import gettext_lazy as _

from fangkong.core.registry import FangkongApp, Nav
from fangkong.core.roles import Role


class PeopleConfig(FangkongApp):
    name = "fangkong.people"
    label = "people"
    verbose_name = _("People")
    url_prefix = "people/"
    api_prefix = "/residents"
    nav = (
        Nav(_("Residents"), "people:search", "people.read_residents", order=20),
        Nav(_("Roster import"), "people:import", "people.import_roster", order=30),
        Nav(
            _("My household"),
            "people:mine",
            "people.see_own_household",
            order=5,
            home_for=frozenset({Role.RESIDENT}),
        ),
    )
    demo_steps = (("seed", "--if-empty"),)
