"""What each domain app adds to the whole, declared on its AppConfig.

An app subclasses `FangkongApp` and says what it brings: its pages' URL prefix, its API
router's prefix, its menu entries, the context processors of its pages and its demo
steps. The project's URLs, API, menu, administration page, home page and `fangkong demo` are built from these
declarations, so adding an app touches only the app and one line of INSTALLED_APPS.
Its permissions live in `<app>/permissions.py`, its policies in `<app>/policies.py` and
its audit event types in `<app>/events.py`, imported when the app is ready.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec
from typing import TYPE_CHECKING

from django.apps import AppConfig, apps

from .permissions import Permission

if TYPE_CHECKING:  # django-stubs, a development dependency
    from django_stubs_ext import StrPromise


@dataclass(frozen=True)
class Nav:
    """A menu entry: shown to users who hold `permission` (or pass the check)."""

    label: "str | StrPromise"
    url_name: str
    permission: str | Callable[..., bool]
    order: int = 50
    # Roles for whom this entry is the page they land on after logging in.
    home_for: frozenset[str] = field(default_factory=frozenset)
    # A line under the entry where it is listed with others (the administration page).
    hint: "str | StrPromise" = ""

    def visible_to(self, user) -> bool:
        check = self.permission
        if isinstance(check, str):
            from .permissions import granted

            return granted(user, check)
        return bool(check(user))


class FangkongApp(AppConfig):
    """Base of every Fangkong domain app's AppConfig."""

    default_auto_field = "django.db.models.BigAutoField"
    # Django takes the one AppConfig of an apps.py marked default; this base, imported
    # there, is not it, and every subclass is.
    default = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.default = cls.__dict__.get("default", True)

    # Pages: `<name>.urls` included under this prefix ("people/"); empty: no pages.
    url_prefix: str = ""
    # API: `<name>.api.router` mounted at /api/v1/<api_prefix>; empty: no API.
    api_prefix: str = ""
    # More routers of the app: (prefix, dotted path of the router).
    api_routers: Sequence[tuple[str, str]] = ()
    nav: Sequence[Nav] = ()
    # Operations a device token of a scope reaches, as (method, route under the API):
    # {"upload": [("POST", "api/v1/testing/uploads")]} (fangkong/accounts/auth.py).
    token_scopes: Mapping[str, Sequence[tuple[str, str]]] = {}
    # Entries of the administration page (管理): the set-up a role may do in this app.
    # The menu shows "Administration" to whoever may open one of them.
    admin: Sequence[Nav] = ()
    # Dotted paths of context processors for every page (`fn(request) -> dict`).
    context_processors: Sequence[str] = ()
    # Management commands (with their arguments) that load this app's demo data; each is
    # idempotent. `fangkong demo` runs them, app after app in INSTALLED_APPS order.
    demo_steps: Sequence[tuple[str, ...]] = ()
    # Panels the app adds to another app's page, by slot ("people.resident"): the dotted
    # path of `fn(request, obj) -> str` (HTML; "" for nothing). The page asks
    # `panels_for(slot, request, obj)`, so it shows what later apps add without
    # importing them.
    panels: Mapping[str, str] = {}

    def ready(self) -> None:
        # An app's permissions and policies are declared in these modules, if it has them.
        for module in ("permissions", "policies", "events"):
            if find_spec(f"{self.name}.{module}") is not None:
                import_module(f"{self.name}.{module}")


def fangkong_apps() -> Iterator[FangkongApp]:
    for config in apps.get_app_configs():
        if isinstance(config, FangkongApp):
            yield config


def api_routers() -> Iterator[tuple[str, str]]:
    """(prefix, dotted router) of every app, in INSTALLED_APPS order."""
    for config in fangkong_apps():
        if config.api_prefix:
            yield config.api_prefix, f"{config.name}.api.router"
        yield from config.api_routers


def nav_entries() -> list[Nav]:
    entries = [entry for config in fangkong_apps() for entry in config.nav]
    return sorted(entries, key=lambda e: e.order)


def panels_for(slot: str, request, obj) -> list[str]:
    """The HTML every app adds to the page of `slot` about `obj`, in INSTALLED_APPS
    order (each panel checks the user's rights itself and returns "" to add nothing)."""
    found = []
    for config in fangkong_apps():
        dotted = config.panels.get(slot)
        if dotted:
            module, name = dotted.rsplit(".", 1)
            html = getattr(import_module(module), name)(request, obj)
            if html:
                found.append(html)
    return found


def admin_entries(user=None) -> list[Nav]:
    """Every app's administration entries (those `user` may open, if given)."""
    entries = [entry for config in fangkong_apps() for entry in config.admin]
    if user is not None:
        entries = [e for e in entries if e.visible_to(user)]
    return sorted(entries, key=lambda e: e.order)


def may_administer(user) -> bool:
    return bool(admin_entries(user))


def permissions_of(config: FangkongApp) -> list[Permission]:
    from .permissions import all_permissions

    return [p for p in all_permissions() if p.code.split(".")[0] == config.label]
