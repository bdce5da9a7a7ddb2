"""Settings shared by every environment, read from the environment with local defaults.

Secure defaults first: DEBUG is off unless asked for, hosts are explicit, the API denies
by default. ``production`` only adds what needs HTTPS in front of it.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from socapp.client_address import parse_networks

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A developer's `.env` (written by `make run` on first start) fills in what the shell
# does not set; real environment variables always win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Put one in the environment or in .env "
            "(`make run` writes a random one on first start), or set DEBUG=true."
        )
    SECRET_KEY = "django-insecure-debug-only-key-never-use-in-production"  # noqa: S105
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])


def _derived_key(purpose: str) -> bytes:
    """A 32-byte key derived from SECRET_KEY, for deployments that set nothing else."""
    return hashlib.sha256(f"socapp:{purpose}:{SECRET_KEY}".encode()).digest()


# Fernet keys for encrypted model fields, newest first (MultiFernet rotation).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[]) or [
    base64.urlsafe_b64encode(_derived_key("field-encryption")).decode()
]
# Key of the audit log's HMAC chain (and of its anchors); keep it outside the database.
AUDIT_HMAC_KEY = env.str("AUDIT_HMAC_KEY", default="") or _derived_key("audit").hex()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",  # first, so `runserver` serves ASGI and websockets in development
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_celery_beat",
    "channels",
    # Our apps, lowest layer first: socapp (floor) <- assets, intel <- events
    # <- incidents <- correlation <- socapp.roof. A lower app never imports a higher one.
    "socapp",
    "assets",
    "intel",
    "events",
    "incidents",
    "correlation",
    # The roof (no models): assembles the apps; here for its management commands.
    "socapp.roof",
]

MIDDLEWARE = [
    # Answers /health and /ready before host checks, redirects or sessions run.
    "socapp.middleware.ProbeMiddleware",
    # A NUL in a path or query string is a 400 before any view or filter sees it.
    "socapp.middleware.RejectNulMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "socapp.headers.SecurityHeadersMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed a second factor.
    "django_otp.middleware.OTPMiddleware",
    # Address and user agent for every audit entry; refusals and reads (socapp/audit_access.py).
    "socapp.audit_access.AuditMiddleware",
    # Pages speak the user's time zone (their preference); the API stays in UTC.
    "socapp.middleware.UserTimeZoneMiddleware",
    "socapp.middleware.LoginRequiredMiddleware",
    # OTP_REQUIRED_FOR_ADMINS: an admin without a verified second factor gets enrolment only.
    "socapp.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "socapp.middleware.RequestMetricsMiddleware",
    # Last: turns a login refused by the lockout into the lockout page (429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "socapp.roof.urls"
ASGI_APPLICATION = "socapp.roof.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # The user's time zone and the range the navigation carries (socapp/context.py).
                "socapp.context.time_context",
            ],
            # {{ moment|when }}: one time format on every page (socapp/timefmt.py).
            "builtins": ["socapp.templatetags.socapp_time"],
        },
    },
]

# --- Data stores -------------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/socapp"),
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("socapp needs PostgreSQL 15+: DATABASE_URL must be postgres://")
DATABASES["default"].setdefault("OPTIONS", {})
# A dead database must fail fast (readiness probes, ingest 503s), not hang for minutes.
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", 5))
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The role the application runs as, which `manage.py db_roles` (run by the owner role,
# after migrate) creates and grants: DML, but only SELECT and INSERT on the audit log.
# DB_APP_PASSWORD is set on it when given. See docs/SECURITY.md.
DB_APP_ROLE = env.str("DB_APP_ROLE", default="")
DB_APP_PASSWORD = env.str("DB_APP_PASSWORD", default="")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

CACHES: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "socapp",
        "TIMEOUT": 300,
    }
}

# channels_redis waits for a websocket's messages with a BZPOPMIN that Redis answers
# after 5 s at the latest (RedisChannelLayer.brpop_timeout), empty when nothing came.
# redis-py 8 gives every connection a 5 s socket timeout unless told otherwise, which
# ran out just as that empty answer was due: every idle websocket died each ~5 s with
# "Timeout reading from 127.0.0.1:6379". The read must outlast the blocking pop; a
# finite timeout still notices a Redis that stopped answering.
CHANNEL_LAYER_SOCKET_TIMEOUT = 15.0


def channel_layer_host(url: str) -> dict[str, Any]:
    """One Redis of the channel layer, with socket timeouts that suit its blocking pops."""
    return {
        "address": url,
        "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT,
        "socket_connect_timeout": 5,
    }


CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [channel_layer_host(REDIS_URL)], "prefix": "socapp:channels"},
    }
}

# --- Celery --------------------------------------------------------------------------
# PostgreSQL is the source of truth; the broker only nudges (docs/ARCHITECTURE.md). Tasks are
# idempotent, acknowledged late, and never pickled.

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_DEFAULT_QUEUE = "default"
# Separate queues so slow maintenance never starves correlation (docs/ARCHITECTURE.md).
# The one place a task's queue is declared: senders and the beat schedule (bootstrap)
# read it from here; a task not named runs on the default queue.
CELERY_TASK_ROUTES = {
    "events.tasks.maintain_event_partitions": {"queue": "maintenance"},
    "events.tasks.drop_expired_event_partitions": {"queue": "maintenance"},
    "events.tasks.refresh_hourly_event_summary": {"queue": "maintenance"},
    "events.tasks.sweep_uncorrelated_batches": {"queue": "maintenance"},
    "events.tasks.check_source_health": {"queue": "maintenance"},
    "events.tasks.discover_unknown_hosts": {"queue": "maintenance"},
    "socapp.tasks.audit_checkpoint": {"queue": "maintenance"},
    "correlation.tasks.check_correlation_lag": {"queue": "maintenance"},
    "correlation.tasks.correlate_batch": {"queue": "correlation"},
    "correlation.tasks.close_correlation_windows": {"queue": "correlation"},
    "intel.tasks.poll_due_feeds": {"queue": "maintenance"},
    "intel.tasks.poll_feed": {"queue": "maintenance"},
    "correlation.tasks.retro_hunt": {"queue": "maintenance"},
    "intel.tasks.expire_indicators": {"queue": "maintenance"},
}
CELERY_QUEUES_ALL = "default,ingest,correlation,maintenance"

# --- Auth, permissions ---------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    # First: refuses logins from a locked-out account or address before any password check.
    "socapp.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user; anonymous access is denied
GUARDIAN_MONKEY_PATCH_USER = False

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Paths the login-required middleware lets through; each does its own authentication.
LOGIN_EXEMPT_PREFIXES = (
    "/api/",
    "/metrics",
    "/accounts/login/",
    "/static/",
    "/admin/",
    "/services/collector",
)

API_TOKEN_DEFAULT_EXPIRY_DAYS = env.int("API_TOKEN_DEFAULT_EXPIRY_DAYS", default=90)

# The client address (audit entries, login lockout, token throttling) is the TCP peer,
# unless the peer is one of these proxies (CIDRs): then X-Forwarded-For is read from the
# right, past our own proxies. Empty (the default): the header is never believed.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
try:
    parse_networks(TRUSTED_PROXIES)
except ValueError as exc:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from exc

# Login lockout (django-axes, pages and admin): after LOGIN_FAILURE_LIMIT failed logins
# for one account from one address, or LOGIN_FAILURE_LIMIT_PER_ADDRESS from one address
# for any accounts, within LOGIN_LOCKOUT_MINUTES, logins from there are refused (429,
# the right password too) until that many minutes pass without a failure counted.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env.int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", default=20)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AXES_HANDLER = "socapp.lockout.LoginLockoutHandler"
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
# Order matters to LoginLockoutHandler: (account, address) first, then the address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_CLIENT_IP_CALLABLE = "socapp.audit.request_addr"
AXES_LOCKOUT_CALLABLE = "socapp.lockout.locked_out_response"
AXES_RESET_ON_SUCCESS = True  # that account at that address only (LoginLockoutHandler)
# Failures while locked out are refused without being stored: the lock ends on time and
# an attacker hammering a locked login adds no rows.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_DISABLE_ACCESS_LOG = True  # successful logins belong in the audit log, not here
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_VERBOSE = False

# Second factor (django-otp; docs/SECURITY.md, "Second factor"): anyone may enrol a TOTP
# app from /accounts/two-factor/; with OTP_REQUIRED_FOR_ADMINS staff, superusers and SOC
# admins must, and use nothing else until they have. Wrong codes count as failed logins.
OTP_REQUIRED_FOR_ADMINS = env.bool("OTP_REQUIRED_FOR_ADMINS", default=False)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="socapp")  # the name apps show
# Seconds between the password and the code of one login.
OTP_LOGIN_SECONDS = 300
# After n wrong codes in a row a device checks no code for this many seconds x 2^(n-1),
# whatever the address (django-otp's back-off; backup codes alike). 0 turns it off.
OTP_TOTP_THROTTLE_FACTOR = env.int("OTP_TOTP_THROTTLE_FACTOR", default=1)
OTP_STATIC_THROTTLE_FACTOR = OTP_TOTP_THROTTLE_FACTOR

# Bearer tokens (personal API tokens and source ingest tokens): after
# TOKEN_FAILURE_LIMIT refused tokens from one address within TOKEN_FAILURE_WINDOW
# seconds, every bearer token from that address is answered 429 with Retry-After until
# the window ends. Tokens are 256-bit random, so this bounds load, not guessing odds.
TOKEN_FAILURE_LIMIT = env.int("TOKEN_FAILURE_LIMIT", default=20)
TOKEN_FAILURE_WINDOW = env.int("TOKEN_FAILURE_WINDOW", default=300)

# --- JWT for integrations (docs/SECURITY.md, "JWT") ----------------------------------
# Off by default: the token endpoints answer 404 and a JWT presented as a bearer token is
# refused. HS256 only, signed with JWT_SIGNING_KEY (32+ characters, never SECRET_KEY);
# socapp is both issuer and audience, so no one else needs a key to verify.
JWT_ENABLED = env.bool("JWT_ENABLED", default=False)
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="")
JWT_ISSUER = env.str("JWT_ISSUER", default="socapp")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="socapp-api")
# Access tokens live 1 to 15 minutes; refresh tokens (one use each) at least as long.
JWT_ACCESS_TOKEN_SECONDS = env.int("JWT_ACCESS_TOKEN_SECONDS", default=300)
JWT_REFRESH_TOKEN_SECONDS = env.int("JWT_REFRESH_TOKEN_SECONDS", default=24 * 3600)
# Token sessions (one per password exchange) a user may hold; the oldest goes first.
JWT_MAX_SESSIONS_PER_USER = env.int("JWT_MAX_SESSIONS_PER_USER", default=10)
if JWT_ENABLED:
    if len(JWT_SIGNING_KEY) < 32:
        raise ImproperlyConfigured(
            "JWT_ENABLED needs JWT_SIGNING_KEY of 32+ characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if JWT_SIGNING_KEY in (SECRET_KEY, *SECRET_KEY_FALLBACKS):
        raise ImproperlyConfigured("JWT_SIGNING_KEY must not be SECRET_KEY: give it its own key")
    if not 60 <= JWT_ACCESS_TOKEN_SECONDS <= 900:
        raise ImproperlyConfigured("JWT_ACCESS_TOKEN_SECONDS must be within 60..900")
    if JWT_REFRESH_TOKEN_SECONDS < JWT_ACCESS_TOKEN_SECONDS:
        raise ImproperlyConfigured("JWT_REFRESH_TOKEN_SECONDS must be >= the access lifetime")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so an unauthenticated API call gets 401 with WWW-Authenticate: Bearer.
        "socapp.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: a view that says nothing needs a role and the model permission.
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "socapp.permissions.HasSocRole",
        "socapp.permissions.ModelPermissions",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "socapp.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's three, refusing NUL characters anywhere in a body (PostgreSQL stores none).
    "DEFAULT_PARSER_CLASSES": [
        "socapp.api.parsers.JSONParser",
        "socapp.api.parsers.FormParser",
        "socapp.api.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "socapp.api.autoschema.SocAutoSchema",
    "EXCEPTION_HANDLER": "socapp.api.exceptions.exception_handler",
    "DEFAULT_VERSIONING_CLASS": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "socapp API",
    "DESCRIPTION": (
        "REST API of socapp, the open security correlation platform. Authenticate with a "
        "personal API token (`manage.py token_create USERNAME`) sent as "
        "`Authorization: Bearer <token>`, with a JWT access token from "
        "`POST /api/v1/auth/token/` where JWT_ENABLED, or with a browser session."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No badge fetched from validator.swagger.io: the pages load nothing from elsewhere.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SERVE_PERMISSIONS": ["socapp.permissions.IsAuthenticatedWithRole"],
    "SERVE_AUTHENTICATION": [
        "socapp.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "socapp.api.schema.add_error_responses",
        "socapp.api.autoschema.add_tags",
    ],
    "ENUM_NAME_OVERRIDES": {
        "AlertStatusEnum": "incidents.choices.AlertStatus",
        "IncidentStatusEnum": "incidents.choices.IncidentStatus",
        "ResponseActionStatusEnum": "incidents.choices.ResponseActionStatus",
        "SettleOutcomeEnum": "incidents.choices.SettleOutcome",
        "TaskStatusEnum": "incidents.choices.TaskStatus",
        "RuleStatusEnum": "correlation.choices.RuleStatus",
        "IocStatusEnum": "intel.choices.IocStatus",
        "LevelEnum": "correlation.choices.SeverityName",
        "LogFormatEnum": "events.choices.LogFormat",
        "SavedViewPageEnum": "socapp.api.serializers.SAVED_VIEW_PAGES",
    },
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "sourceIngestToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "A source ingest token (`socapp_src_…`) from "
                "`manage.py source_create` or the source's admin page. Only for "
                "/api/v1/ingest/ (and the Splunk HEC paths, as `Authorization: Splunk …`).",
            }
        }
    },
}

# --- Security headers (production adds the HTTPS-only ones) --------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (socapp.headers): no inline script or style anywhere, nothing
# from other origins; the websocket origin of the request's host is added to connect-src.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
# Additions for one path prefix (the first that matches), for third-party pages we do
# not template. Swagger UI's stylesheet draws its icons as data: images (the page shows
# only the API schema, never data from logs or users).
CONTENT_SECURITY_POLICY_PATHS = {
    "/api/docs/": {"img-src": ["data:"]},
}
# true: browsers report violations (console) but block nothing; for trying a change.
CONTENT_SECURITY_POLICY_REPORT_ONLY = env.bool("CONTENT_SECURITY_POLICY_REPORT_ONLY", False)
# Browser features no socapp page uses are denied to every page and frame.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
CSRF_COOKIE_SAMESITE = "Lax"

# --- Internationalisation, static files -----------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
SERVESTATIC_USE_FINDERS = DEBUG

# --- socapp --------------------------------------------------------------------------

# Events are range-partitioned on event_time; see docs/DATA.md for the choice of interval.
EVENTS_PARTITION_INTERVAL = env.str("EVENTS_PARTITION_INTERVAL", default="month")
if EVENTS_PARTITION_INTERVAL not in ("day", "week", "month"):
    raise ImproperlyConfigured("EVENTS_PARTITION_INTERVAL must be day, week or month")
# How many intervals ahead of now the beat task keeps partitions ready.
EVENTS_PARTITION_PREMAKE = env.int("EVENTS_PARTITION_PREMAKE", default=2)
# New partitions one ingest batch may make (event times are what senders claim); records
# needing more are quarantined with the reason (docs/SECURITY.md, "Ingest limits").
EVENTS_MAX_NEW_PARTITIONS_PER_BATCH = env.int("EVENTS_MAX_NEW_PARTITIONS_PER_BATCH", default=12)
# Partitions whose whole range is older than this many days are dropped; 0 keeps all.
EVENTS_RETENTION_DAYS = env.int("EVENTS_RETENTION_DAYS", default=90)
HOURLY_SUMMARY_REFRESH_SECONDS = env.int("HOURLY_SUMMARY_REFRESH_SECONDS", default=300)

# Asset discovery (docs/ASSETS.md): addresses and host names seen in events that no asset
# claims, kept for this many days, at most this many rows. Only addresses inside these
# networks count as "ours" (an attacker's address is not an unknown host of ours).
ASSETS_DISCOVERY_DAYS = env.int("ASSETS_DISCOVERY_DAYS", default=7)
ASSETS_DISCOVERY_MAX_ROWS = env.int("ASSETS_DISCOVERY_MAX_ROWS", default=5000)
# The scan reads events by arrival; one stamped up to this many hours before it arrived
# (a forwarder's backlog) still counts. More hours: more partitions probed per scan.
ASSETS_DISCOVERY_LATE_HOURS = env.int("ASSETS_DISCOVERY_LATE_HOURS", default=72)
ASSETS_DISCOVERY_NETWORKS = env.list(
    "ASSETS_DISCOVERY_NETWORKS",
    default=["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
)

# Geolocation (docs/GEOIP.md): a MaxMind-format City or Country database (GeoLite2 or
# GeoIP2) and optionally an ASN one; empty turns geolocation off. A replaced file is
# reopened within GEOIP_RECHECK_SECONDS; answers are cached per process (addresses).
GEOIP_DATABASE = env.str("GEOIP_DATABASE", default="")
GEOIP_ASN_DATABASE = env.str("GEOIP_ASN_DATABASE", default="")
GEOIP_RECHECK_SECONDS = env.int("GEOIP_RECHECK_SECONDS", default=60)
GEOIP_CACHE_SIZE = env.int("GEOIP_CACHE_SIZE", default=10_000)

# Detection: how late (seconds of event time) a hit may arrive and still count in its
# correlation window; older hits are counted as late and dropped.
CORRELATION_ALLOWED_LATENESS = env.int("CORRELATION_ALLOWED_LATENESS", default=300)
# Hits kept per correlation rule and group (the oldest are forgotten past it): bounds the
# state one group of events can make the engine keep and read.
CORRELATION_MAX_KEY_HITS = env.int("CORRELATION_MAX_KEY_HITS", default=10_000)
# Seconds one correlation attempt (a batch, or a part of one) may take; past it the
# attempt is rolled back and split in halves, retried one after the other. 0: no budget.
CORRELATION_BATCH_BUDGET_SECONDS = env.float("CORRELATION_BATCH_BUDGET_SECONDS", default=60.0)
# A rule that took the most time in this many consecutive over-budget attempts is turned
# off by the engine (reason on its page, an audit entry, an alert for the admins).
CORRELATION_BUDGET_STRIKES = env.int("CORRELATION_BUDGET_STRIKES", default=3)
# An alert (once per episode) when the oldest committed batch has waited longer than this
# for correlation; 0 turns the alert off.
CORRELATION_LAG_ALERT_SECONDS = env.int("CORRELATION_LAG_ALERT_SECONDS", default=900)
# Threat-intel matching (docs/INTEL-MATCHING.md). Active indicators one process loads into
# its matching index at most (the highest-confidence first; a health warning past it).
INTEL_MATCH_MAX_INDICATORS = env.int("INTEL_MATCH_MAX_INDICATORS", default=1_000_000)
# Seconds between two looks at the indicator-set version (a Redis counter) per process.
INTEL_MATCH_CHECK_SECONDS = env.float("INTEL_MATCH_CHECK_SECONDS", default=1.0)
# Seconds between two looks at the database's own fingerprint of the active set (count,
# newest change): catches a change whose writer did not bump the version.
INTEL_MATCH_FINGERPRINT_SECONDS = env.float("INTEL_MATCH_FINGERPRINT_SECONDS", default=60.0)
# Values one event has checked at most (a list field counts each item), and indicator hits
# one event keeps at most: bounds a hostile event's cost.
INTEL_MATCH_MAX_VALUES_PER_EVENT = env.int("INTEL_MATCH_MAX_VALUES_PER_EVENT", default=64)
INTEL_MATCH_MAX_HITS_PER_EVENT = env.int("INTEL_MATCH_MAX_HITS_PER_EVENT", default=16)
# Confidence halves every this many days of an indicator's age, per type (0: no decay).
INTEL_HALF_LIFE_DAYS = env.json(
    "INTEL_HALF_LIFE_DAYS",
    default={
        "ipv4": 30, "ipv6": 30, "cidr": 60, "domain": 90, "url": 60, "email": 180,
        "md5": 0, "sha1": 0, "sha256": 0, "ja3": 180, "ja4": 180,
    },
)  # fmt: skip
# Below this decayed confidence a match is recorded but raises no alert.
INTEL_ALERT_FLOOR = env.float("INTEL_ALERT_FLOOR", default=0.2)
# A false-positive verdict on an IOC-match alert: "retire" the indicator, or "halve" its
# confidence.
INTEL_FALSE_POSITIVE_ACTION = env.str("INTEL_FALSE_POSITIVE_ACTION", default="retire")
if INTEL_FALSE_POSITIVE_ACTION not in ("retire", "halve"):
    raise ImproperlyConfigured("INTEL_FALSE_POSITIVE_ACTION must be 'retire' or 'halve'.")
# Retro-hunt: days of stored events searched for new indicators, the hours of event time
# one step reads, and the events read from the database at once.
RETRO_HUNT_DAYS = env.int("RETRO_HUNT_DAYS", default=30)
RETRO_HUNT_SLICE_HOURS = env.int("RETRO_HUNT_SLICE_HOURS", default=6)
RETRO_HUNT_CHUNK = env.int("RETRO_HUNT_CHUNK", default=2000)
# Values of Sigma's |expand placeholders (%name%), as JSON: {"name": ["value", ...]}.
# A rule whose placeholders have no value here is skipped on import, refused on save.
SIGMA_PLACEHOLDERS = env.json("SIGMA_PLACEHOLDERS", default={})
# What one rule text (editor, API, the rule tester every role may use, import_sigma, the
# rule pack) may hold, checked before any of it is built; YAML anchors and aliases are
# refused outright. SigmaHQ's largest rule is 295 kB with 4,467 values. See SECURITY.md.
RULE_MAX_BYTES = env.int("RULE_MAX_BYTES", default=512 * 1024)
RULE_MAX_DOCUMENTS = env.int("RULE_MAX_DOCUMENTS", default=100)  # per text or file
RULE_MAX_DEPTH = env.int("RULE_MAX_DEPTH", default=16)  # YAML nesting; condition nesting
RULE_MAX_VALUES = env.int("RULE_MAX_VALUES", default=10_000)  # per document, once expanded
RULE_MAX_REFERENCES = env.int("RULE_MAX_REFERENCES", default=50)  # rules a correlation names
RULE_MAX_CONDITION_TOKENS = env.int("RULE_MAX_CONDITION_TOKENS", default=500)
# The event pasted into the rule tester (its JSON and raw text together).
RULE_TEST_MAX_EVENT_BYTES = env.int("RULE_TEST_MAX_EVENT_BYTES", default=64 * 1024)

# Event search: a query no index narrows reads its range in slices, newest first, and
# answers with what it found once this much time has gone (the page says how far back
# it searched and continues from there). See docs/SEARCH.md.
SEARCH_TIME_BUDGET_MS = env.int("SEARCH_TIME_BUDGET_MS", default=250)
# The search page's results and its hit count and histogram (one GROUP BY over the range)
# together: the count is cut off at this less what the results took (at least 50 ms).
SEARCH_COUNT_TIMEOUT_MS = env.int("SEARCH_COUNT_TIMEOUT_MS", default=250)
# Counted exactly when the planner expects at most this many hits; more (or an exact count
# that runs out of time) are estimated from a sample of about SEARCH_SAMPLE_ROWS of the
# range's events (docs/SEARCH.md).
SEARCH_EXACT_COUNT_MAX_ROWS = env.int("SEARCH_EXACT_COUNT_MAX_ROWS", default=50_000)
SEARCH_SAMPLE_ROWS = env.int("SEARCH_SAMPLE_ROWS", default=20_000)
# The search page's CSV download: the newest this many rows of the query and range.
SEARCH_EXPORT_MAX_ROWS = env.int("SEARCH_EXPORT_MAX_ROWS", default=10_000)
# The longest time range the queue, the search and the dashboard accept (socapp/timerange.py).
TIME_RANGE_MAX_DAYS = env.int("TIME_RANGE_MAX_DAYS", default=366)

# The console. Incident grouping: a new alert joins an open incident of its team holding
# an alert that shares an entity of these kinds, seen within the window, while the
# incident has fewer than max_alerts alerts. {"keys": []} turns grouping off.
INCIDENT_GROUPING = env.json(
    "INCIDENT_GROUPING",
    default={"keys": ["ip", "user", "host"], "window_hours": 24, "max_alerts": 50},
)
# Evidence files live here: outside the web root, served only through the incident's
# permission check, as downloads.
EVIDENCE_ROOT = Path(env.str("EVIDENCE_ROOT", default=str(BASE_DIR / "var" / "evidence")))
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=50 * 1024 * 1024)
# Response actions on incidents of this priority or above wait for an incident manager's
# approval (low, medium, high, critical; "none" never asks).
RESPONSE_APPROVAL_PRIORITY = env.str("RESPONSE_APPROVAL_PRIORITY", default="high")
# An action still running this many minutes after it started (its worker died) may be
# settled by an incident manager as failed or succeeded, with what they checked.
RESPONSE_STUCK_MINUTES = env.int("RESPONSE_STUCK_MINUTES", default=15)
# Connector kind -> handler (docs/RESPONSE.md): replace one or add a kind here.
RESPONSE_HANDLERS = {
    "webhook": "incidents.response.webhook.deliver",
    "email": "incidents.response.mail.deliver",
    "command": "incidents.response.command.deliver",
    **env.json("RESPONSE_HANDLERS_EXTRA", default={}),
}
# Outbound requests to URLs people configure (webhook connectors, threat-intel feeds) go
# through socapp.netguard, which refuses loopback, link-local, private, multicast and
# reserved addresses. Ranges listed here (CIDRs, comma-separated) are allowed anyway,
# e.g. an internal ticketing system: OUTBOUND_ALLOWED_NETWORKS=10.20.0.0/16
OUTBOUND_ALLOWED_NETWORKS = env.list("OUTBOUND_ALLOWED_NETWORKS", default=[])
for _network in OUTBOUND_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network.strip(), strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"OUTBOUND_ALLOWED_NETWORKS: {_exc}") from _exc
# Links in notifications and webhook bodies point here.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Outgoing mail (e-mail connectors): smtp://user:password@host:port, smtp+tls://…,
# or consolemail:// to print messages instead of sending them.
vars().update(env.email_url("EMAIL_URL", default="smtp://127.0.0.1:25"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="socapp@localhost")

# Largest file the upload page takes (bigger ones: manage.py ingest).
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=256 * 1024 * 1024)
# Largest ingest request body, before and after gzip (413 beyond).
INGEST_MAX_BODY_BYTES = env.int("INGEST_MAX_BODY_BYTES", default=16 * 1024 * 1024)
# Most records one ingest request (REST, HEC) may carry (413 beyond, nothing stored). A
# batch is parsed and held in memory whole before it commits: 50,000 records is about two
# seconds of work and well above what shippers send (Vector, Fluent Bit, Splunk forwarders
# batch a few thousand); docs/SECURITY.md "Limits" has the figures.
INGEST_MAX_RECORDS = env.int("INGEST_MAX_RECORDS", default=50_000)
# What one uploaded file, or one file given to manage.py ingest, may decompress to: every
# .gz and .zip layer and member together (413 beyond, nothing stored; the command's
# --max-inflated-bytes raises it for one run).
FILE_MAX_INFLATED_BYTES = env.int("FILE_MAX_INFLATED_BYTES", default=1024 * 1024 * 1024)
# A compressed stream that inflates more than this many times its size (past its first
# MiB) is refused as a decompression bomb. Real logs compress 5-30 times; bombs, 1,000.
DECOMPRESSION_MAX_RATIO = env.int("DECOMPRESSION_MAX_RATIO", default=200)
# Archives inside archives (a .gz in a .zip is two levels), and files in them all.
ARCHIVE_MAX_DEPTH = env.int("ARCHIVE_MAX_DEPTH", default=3)
ARCHIVE_MAX_MEMBERS = env.int("ARCHIVE_MAX_MEMBERS", default=10_000)
# Rejected records of one batch kept whole (raw bytes, reason) in the quarantine; the rest
# of the batch's rejects are counted per reason in one summary row.
QUARANTINE_MAX_PER_BATCH = env.int("QUARANTINE_MAX_PER_BATCH", default=100)
# A file (upload or manage.py ingest) is given up once this many of its records were
# refused and they outnumber those stored: a file of garbage, or of the wrong format,
# costs a bounded amount of work instead of a pass over every line (what was stored
# stays; the page and the command say where reading stopped).
FILE_MAX_REFUSED_RECORDS = env.int("FILE_MAX_REFUSED_RECORDS", default=10_000)

# The syslog listener (manage.py syslogd).
SYSLOG_HOST = env.str("SYSLOG_HOST", default="0.0.0.0")  # noqa: S104
SYSLOG_UDP_PORT = env.int("SYSLOG_UDP_PORT", default=5514)
SYSLOG_TCP_PORT = env.int("SYSLOG_TCP_PORT", default=5514)
SYSLOG_TLS_PORT = env.int("SYSLOG_TLS_PORT", default=0)
SYSLOG_TLS_CERT = env.str("SYSLOG_TLS_CERT", default="")
SYSLOG_TLS_KEY = env.str("SYSLOG_TLS_KEY", default="")
SYSLOG_BATCH_SIZE = env.int("SYSLOG_BATCH_SIZE", default=500)
SYSLOG_FLUSH_SECONDS = env.float("SYSLOG_FLUSH_SECONDS", default=1.0)
# Senders no source names: "catchall" stores them in SYSLOG_CATCHALL_SOURCE, "refuse"
# drops and counts them.
SYSLOG_UNKNOWN_SENDERS = env.str("SYSLOG_UNKNOWN_SENDERS", default="catchall")
SYSLOG_CATCHALL_SOURCE = env.str("SYSLOG_CATCHALL_SOURCE", default="syslog-unknown-senders")
SYSLOG_MAX_MESSAGE = env.int("SYSLOG_MAX_MESSAGE", default=64 * 1024)
SYSLOG_MAX_BUFFERED = env.int("SYSLOG_MAX_BUFFERED", default=100_000)
# ... and at most this many bytes of them (64 KiB messages would otherwise fill 6 GiB).
SYSLOG_MAX_BUFFERED_BYTES = env.int("SYSLOG_MAX_BUFFERED_BYTES", default=64 * 1024 * 1024)

# Each dependency check of /ready gives up after this many seconds.
READY_CHECK_TIMEOUT = env.float("READY_CHECK_TIMEOUT", default=2.0)
# When set, /metrics requires `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Audit log (docs/SECURITY.md) -------------------------------------------------------

# How often the beat task anchors the audit chain (head, MAC and count: stored, logged).
AUDIT_ANCHOR_INTERVAL_SECONDS = env.int("AUDIT_ANCHOR_INTERVAL_SECONDS", default=300)
# Also send the anchor lines to this syslog receiver (host:port, UDP), off the machine.
AUDIT_ANCHOR_SYSLOG = env.str("AUDIT_ANCHOR_SYSLOG", default="")
# Record reads of alerts, incidents and their parts (one entry per request).
AUDIT_READS = env.bool("AUDIT_READS", default=True)
# Failed logins, failed tokens and refusals come from anyone: per kind, at most this many
# entries per window; the rest are counted per client and summarised in one entry.
AUDIT_FAILURE_BURST = env.int("AUDIT_FAILURE_BURST", default=20)
AUDIT_FAILURE_WINDOW_SECONDS = env.int("AUDIT_FAILURE_WINDOW_SECONDS", default=60)

# Celery's routine lines: beat's "Sending due task", a worker's "Task … received" and
# "… succeeded". Beat sends a task every 10 s, so at INFO an idle `make run` printed three
# lines every 10 s. WARNING keeps them out; failures (ERROR) and warnings still show, and
# TASK_LOG_LEVEL=INFO brings the routine back for watching tasks flow.
TASK_LOG_LEVEL = env.str("TASK_LOG_LEVEL", default="WARNING")

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Lockouts are warnings; axes' per-login info lines (values masked) say nothing.
        "axes": {"level": "WARNING"},
        # One JSON line per anchor: keep this logger's output (it is the evidence that
        # the newest audit entries existed); see docs/OPERATIONS.md.
        "socapp.audit.anchor": {"level": "INFO"},
        "celery.beat": {"level": TASK_LOG_LEVEL},
        "celery.worker.strategy": {"level": TASK_LOG_LEVEL},
        "celery.app.trace": {"level": TASK_LOG_LEVEL},
    },
}
if AUDIT_ANCHOR_SYSLOG:
    _host, _, _port = AUDIT_ANCHOR_SYSLOG.rpartition(":")
    if not _host or not _port.isdigit():
        raise ImproperlyConfigured("AUDIT_ANCHOR_SYSLOG must be host:port")
    LOGGING["handlers"]["audit_anchor_syslog"] = {
        "class": "logging.handlers.SysLogHandler",
        "address": (_host, int(_port)),
        "formatter": "plain",
    }
    LOGGING["loggers"]["socapp.audit.anchor"]["handlers"] = ["audit_anchor_syslog"]

# --- Threat intel: imports, polling, warning lists (docs/INTEL.md) ---------------------

# One import (an upload, a file, one poll of a feed): bytes read, JSON objects / CSV rows /
# lines decoded, and distinct indicators kept. Over any of them the import is refused.
INTEL_IMPORT_MAX_BYTES = env.int("INTEL_IMPORT_MAX_BYTES", default=64 * 1024 * 1024)
INTEL_IMPORT_MAX_OBJECTS = env.int("INTEL_IMPORT_MAX_OBJECTS", default=500_000)
INTEL_IMPORT_MAX_INDICATORS = env.int("INTEL_IMPORT_MAX_INDICATORS", default=200_000)
# Polling: one request's deadline, pages of a TAXII collection and events of a MISP feed
# fetched per poll (the rest come at the next poll: state is kept).
INTEL_POLL_TIMEOUT_SECONDS = env.int("INTEL_POLL_TIMEOUT_SECONDS", default=60)
INTEL_POLL_MAX_PAGES = env.int("INTEL_POLL_MAX_PAGES", default=50)
INTEL_POLL_MAX_EVENTS = env.int("INTEL_POLL_MAX_EVENTS", default=500)
# A poll claims its feed for at most this long (another poll meanwhile is skipped); a
# worker that dies mid-poll frees the feed when the claim runs out.
INTEL_POLL_CLAIM_MINUTES = env.int("INTEL_POLL_CLAIM_MINUTES", default=30)
# Warning lists: MISP's (from pymispwarninglists) unless turned off; lists longer than
# the maximum (the top-million sites) or named here are left out; our own domains.
INTEL_WARNINGLISTS_MISP = env.bool("INTEL_WARNINGLISTS_MISP", default=True)
INTEL_WARNINGLISTS_MAX_ENTRIES = env.int("INTEL_WARNINGLISTS_MAX_ENTRIES", default=100_000)
INTEL_WARNINGLISTS_DISABLED = env.list("INTEL_WARNINGLISTS_DISABLED", default=[])
# Lists (directory or name) that are context, not false positives: rented address space
# (cloud compute, VPN and hosting ranges, sinkholes) and platforms whose subdomains belong
# to anyone (dynamic DNS, "living off trusted sites", disposable mail). An indicator on
# one still matches; its page says which lists it is on (docs/INTEL.md "Warning lists").
INTEL_WARNINGLISTS_CONTEXT = env.list(
    "INTEL_WARNINGLISTS_CONTEXT",
    default=[
        "vpn-ipv4", "vpn-ipv6", "amazon-aws", "google-gcp", "microsoft-azure",
        "microsoft-azure-china", "microsoft-azure-germany", "microsoft-azure-us-gov",
        "ovh-cluster", "sinkholes", "dynamic-dns", "lots-project", "disposable-email",
    ],
)  # fmt: skip
INTEL_OWN_DOMAINS = env.list("INTEL_OWN_DOMAINS", default=[])
