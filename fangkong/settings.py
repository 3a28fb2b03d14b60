"""Fangkong settings: one module, every knob from the environment.

A `.env` file beside `pyproject.toml` (made by `make env`) is read first; real
environment variables win over it. Bad values fail loudly at start-up.
"""

import datetime as dt
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from fangkong.core import env

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent


env.read_dotenv(Path(env.text("FANGKONG_ENV_FILE", str(PROJECT_DIR / ".env"))))

DEBUG = env.boolean("FANGKONG_DEBUG", False)
SECRET_KEY = env.text("FANGKONG_SECRET_KEY", "")
if not SECRET_KEY:
    raise ImproperlyConfigured("FANGKONG_SECRET_KEY is not set; run `make env` or set it")

# Personal data: AES-256-GCM for ID and phone numbers, HMAC-SHA256 for look-ups.
PII_KEY = env.key("FANGKONG_PII_KEY")
PII_HASH_KEY = env.key("FANGKONG_HASH_KEY")
# Residents' codes: the 32-byte Ed25519 private seed that signs them (fangkong/people/codes.py).
# Never derived from another secret: a missing or malformed key stops start-up; `make`
# appends one to an older .env. Changing it voids every code shown or printed so far.
CODE_SIGNING_KEY = env.key("FANGKONG_CODE_SIGNING_KEY")
# Further signing keys for rotation, `kid:seed:YYYY-MM-DD,...` (fangkong/core/signing.py).
CODE_SIGNING_KEYS = env.text("FANGKONG_CODE_SIGNING_KEYS", "")

ALLOWED_HOSTS = env.items("FANGKONG_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env.items("FANGKONG_CSRF_TRUSTED_ORIGINS")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.boolean("FANGKONG_BEHIND_TLS_PROXY", False) else None
)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.boolean("FANGKONG_SECURE_COOKIES", False)
SESSION_COOKIE_AGE = env.integer("FANGKONG_SESSION_SECONDS", 12 * 3600)
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

# Bearer-token device endpoints served without the browser's middleware and without the
# per-request connection health check (fangkong/core/devices.py); comma-separated paths,
# each optionally after its one method ("POST /api/v1/relief/requests").
FANGKONG_DEVICE_PATHS = env.items(
    "FANGKONG_DEVICE_PATHS", "/api/v1/testing/uploads,POST /api/v1/relief/requests"
)

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


# The client's real address (fangkong/accounts/clientip.py): behind a reverse proxy, the
# header it writes (`X-Forwarded-For`, `X-Real-IP`), believed only from the proxies
# listed (addresses or networks). Unset: the connection's own address (REMOTE_ADDR).
CLIENT_IP_HEADER = env.text("FANGKONG_CLIENT_IP_HEADER", "").strip()
TRUSTED_PROXIES = env.networks("FANGKONG_TRUSTED_PROXIES")
if CLIENT_IP_HEADER and not TRUSTED_PROXIES:
    raise ImproperlyConfigured(
        "FANGKONG_CLIENT_IP_HEADER is set but FANGKONG_TRUSTED_PROXIES is empty: "
        "name the proxies whose header may be believed"
    )

# Login failures (docs/operations.md, "Logins"): a (user name, address) pair is locked
# after AXES_FAILURE_LIMIT failures for AXES_COOLOFF_TIME; a name alone is only throttled.
AXES_ENABLED = env.boolean("FANGKONG_AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env.integer("FANGKONG_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.integer("FANGKONG_LOGIN_LOCK_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "fangkong.accounts.clientip.client_ip"
AXES_LOCKOUT_CALLABLE = "fangkong.accounts.views.axes_lockout"
AXES_RESET_ON_SUCCESS = True
LOGIN_NAME_FAILURE_LIMIT = env.integer("FANGKONG_LOGIN_NAME_FAILURE_LIMIT", 20)
LOGIN_NAME_WINDOW_S = env.integer("FANGKONG_LOGIN_NAME_WINDOW_S", 60, low=1)

# Every path that sets a password checks it against these (accounts.services).
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "display_name", "email")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.integer("FANGKONG_PASSWORD_MIN_LENGTH", 10)},
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
        env.text("DATABASE_URL", f"sqlite:///{PROJECT_DIR / 'fangkong.sqlite3'}"),
        conn_max_age=env.integer("FANGKONG_DB_CONN_MAX_AGE", 60),
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
    # binding cursors (fangkong/testing/ingest/sql.py): with a threshold they are prepared
    # once per connection, and PostgreSQL stops parsing and planning them each time
    # (a third of its CPU an upload). Django's own queries bind on the client side and
    # are never prepared, so nothing else changes. Behind a pooler in transaction mode
    # this needs PgBouncer 1.21 or later (max_prepared_statements).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": env.text("FANGKONG_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env.text("FANGKONG_TIME_ZONE", "Asia/Shanghai")

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
MEDIA_ROOT = Path(env.text("FANGKONG_MEDIA_ROOT", str(PROJECT_DIR / "media")))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# API tokens (`fangkong token`): how many days one lasts unless told, and at most.
TOKEN_DAYS = env.integer("FANGKONG_TOKEN_DAYS", 90)
TOKEN_MAX_DAYS = env.integer("FANGKONG_TOKEN_MAX_DAYS", 366)

