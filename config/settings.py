"""Every setting of the product, read from the environment (see README: Settings).

Zero configuration runs on SQLite under the project folder; production sets at least
DATABASE_URL, SECRET_KEY, ALLOWED_HOSTS and DEBUG=false.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdef"
# Rotation: the new key in SECRET_KEY, the previous ones here (comma separated) until the
# sessions and signed links made with them have expired; then remove them.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "api",
    "helplines",
    "events",
    "dashboard",
    "demo",
    "accounts",
    # OAuth2 client credentials beside API keys (oauth/); the library first, its admin
    # pages being replaced by oauth/admin.py.
    "oauth2_provider",
    "oauth",
    # After the apps whose models it records (audit.trail.AUDITED).
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "api.headers.PermissionsPolicyMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "api.middleware.ApiErrorMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Idle and absolute session lifetimes, before the user is read (accounts/sessions.py).
    "accounts.sessions.SessionLifetimeMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Pages of figures may read them from the read replica (config/routers.py).
    "config.routers.ReplicaReadsMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Partner users reach their own pages only (accounts/partner_scope.py).
    "accounts.partner_scope.PartnerScopeMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.second_factor.SecondFactorMiddleware",
    "audit.actor.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "events.freshness.figures_freshness",
            ],
        },
    },
]

# Unset or empty: SQLite under the project folder.
DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    ),
}
# Persistent connections save a connect per request on PostgreSQL; health checks make a
# connection that died with a database restart be replaced instead of failing a request.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # SQLite writers queue for the lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 20)
# A streaming replica of the primary (PostgreSQL): the dashboard's figures and the stats
# API read from it, everything else from the primary (config/routers.py). Tests read the
# test database through it (MIRROR).
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db_url_config(env.str("DATABASE_REPLICA_URL"))
    DATABASES["replica"].setdefault("CONN_MAX_AGE", DATABASES["default"]["CONN_MAX_AGE"])
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["config.routers.ReplicaRouter"]
# GET and HEAD requests under these paths may read figures from the replica.
REPLICA_READ_PATHS = env.list("REPLICA_READ_PATHS", default=["/dashboard/", "/v1/events/stats"])

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # A cache that does not answer must not hold a request for long: api/cache.py goes on
    # without it (a query string on CACHE_URL can set other values).
    _redis_options = CACHES["default"].setdefault("OPTIONS", {})
    _redis_options.setdefault("socket_connect_timeout", 0.25)
    _redis_options.setdefault("socket_timeout", 0.25)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# models.W040: SQLite ignores an index's INCLUDE columns. The covering index on
# QuarterHourCount (events/models.py) is for PostgreSQL, where the figures are served at
# scale; on SQLite it is a plain index on the same key columns, which is all it needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Tests run with DEBUG off and without collectstatic: let WhiteNoise serve from the finders.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "admin:login"
# Where a sign-in without `next` lands (a script's, or a bookmarked sign-in page): the
# admin's index, as the sign-in form's own default; partner users are sent on to their page.
LOGIN_REDIRECT_URL = "admin:index"

# Staff sign-in (accounts/, README "Operations"). django-axes counts failed sign-ins per
# username and per client and locks either out for a while; the client is a keyed hash of
# its address (accounts/lockout.py), never the address itself.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.pseudonymous_client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
# No start-up banner on every command; lockouts are still logged (without addresses).
AXES_VERBOSE = False
# No row per successful sign-in (auth_user.last_login says when a user last signed in).
AXES_DISABLE_ACCESS_LOG = True
# Masked in axes' log lines and in the form data it keeps of a failed attempt.
AXES_SENSITIVE_PARAMETERS = [
    "username",
    "ip_address",
    "user_agent",
    "csrfmiddlewaretoken",
    "otp_token",
]
# Proxies whose X-Forwarded-For is believed (gunicorn's own variable, config/gunicorn.py):
# behind them the lockout counts per client as the proxy saw it, not per proxy.
TRUSTED_PROXIES = env.list("FORWARDED_ALLOW_IPS", default=["127.0.0.1"])
# Second factor (TOTP, django-otp): staff enter a code after the password. Off by default
# under DEBUG so that `make run`'s demo signs in with the password alone.
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=not DEBUG)
# The same for partner users (accounts/, docs/decisions.md "Partner accounts"): off until
# partners are told; switching it on makes each enrol an authenticator at its next sign-in.
PARTNER_REQUIRE_2FA = env.bool("PARTNER_REQUIRE_2FA", default=False)
# Partner users' one-time links to set a password (Django's password reset tokens).
PASSWORD_RESET_TIMEOUT = 72 * 60 * 60
# "Forgot your password?" sends email: at most this many requests per client, and as many
# per address asked about (whether or not it is anyone's). Over it: a page asking to try later.
FORGOT_PASSWORD_RATE_LIMIT = env.str("FORGOT_PASSWORD_RATE_LIMIT", default="5/h")
# This site's address as its users reach it: the links `create_partner_user` prints.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")
OTP_TOTP_ISSUER = "Throughline Events"
# The admin never shows a TOTP device's secret or QR code once it exists.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# A session ends after SESSION_COOKIE_AGE seconds without a request (renewed at most once a
# minute, not saved on every request) and SESSION_MAX_AGE after its sign-in, however busy
# (accounts/sessions.py).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=2 * 60 * 60)
SESSION_MAX_AGE = env.int("SESSION_MAX_AGE", default=12 * 60 * 60)
SESSION_SAVE_EVERY_REQUEST = False

# Security headers. The API and the dashboard run under a strict CSP: no inline script,
# no third-party host.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Browser features refused to every page (api/headers.py): the product uses none of them.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), payment=(), usb=()"
)
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Only `Bearer tlo_...` (an OAuth2 access token); everything else goes to the keys.
        "oauth.authentication.PartnerTokenAuthentication",
        "helplines.authentication.PartnerKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["helplines.authentication.IsPartner"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Throughline Events API",
    "DESCRIPTION": (
        "Report when a Throughline helpline is displayed and when a user clicks to contact "
        "it, read your events back, and browse the helpline directory. No personally "
        "identifiable information is accepted at any stage."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Enum names are part of the published schema: kept when another field of the same
    # name arrives (the directory's load `status`).
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "events.batch.BATCH_RESULT_STATUSES",
        "LoadStatusEnum": "helplines.serializers.LOAD_STATUSES",
    },
    "SCHEMA_PATH_PREFIX": r"/v1",
}

# Seconds a partner key's row is kept in the cache. Revocation is immediate; a partner's
# deactivation or a key's new expiry date is seen within this time. 0 turns it off.
API_KEY_CACHE_SECONDS = env.int("API_KEY_CACHE_SECONDS", default=10)

# OAuth2 client credentials (django-oauth-toolkit; oauth/, docs/decisions.md "OAuth2"):
# confidential clients of one partner each, `POST /oauth/token`, bearer tokens that expire.
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_ACCESS_TOKEN_SECONDS", default=3600),
    "ACCESS_TOKEN_GENERATOR": "oauth.tokens.generate_access_token",
    # RFC 9700 (OAuth 2.0 Security BCP) throughout: above all, tokens are stored as their
    # SHA-256 only, never in plaintext, and never read from a query string. The grants
    # these cover are not used (client credentials only) but stay refused if enabled.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "OAUTH2_VALIDATOR_CLASS": "oauth.validators.PartnerOAuth2Validator",
    # Client credentials carry no scope: a token reaches what a key reaches.
    "SCOPES": {"partner": "The partner API, as an API key"},
    "DEFAULT_SCOPES": ["partner"],
}
# Requests to `POST /oauth/token` per client (its address as the nearest trusted proxy saw
# it): a wrong secret costs a password-strength hash, so guessing must not buy CPU. Over it:
# 429 with Retry-After. Tokens last an hour, so a partner's servers ask a few times an hour.
OAUTH_TOKEN_RATE_LIMIT = env.str("OAUTH_TOKEN_RATE_LIMIT", default="10/m")

# Event ingest rules (docs/product.md §3.1).
EVENTS_RATE_LIMIT = env.str("EVENTS_RATE_LIMIT", default="100/s")  # per API key
EVENTS_LATE_ARRIVAL_DAYS = env.int("EVENTS_LATE_ARRIVAL_DAYS", default=7)
EVENTS_FUTURE_TOLERANCE_SECONDS = env.int("EVENTS_FUTURE_TOLERANCE_SECONDS", default=300)
EVENTS_MAX_BATCH = env.int("EVENTS_MAX_BATCH", default=1000)
EVENTS_MAX_BODY_BYTES = env.int("EVENTS_MAX_BODY_BYTES", default=16 * 1024)
EVENTS_MAX_BATCH_BODY_BYTES = env.int("EVENTS_MAX_BATCH_BODY_BYTES", default=1024 * 1024)
EVENTS_RETENTION_DAYS = env.int("EVENTS_RETENTION_DAYS", default=395)
# Audit entries are kept as long as raw events by default (`purge_audit`).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=EVENTS_RETENTION_DAYS)
# Time zones whose calendar days carry session figures (sessions are counted per local
# day, so each zone's days are aggregated apart); partners' billing zones are always added.
# Displays and clicks are exact in every zone. See docs/aggregates.md.
METRICS_TIME_ZONES = env.list(
    "METRICS_TIME_ZONES",
    default=[
        "UTC",
        "Europe/London",
        "Europe/Paris",
        "Europe/Helsinki",
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "America/Sao_Paulo",
        "Africa/Johannesburg",
        "Asia/Kolkata",
        "Asia/Kathmandu",
        "Asia/Singapore",
        "Asia/Tokyo",
        "Australia/Sydney",
        "Pacific/Auckland",
    ],
)
# Hours after the late-arrival window before a month's billing statement closes: the
# margin for events validated just before the window ended and committed just after.
BILLING_CLOSE_MARGIN_HOURS = env.int("BILLING_CLOSE_MARGIN_HOURS", default=1)
# Seconds a partner is asked to wait before retrying when the database is unreachable.
DATABASE_UNAVAILABLE_RETRY_AFTER = env.int("DATABASE_UNAVAILABLE_RETRY_AFTER", default=5)
# Admin import/export (django-import-export): only staff granted the model's own
# permission (helplines.import_helpline, helplines.export_helpline, events.export_event)
# may use them, not everyone who can see the changelist.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_EXPORT_USE_TRANSACTIONS = True
# A cell starting with "=" is written without it, so a spreadsheet (XLSX above all) never
# runs it as a formula. The dashboard's own CSV exports neutralise every trigger character.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
# Directory quota (docs/product.md §3.3): calls per rolling 24 h for partners created without one.
DIRECTORY_DEFAULT_DAILY_QUOTA = env.int("DIRECTORY_DEFAULT_DAILY_QUOTA", default=1000)

# Load alerts (`check_load`, README "Load alerts"): who is emailed when a priority helpline's
# clicks in a rolling hour go over this percentage of its hourly capacity, and back under.
LOAD_ALERT_EMAILS = env.list("LOAD_ALERT_EMAILS", default=[])
LOAD_ALERT_THRESHOLD_PERCENT = env.int("LOAD_ALERT_THRESHOLD_PERCENT", default=100)
# Outgoing mail from EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.org:587, read by
# django-environ's email_url; `make run` sets consolemail:// (printed on the terminal).
# Django 6.1 configures mail through MAILERS (the EMAIL_* settings are deprecated); the URL
# itself is not kept as a setting, so its password cannot show on a debug page.
_email = env.email_url_config(
    env.str("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
)
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {
            option: _email[name]
            for name, option in [
                ("EMAIL_HOST", "host"),
                ("EMAIL_PORT", "port"),
                ("EMAIL_HOST_USER", "username"),
                ("EMAIL_HOST_PASSWORD", "password"),
                ("EMAIL_USE_TLS", "use_tls"),
                ("EMAIL_USE_SSL", "use_ssl"),
            ]
            if _email.get(name) not in (None, "")
        }
        if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
        else {},
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="throughline-events@localhost")
# Paired priority services: a display of one service of a pair counts as shown alone when
# its pair is not displayed in the same session within this many minutes (either side).
PAIRED_DISPLAY_WINDOW_MINUTES = env.int("PAIRED_DISPLAY_WINDOW_MINUTES", default=10)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"sql_values_hidden": {"()": "config.log_redaction.SqlValuesHidden"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # Debug SQL without the values in it (config/log_redaction.py).
    "loggers": {
        # Django's own console handler (DEBUG only) beside the root's printed each of its
        # records twice: the root's console writes them once.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"filters": ["sql_values_hidden"]},
        "django.db.backends.schema": {"filters": ["sql_values_hidden"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
