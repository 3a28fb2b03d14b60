"""Fangkong settings: one module, every knob from the environment.

A `.env` file beside `pyproject.toml` (made by `make env`) is read first; real
environment variables win over it. Bad values fail loudly at start-up.
"""

import base64
import datetime as dt
import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent


def _read_dotenv(path: Path) -> None:
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        os.environ.setdefault(key.strip(), value.strip())


_read_dotenv(Path(os.environ.get("FANGKONG_ENV_FILE", PROJECT_DIR / ".env")))


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, got {value!r}")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def envkey(name: str) -> bytes:
    """A 32-byte key given as url-safe base64."""
    value = os.environ.get(name)
    if not value:
        raise ImproperlyConfigured(f"{name} is not set; run `make env` or set it")
    try:
        key = base64.urlsafe_b64decode(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not valid base64") from exc
    if len(key) != 32:
        raise ImproperlyConfigured(f"{name} must decode to 32 bytes, got {len(key)}")
    return key


DEBUG = envbool("FANGKONG_DEBUG", False)
SECRET_KEY = os.environ.get("FANGKONG_SECRET_KEY", "")
if not SECRET_KEY:
    raise ImproperlyConfigured("FANGKONG_SECRET_KEY is not set; run `make env` or set it")

# Personal data: AES-256-GCM for ID and phone numbers, HMAC-SHA256 for look-ups.
PII_KEY = envkey("FANGKONG_PII_KEY")
PII_HASH_KEY = envkey("FANGKONG_HASH_KEY")
# Residents' codes: the 32-byte Ed25519 private seed that signs them (fangkong/people/codes.py).
# Never derived from another secret: a missing or malformed key stops start-up; `make`
# appends one to an older .env. Changing it voids every code shown or printed so far.
CODE_SIGNING_KEY = envkey("FANGKONG_CODE_SIGNING_KEY")
# Further signing keys for rotation, `kid:seed:YYYY-MM-DD,...` (fangkong/core/signing.py).
CODE_SIGNING_KEYS = os.environ.get("FANGKONG_CODE_SIGNING_KEYS", "")

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("FANGKONG_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("FANGKONG_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if envbool("FANGKONG_BEHIND_TLS_PROXY", False) else None
)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = envbool("FANGKONG_SECURE_COOKIES", False)
SESSION_COOKIE_AGE = envint("FANGKONG_SESSION_SECONDS", 12 * 3600)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    # Serves the API docs' Swagger UI from its own static files, not a CDN.
    "ninja",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    "fangkong.core",
    "fangkong.accounts",
    "fangkong.areas",
    "fangkong.people",
    "fangkong.testing",
    "fangkong.labs",
    "fangkong.workforce",
    "fangkong.screening",
    "fangkong.relief",
]

MIDDLEWARE = [
    "fangkong.core.middleware.NoStoreMiddleware",
    "fangkong.core.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "fangkong.core.middleware.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "fangkong.urls"
WSGI_APPLICATION = "fangkong.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "fangkong.accounts.throttle.LoginNameThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]


def _networks(name: str) -> list:
    nets = []
    for item in os.environ.get(name, "").split(","):
        if item.strip():
            try:
                nets.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError as exc:
                raise ImproperlyConfigured(f"{name}: {item.strip()!r} is not an address") from exc
    return nets


# The client's real address (fangkong/accounts/clientip.py): behind a reverse proxy, the
# header it writes (`X-Forwarded-For`, `X-Real-IP`), believed only from the proxies
# listed (addresses or networks). Unset: the connection's own address (REMOTE_ADDR).
CLIENT_IP_HEADER = os.environ.get("FANGKONG_CLIENT_IP_HEADER", "").strip()
TRUSTED_PROXIES = _networks("FANGKONG_TRUSTED_PROXIES")
if CLIENT_IP_HEADER and not TRUSTED_PROXIES:
    raise ImproperlyConfigured(
        "FANGKONG_CLIENT_IP_HEADER is set but FANGKONG_TRUSTED_PROXIES is empty: "
        "name the proxies whose header may be believed"
    )