# How long a client is told to wait (Retry-After) when the database is unavailable.
UNAVAILABLE_RETRY_AFTER_S = env.integer("FANGKONG_UNAVAILABLE_RETRY_AFTER_S", 30)

# Resident searches with a term, per user, in a fixed window (0: no limit). A person
# types a few a minute; a script rebuilding the roster needs thousands.
SEARCH_RATE_LIMIT = env.integer("FANGKONG_SEARCH_RATE_LIMIT", 60)
SEARCH_RATE_WINDOW_S = env.integer("FANGKONG_SEARCH_RATE_WINDOW_S", 60, low=1)
# Times a client claims (a device's scan, a lab's test) are accepted only this far
# before and after the server receives them, and flagged beyond the skew allowance
# (fangkong/core/clock.py; docs/sampling-protocol.md).
_YEAR_S = 366 * 86400
FANGKONG_CLIENT_TIME_PAST_S = env.integer(
    "FANGKONG_CLIENT_TIME_PAST_S", 7 * 86400, low=0, high=_YEAR_S
)
FANGKONG_CLIENT_TIME_FUTURE_S = env.integer(
    "FANGKONG_CLIENT_TIME_FUTURE_S", 600, low=0, high=_YEAR_S
)
FANGKONG_CLIENT_CLOCK_SKEW_S = env.integer("FANGKONG_CLIENT_CLOCK_SKEW_S", 180)

# What an uploaded spreadsheet (roster, lab results, …) may hold: fangkong/core/spreadsheets.py.
FANGKONG_SHEET_MAX_BYTES = env.integer("FANGKONG_SHEET_MAX_BYTES", 100 * 1024 * 1024, low=0)
FANGKONG_SHEET_MAX_UNPACKED_BYTES = env.integer(
    "FANGKONG_SHEET_MAX_UNPACKED_BYTES", 1024 * 1024 * 1024, low=0
)
FANGKONG_SHEET_MAX_RATIO = env.integer("FANGKONG_SHEET_MAX_RATIO", 100, low=0)
FANGKONG_SHEET_MAX_PARTS = env.integer("FANGKONG_SHEET_MAX_PARTS", 1000, low=0)
FANGKONG_SHEET_MAX_ROWS = env.integer("FANGKONG_SHEET_MAX_ROWS", 1_100_000, low=0)
FANGKONG_SHEET_MAX_COLUMNS = env.integer("FANGKONG_SHEET_MAX_COLUMNS", 200, low=0)
FANGKONG_SHEET_MAX_MERGED = env.integer("FANGKONG_SHEET_MAX_MERGED", 200_000, low=0)
FANGKONG_SHEET_MAX_SHARED_STRINGS = env.integer(
    "FANGKONG_SHEET_MAX_SHARED_STRINGS", 3_000_000, low=0
)
FANGKONG_SHEET_MAX_CELL_CHARS = env.integer("FANGKONG_SHEET_MAX_CELL_CHARS", 32_767, low=0)
# Files no bigger than this unpacked may be read inside a request; others by the worker.
FANGKONG_SHEET_INLINE_BYTES = env.integer("FANGKONG_SHEET_INLINE_BYTES", 2 * 1024 * 1024, low=0)

# Rosters bigger than this many rows are imported by the background worker.
ROSTER_INLINE_MAX_ROWS = env.integer("FANGKONG_ROSTER_INLINE_MAX_ROWS", 2000)

# The sampler's page keeps scans on the phone until their tube is sealed, or this many
# seconds after the first of them (0: send each scan at once).
SAMPLER_HOLD_SECONDS = env.integer("FANGKONG_SAMPLER_HOLD_S", 60)

# Policies (fangkong/core/policies.py) and relief's categories of need are read once in
# this many seconds by each server process (0: on every use); a change is seen at once by
# the process that made it, by the others within this time.
POLICY_CACHE_SECONDS = env.integer("FANGKONG_POLICY_CACHE_S", 5, low=0)

# Text messages (fangkong/core/messaging.py): the adapter, and a gateway's address.
SMS_BACKEND = env.text("FANGKONG_SMS_BACKEND", "fangkong.core.messaging.DatabaseBackend")
SMS_URL = env.text("FANGKONG_SMS_URL", "")

# Live notifications (fangkong/core/views_notifications.py): how long one event-stream
# connection is held, how often it looks for news, when the browser reconnects.
NOTIFY_STREAM_SECONDS = env.integer("FANGKONG_NOTIFY_STREAM_S", 25)
NOTIFY_POLL_SECONDS = env.integer("FANGKONG_NOTIFY_POLL_S", 2)
NOTIFY_RETRY_MS = env.integer("FANGKONG_NOTIFY_RETRY_MS", 3000)

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
    "root": {"handlers": ["console"], "level": env.text("FANGKONG_LOG_LEVEL", "WARNING")},
}

SITE_NAME = _("Fangkong")
