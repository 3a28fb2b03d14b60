"""The one reader of settings from the environment: loud on bad values.

Every knob of the project is an environment variable (`FANGKONG_…`), read at start-up
by `settings.py` or by an app's `conf.py`. A bad value stops the process with an
`ImproperlyConfigured` that names the variable and what it must be; an unset (or, where
said, empty) one takes the default.

    from fangkong.core import env

    OVERDUE_HOURS = env.integer("FANGKONG_LABS_OVERDUE_HOURS", 12, low=1, high=24 * 14)
    DEBUG = env.boolean("FANGKONG_DEBUG", False)

A reader takes `lookup=` to read from somewhere else first (the analytics settings
read a Django setting of the same name, then the environment).

Django is imported only to raise its error, so `scripts/make_env.py` can parse a .env
file with the same code before anything is installed.
"""

import base64
import ipaddress
import os
from collections.abc import Callable
from pathlib import Path

Lookup = Callable[[str], str | None]

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off", "")


def improperly_configured(message: str) -> Exception:
    from django.core.exceptions import ImproperlyConfigured

    return ImproperlyConfigured(message)


def parse_dotenv(text: str) -> dict[str, str]:
    """`NAME=value` lines of a .env file; blank lines and `#` comments are skipped."""
    found = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        found[name.strip()] = value.strip()
    return found


def read_dotenv(path: Path) -> None:
    """Put the variables of the .env file at `path` (if there is one) into the
    environment; a variable already set wins."""
    if path.is_file():
        for name, value in parse_dotenv(path.read_text(encoding="utf-8")).items():
            os.environ.setdefault(name, value)


def text(name: str, default: str = "", *, lookup: Lookup = os.environ.get) -> str:
    value = lookup(name)
    return default if value is None else value


def boolean(name: str, default: bool, *, lookup: Lookup = os.environ.get) -> bool:
    value = lookup(name)
    if value is None:
        return default
    if value.strip().lower() in TRUE:
        return True
    if value.strip().lower() in FALSE:
        return False
    raise improperly_configured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def integer(
    name: str,
    default: int,
    *,
    low: int | None = None,
    high: int | None = None,
    lookup: Lookup = os.environ.get,
) -> int:
    """A whole number; with `low` and `high`, one inside those bounds (inclusive)."""
    value = lookup(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise improperly_configured(f"{name} must be an integer, got {value!r}") from exc
    if (low is not None and number < low) or (high is not None and number > high):
        raise improperly_configured(
            f"{name} must be between {low if low is not None else '-∞'} and "
            f"{high if high is not None else '∞'}, got {number}"
        )
    return number


def items(name: str, default: str = "", *, lookup: Lookup = os.environ.get) -> list[str]:
    """A comma-separated list, blanks dropped: `a, b,,c` → ["a", "b", "c"]."""
    return [item.strip() for item in text(name, default, lookup=lookup).split(",") if item.strip()]


def key(name: str, *, lookup: Lookup = os.environ.get) -> bytes:
    """A 32-byte key given as url-safe base64; required."""
    value = lookup(name)
    if not value:
        raise improperly_configured(f"{name} is not set; run `make env` or set it")
    try:
        decoded = base64.urlsafe_b64decode(value)
    except ValueError as exc:
        raise improperly_configured(f"{name} is not valid base64") from exc
    if len(decoded) != 32:
        raise improperly_configured(f"{name} must decode to 32 bytes, got {len(decoded)}")
    return decoded


def networks(
    name: str, *, lookup: Lookup = os.environ.get
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """A comma-separated list of addresses or networks (`10.0.0.0/8, 127.0.0.1`)."""
    found = []
    for item in items(name, lookup=lookup):
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise improperly_configured(f"{name}: {item!r} is not an address") from exc
    return found