# Login failures (docs/operations.md, "Logins"): a (user name, address) pair is locked
# after AXES_FAILURE_LIMIT failures for AXES_COOLOFF_TIME; a name alone is only throttled.
AXES_ENABLED = envbool("FANGKONG_AXES_ENABLED", True)
AXES_FAILURE_LIMIT = envint("FANGKONG_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = dt.timedelta(minutes=envint("FANGKONG_LOGIN_LOCK_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "fangkong.accounts.clientip.client_ip"
AXES_LOCKOUT_CALLABLE = "fangkong.accounts.views.axes_lockout"
AXES_RESET_ON_SUCCESS = True
LOGIN_NAME_FAILURE_LIMIT = envint("FANGKONG_LOGIN_NAME_FAILURE_LIMIT", 20)
LOGIN_NAME_WINDOW_S = envint("FANGKONG_LOGIN_NAME_WINDOW_S", 60)
if LOGIN_NAME_WINDOW_S <= 0:
    raise ImproperlyConfigured("FANGKONG_LOGIN_NAME_WINDOW_S must be positive")

# Every path that sets a password checks it against these (accounts.services).
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "display_name", "email")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": envint("FANGKONG_PASSWORD_MIN_LENGTH", 10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fangkong.core.context_processors.navigation",
                "fangkong.core.context_processors.apps_context",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{PROJECT_DIR / 'fangkong.sqlite3'}"),
        conn_max_age=envint("FANGKONG_DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django turns the driver's prepared statements off (prepare_threshold None). The
    # upload path runs the same few statements on every upload through server-side
    # binding cursors (fangkong/testing/ingest.py): with a threshold they are prepared
    # once per connection, and PostgreSQL stops parsing and planning them each time
    # (a third of its CPU an upload). Django's own queries bind on the client side and
    # are never prepared, so nothing else changes. Behind a pooler in transaction mode
    # this needs PgBouncer 1.21 or later (max_prepared_statements).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("FANGKONG_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("FANGKONG_TIME_ZONE", "Asia/Shanghai")

STATIC_URL = "/static/"
STATIC_ROOT = PROJECT_DIR / "staticfiles"
# The project's own static files (app.css); each app brings its own static/ folder.
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = Path(os.environ.get("FANGKONG_MEDIA_ROOT", PROJECT_DIR / "media"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# API tokens (`fangkong token`): how many days one lasts unless told, and at most.
TOKEN_DAYS = envint("FANGKONG_TOKEN_DAYS", 90)
TOKEN_MAX_DAYS = envint("FANGKONG_TOKEN_MAX_DAYS", 366)

# How long a client is told to wait (Retry-After) when the database is unavailable.
UNAVAILABLE_RETRY_AFTER_S = envint("FANGKONG_UNAVAILABLE_RETRY_AFTER_S", 30)

# Resident searches with a term, per user, in a fixed window (0: no limit). A person
# types a few a minute; a script rebuilding the roster needs thousands.
SEARCH_RATE_LIMIT = envint("FANGKONG_SEARCH_RATE_LIMIT", 60)
SEARCH_RATE_WINDOW_S = envint("FANGKONG_SEARCH_RATE_WINDOW_S", 60)
if SEARCH_RATE_WINDOW_S <= 0:
    raise ImproperlyConfigured("FANGKONG_SEARCH_RATE_WINDOW_S must be positive")
# Times a client claims (a device's scan, a lab's test) are accepted only this far
# before and after the server receives them, and flagged beyond the skew allowance
# (fangkong/core/clock.py; docs/sampling-protocol.md).
FANGKONG_CLIENT_TIME_PAST_S = envint("FANGKONG_CLIENT_TIME_PAST_S", 7 * 86400)
FANGKONG_CLIENT_TIME_FUTURE_S = envint("FANGKONG_CLIENT_TIME_FUTURE_S", 600)
FANGKONG_CLIENT_CLOCK_SKEW_S = envint("FANGKONG_CLIENT_CLOCK_SKEW_S", 180)
for _name in ("FANGKONG_CLIENT_TIME_PAST_S", "FANGKONG_CLIENT_TIME_FUTURE_S"):
    if not 0 <= globals()[_name] <= 366 * 86400:
        raise ImproperlyConfigured(f"{_name} must be between 0 and {366 * 86400} seconds")

# What an uploaded spreadsheet (roster, lab results, …) may hold: fangkong/core/spreadsheets.py.
FANGKONG_SHEET_MAX_BYTES = envint("FANGKONG_SHEET_MAX_BYTES", 100 * 1024 * 1024)
FANGKONG_SHEET_MAX_UNPACKED_BYTES = envint("FANGKONG_SHEET_MAX_UNPACKED_BYTES", 1024 * 1024 * 1024)
FANGKONG_SHEET_MAX_RATIO = envint("FANGKONG_SHEET_MAX_RATIO", 100)
FANGKONG_SHEET_MAX_PARTS = envint("FANGKONG_SHEET_MAX_PARTS", 1000)
FANGKONG_SHEET_MAX_ROWS = envint("FANGKONG_SHEET_MAX_ROWS", 1_100_000)
FANGKONG_SHEET_MAX_COLUMNS = envint("FANGKONG_SHEET_MAX_COLUMNS", 200)
FANGKONG_SHEET_MAX_MERGED = envint("FANGKONG_SHEET_MAX_MERGED", 200_000)
FANGKONG_SHEET_MAX_SHARED_STRINGS = envint("FANGKONG_SHEET_MAX_SHARED_STRINGS", 3_000_000)
FANGKONG_SHEET_MAX_CELL_CHARS = envint("FANGKONG_SHEET_MAX_CELL_CHARS", 32_767)
# Files no bigger than this unpacked may be read inside a request; others by the worker.
FANGKONG_SHEET_INLINE_BYTES = envint("FANGKONG_SHEET_INLINE_BYTES", 2 * 1024 * 1024)
for _name in [n for n in dir() if n.startswith("FANGKONG_SHEET_")]:
    if globals()[_name] < 0:
        raise ImproperlyConfigured(f"{_name} must not be negative")

# Rosters bigger than this many rows are imported by the background worker.
ROSTER_INLINE_MAX_ROWS = envint("FANGKONG_ROSTER_INLINE_MAX_ROWS", 2000)

# The sampler's page keeps scans on the phone until their tube is sealed, or this many
# seconds after the first of them (0: send each scan at once).
SAMPLER_HOLD_SECONDS = envint("FANGKONG_SAMPLER_HOLD_S", 60)

# Policies (fangkong/core/policies.py) and relief's categories of need are read once in
# this many seconds by each server process (0: on every use); a change is seen at once by
# the process that made it, by the others within this time.
POLICY_CACHE_SECONDS = envint("FANGKONG_POLICY_CACHE_S", 5)

# Text messages (fangkong/core/messaging.py): the adapter, and a gateway's address.
SMS_BACKEND = os.environ.get("FANGKONG_SMS_BACKEND", "fangkong.core.messaging.DatabaseBackend")
SMS_URL = os.environ.get("FANGKONG_SMS_URL", "")

# Live notifications (fangkong/core/views_notifications.py): how long one event-stream
# connection is held, how often it looks for news, when the browser reconnects.
NOTIFY_STREAM_SECONDS = envint("FANGKONG_NOTIFY_STREAM_S", 25)
NOTIFY_POLL_SECONDS = envint("FANGKONG_NOTIFY_POLL_S", 2)
NOTIFY_RETRY_MS = envint("FANGKONG_NOTIFY_RETRY_MS", 3000)

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("FANGKONG_LOG_LEVEL", "WARNING")},
}

SITE_NAME = _("Fangkong")
