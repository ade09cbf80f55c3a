"""One settings module for every environment; everything variable comes from the environment.

Development needs no variables at all (SQLite, tasks in-process, files on local disk).
`DJANGO_ENV=production` requires the variables listed in config/env.py and refuses to
start otherwise. See .env.example for every variable.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from pathlib import Path

import dj_database_url
import dj_email_url
from csp.constants import NONE, SELF

from config.env import read_env

BASE_DIR = Path(__file__).resolve().parent.parent
ENV = read_env(os.environ)
IS_PRODUCTION = ENV.is_production
TESTING = "pytest" in sys.modules or os.environ.get("SWITCHBOARD_TESTING") == "1"

SECRET_KEY = ENV.secret_key
DEBUG = ENV.debug
ALLOWED_HOSTS = ENV.allowed_hosts
CSRF_TRUSTED_ORIGINS = [f"https://{h.lstrip('.')}" for h in ALLOWED_HOSTS if h not in ("*",)]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # OpClass in index expressions (the SKU picker's prefix index)
    "corsheaders",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "core",
    "accounts",
    "jobs",
    "notifications",
    "inventory",
    "orders",
    "integrations",
    "labels",
    "webhooks",
    "demo",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "corsheaders.middleware.CorsMiddleware",  # before anything that answers (a preflight gets its headers)
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.TenantScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "core.middleware.DomainErrorMiddleware",
    "core.middleware.FormPostRedirectMiddleware",  # last: it turns a view's own 405 for a GET into a redirect
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

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
                "accounts.context_processors.current_merchant",
            ],
        },
    },
]

FORM_RENDERER = "core.forms.FormRenderer"  # every field has an accessible name (aria-label from its label)

# --- Database -----------------------------------------------------------------------------
if ENV.database_url:
    DATABASES = {"default": dj_database_url.parse(ENV.database_url, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "var" / "switchboard.sqlite3")),
            "OPTIONS": {"timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
if IS_POSTGRES:
    # A second connection to the same database: job progress written on it commits at once, so
    # the dashboard sees a long job move while the job's own transaction is still open
    # (jobs.services). In tests it mirrors the default test database. SQLite has one writer.
    DATABASES["progress"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}

# --- Cache and tasks ----------------------------------------------------------------------
if ENV.redis_url:
    CACHES = {"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": ENV.redis_url}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REDIS_URL = ENV.redis_url
# Without a broker, tasks run in-process (make run); with one, they go to Celery workers.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "1" if not ENV.redis_url else "0") == "1"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = ENV.redis_url or "memory://localhost/"
# kombu's Redis transport with one client per channel instead of one per publish (core/broker.py).
if CELERY_BROKER_URL.startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "core.broker:Transport"
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
# Redis redelivers unacknowledged tasks after this; longer than the hard time limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Periodic tasks; django-celery-beat's DatabaseScheduler copies these into its tables when beat starts.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "orders.short_orders_allocate_fanout": {"task": "orders.short_orders_allocate_fanout", "schedule": 60.0},
    # Hourly, but the digest is keyed by day: each merchant gets yesterday's once, soon after midnight.
    "orders.notification_daily_digest_fanout": {"task": "orders.notification_daily_digest_fanout", "schedule": 3600.0},
    # The sync engine: polls due (each integration jittered around its channel's interval), and the safety
    # nets behind the debounced stock push and the tracking outbox.
    "integrations.integration_poll_fanout": {"task": "integrations.integration_poll_fanout", "schedule": 60.0},
    "integrations.stock_push_fanout": {"task": "integrations.stock_push_fanout", "schedule": 60.0},
    "integrations.tracking_push_fanout": {"task": "integrations.tracking_push_fanout", "schedule": 60.0},
    # The webhook inbox: retries that are due and events stranded past their lease; old bodies and rows pruned.
    "webhooks.events_dispatch": {"task": "webhooks.events_dispatch", "schedule": 30.0},
    "webhooks.events_prune": {"task": "webhooks.events_prune", "schedule": 3600.0},
    # Jobs whose task was lost (broker down when sent) or whose worker stopped renewing its lease.
    "jobs.jobs_sweep": {"task": "jobs.jobs_sweep", "schedule": 60.0},
    # Labels: ShipStation tracking asked for (its labels have no tracking webhooks), within a budget per run;
    # voids refunded at the carrier whose shipment could not be taken back at once.
    "labels.tracking_poll_fanout": {"task": "labels.tracking_poll_fanout", "schedule": 900.0},
    "labels.void_finish_fanout": {"task": "labels.void_finish_fanout", "schedule": 300.0},
    # Notifications queued but never delivered (the send after commit was lost).
    "notifications.notifications_sweep": {"task": "notifications.notifications_sweep", "schedule": 60.0},
    # Low-stock episodes whose notify task was lost (inventory.services.alerts.low_stock_sweep).
    "inventory.low_stock_sweep": {"task": "inventory.low_stock_sweep", "schedule": 300.0},
    # Beat says it is alive; `manage.py doctor` reads when it last did (core.ops_checks).
    "core.beat_heartbeat": {"task": "core.beat_heartbeat", "schedule": 60.0},
}
# A running WorkerJob's lease (renewed by its task while it runs); a queued job not started by then
# is sent again, a running one whose lease lapsed is "stalled, retrying" (jobs.services.jobs_sweep).
JOB_LEASE_SECONDS = float(os.environ.get("JOB_LEASE_SECONDS", "120"))

# --- Files --------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "var" / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}


def s3_storage(*, endpoint: str, access_key: str, secret_key: str, bucket: str, region: str) -> dict:
    """Django storage on an S3-compatible service: private objects, read back only through presigned
    URLs (labels' short links) or through the app; never overwritten (a name taken gets a suffix)."""
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "endpoint_url": endpoint, "access_key": access_key, "secret_key": secret_key, "bucket_name": bucket,
        "region_name": region, "default_acl": "private", "querystring_auth": True, "file_overwrite": False,
        "signature_version": "s3v4"}}


if ENV.s3:
    STORAGES["default"] = s3_storage(endpoint=ENV.s3["S3_ENDPOINT"], access_key=ENV.s3["S3_ACCESS_KEY_ID"],
                                     secret_key=ENV.s3["S3_SECRET_ACCESS_KEY"], bucket=ENV.s3["S3_BUCKET"],
                                     region=os.environ.get("S3_REGION", "us-east-1"))

# --- Secrets at rest ----------------------------------------------------------------------
# Fernet keys, newest first; older keys still decrypt so keys can be rotated.
if ENV.encryption_keys:
    FIELD_ENCRYPTION_KEYS = ENV.encryption_keys
else:  # development only: derived from SECRET_KEY so a fresh clone needs nothing
    FIELD_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()]

# --- Accounts -----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory" if IS_PRODUCTION else "optional"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupExtraForm"
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "SCOPE": ["openid", "profile", "email"],
        "AUTH_PARAMS": {"access_type": "online", "prompt": "select_account"},
        "OAUTH_PKCE_ENABLED": True,
        "EMAIL_AUTHENTICATION": True,
    }
}
if ENV.google_client_id:
    # Configured from the environment; otherwise staff add a SocialApp in the admin.
    SOCIALACCOUNT_PROVIDERS["google"]["APPS"] = [
        {"client_id": ENV.google_client_id, "secret": ENV.google_client_secret, "key": ""}
    ]

# --- Email --------------------------------------------------------------------------------
if ENV.email_url:
    vars().update(dj_email_url.parse(ENV.email_url))
elif TESTING:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Switchboard <no-reply@switchboard.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsMerchantMember"],
    "DEFAULT_PAGINATION_CLASS": "core.api.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # The client IP the throttles key on (see TRUSTED_PROXY_COUNT below).
    "NUM_PROXIES": None,
    # Per API token (core.throttles): API_THROTTLE_RATE / API_THROTTLE_ANON_RATE below.
    "DEFAULT_THROTTLE_CLASSES": ["core.throttles.ApiRateThrottle"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Switchboard API",
    "DESCRIPTION": (
        "Orders, inventory and shipping across Shopify, WooCommerce and Amazon. "
        "Authenticate with `Authorization: Bearer <token>` (create a token in Settings → API tokens "
        "or with POST /api/v1/auth/token/). Errors are always "
        '`{"error": {"code", "message", "details"}}`. Lists are cursor-paginated.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.schema.document_errors"],
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}},  # core.converters
    "APPEND_COMPONENTS": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
    },
    "SECURITY": [{"bearerAuth": []}],
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "ShipmentStatusEnum": "orders.models.Shipment.Status",
        "IntegrationStatusEnum": "integrations.models.Integration.Status",
        "WebhookEventStatusEnum": "webhooks.models.WebhookEvent.Status",
    },
    # Swagger UI served from our own static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Apps extend lower ones through registries filled from AppConfig.ready() (core/registry.py):
# onboarding steps, availability consumers, channels, bulk actions. No dotted paths here.

# --- Security -----------------------------------------------------------------------------
# How many proxies we run in front of the app (a load balancer: 1). The client IP every limit keys on
# is the address that many hops back in X-Forwarded-For; with 0 the header is ignored and REMOTE_ADDR
# is the client, so a forged header cannot give each guess a fresh IP. DRF's throttles and allauth's
# rate limits read the same number.
TRUSTED_PROXY_COUNT = ENV.trusted_proxy_count
# GET /metrics answers only `Authorization: Bearer <this>`; unset, the page does not exist (core.metrics).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
# API requests per token (or signed-in user), and per client address before authentication: core.throttles.
API_THROTTLE_RATE = ENV.api_throttle_rate
API_THROTTLE_ANON_RATE = ENV.api_throttle_anon_rate
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

WEBHOOK_BASE_URL = ENV.webhook_base_url

# --- Webhook inbox (webhooks app) ---------------------------------------------------------
WEBHOOK_MAX_BODY_BYTES = int(os.environ.get("WEBHOOK_MAX_BODY_BYTES", str(2 * 1024 * 1024)))  # larger → 413
WEBHOOK_BODY_RETENTION_DAYS = int(os.environ.get("WEBHOOK_BODY_RETENTION_DAYS", "30"))  # processed bodies
WEBHOOK_ROW_RETENTION_DAYS = int(os.environ.get("WEBHOOK_ROW_RETENTION_DAYS", "90"))  # identities (dedupe)
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "10"))
WEBHOOK_RETRY_BASE_SECONDS = float(os.environ.get("WEBHOOK_RETRY_BASE_SECONDS", "30"))
WEBHOOK_RETRY_CAP_SECONDS = float(os.environ.get("WEBHOOK_RETRY_CAP_SECONDS", str(6 * 3600)))
# A claimed event not finished by then is run again (longer than CELERY_TASK_TIME_LIMIT); a received one
# not claimed within the dispatch lease is enqueued again.
WEBHOOK_PROCESSING_LEASE_SECONDS = float(os.environ.get("WEBHOOK_PROCESSING_LEASE_SECONDS", "600"))
WEBHOOK_DISPATCH_LEASE_SECONDS = float(os.environ.get("WEBHOOK_DISPATCH_LEASE_SECONDS", "60"))
# How a stored delivery reaches a worker (webhooks.services): "dispatcher" (the request publishes nothing;
# `manage.py webhook_dispatcher` reads the new rows by id and hands events out) or "inline" (enqueued by the
# request after its commit; run in-process when tasks are eager, as under `make run`). The dispatcher reads the
# new rows on PostgreSQL only: on SQLite with a broker the request enqueues (inline) too.
WEBHOOK_DISPATCH = os.environ.get("WEBHOOK_DISPATCH") or (
    "inline" if CELERY_TASK_ALWAYS_EAGER or not IS_POSTGRES else "dispatcher")
WEBHOOK_DISPATCH_TASK_EVENTS = int(os.environ.get("WEBHOOK_DISPATCH_TASK_EVENTS", "10"))  # events per task
WEBHOOK_DISPATCH_RETRY_SECONDS = float(os.environ.get("WEBHOOK_DISPATCH_RETRY_SECONDS", "5"))  # broker refused

# --- Outbound HTTP (core.http) and Shopify ------------------------------------------------
# Hosts we may call although they resolve to a private address, or over plain http:// (comma-separated
# names or IP literals, as they appear in the URL). Nothing by default; the test suite allows its loopback
# fakes on 127.0.0.1.
OUTBOUND_ALLOWED_PRIVATE_HOSTS = [
    host.strip().lower() for host in os.environ.get(
        "OUTBOUND_ALLOWED_PRIVATE_HOSTS", "127.0.0.1,localhost" if TESTING else "").split(",") if host.strip()]
CHANNEL_HTTP_CONNECT_TIMEOUT = float(os.environ.get("CHANNEL_HTTP_CONNECT_TIMEOUT", "5"))
CHANNEL_HTTP_READ_TIMEOUT = float(os.environ.get("CHANNEL_HTTP_READ_TIMEOUT", "30"))
CHANNEL_HTTP_MAX_ATTEMPTS = int(os.environ.get("CHANNEL_HTTP_MAX_ATTEMPTS", "5"))
# Where Shopify's Admin API is: a template with {shop} (the myshopify.com domain). Tests and proxies
# point it elsewhere, e.g. http://127.0.0.1:9100/{shop}.
SHOPIFY_API_BASE_URL = os.environ.get("SHOPIFY_API_BASE_URL") or "https://{shop}"
SHOPIFY_CLIENT_ID = os.environ.get("SHOPIFY_CLIENT_ID", "")
# A first backfill with more orders than this in its window goes by the channel's bulk export (one file)
# instead of pages, where the channel has one (integrations/sync/bulk.py); how often the waiting step asks
# the channel (the export's webhook wakes it sooner), and how long one run waits before the job retries.
BULK_BACKFILL_THRESHOLD = int(os.environ.get("BULK_BACKFILL_THRESHOLD", "2000"))
BULK_POLL_SECONDS = float(os.environ.get("BULK_POLL_SECONDS", "10"))
BULK_WAIT_SECONDS = float(os.environ.get("BULK_WAIT_SECONDS", "21600"))
# --- Carriers (labels) ---------------------------------------------------------------------
# Where each carrier's API is (tests point them at loopback fakes). EasyPost's includes the version.
EASYPOST_API_BASE_URL = os.environ.get("EASYPOST_API_BASE_URL") or "https://api.easypost.com/v2"
SHIPSTATION_API_BASE_URL = os.environ.get("SHIPSTATION_API_BASE_URL") or "https://api.shipstation.com"
# Seconds each carrier account gets to answer a rate request (retries of a 429/5xx included).
CARRIER_RATE_TIMEOUT = float(os.environ.get("CARRIER_RATE_TIMEOUT", "15"))
# How long a label's or a batch's link works (S3's presigned URL, or our signed link on local disk).
LABEL_LINK_SECONDS = int(os.environ.get("LABEL_LINK_SECONDS", "300"))
# ShipStation tracking poll: at most this many labels per merchant per run (every 15 minutes), each asked
# again after this many minutes, for labels bought in the last this-many days.
LABEL_TRACKING_POLL_BATCH = int(os.environ.get("LABEL_TRACKING_POLL_BATCH", "100"))
LABEL_TRACKING_POLL_MINUTES = float(os.environ.get("LABEL_TRACKING_POLL_MINUTES", "60"))
LABEL_TRACKING_POLL_DAYS = int(os.environ.get("LABEL_TRACKING_POLL_DAYS", "30"))
SHOPIFY_CLIENT_SECRET = os.environ.get("SHOPIFY_CLIENT_SECRET", "")
# A client-secret rotation: the old secret and when it was replaced (ISO 8601); webhooks signed with it
# are accepted for an hour after that moment.
SHOPIFY_CLIENT_SECRET_PREVIOUS = os.environ.get("SHOPIFY_CLIENT_SECRET_PREVIOUS", "")
SHOPIFY_CLIENT_SECRET_ROTATED_AT = os.environ.get("SHOPIFY_CLIENT_SECRET_ROTATED_AT", "")
# Amazon's Selling Partner API (integrations/channels/amazon/): AMAZON_SPAPI_ENDPOINT replaces the regional
# endpoint when set (sandbox, tests, a proxy); AMAZON_LWA_TOKEN_URL is Login with Amazon's token endpoint;
# AMAZON_SPAPI_RATE_SCALE multiplies Amazon's default rates (a seller granted more; a time-scaled fake).
# Our published app (the website authorization workflow), optional: without it sellers connect a private app.
AMAZON_SPAPI_ENDPOINT = os.environ.get("AMAZON_SPAPI_ENDPOINT", "")
AMAZON_LWA_TOKEN_URL = os.environ.get("AMAZON_LWA_TOKEN_URL") or "https://api.amazon.com/auth/o2/token"
AMAZON_SPAPI_RATE_SCALE = float(os.environ.get("AMAZON_SPAPI_RATE_SCALE", "1") or 1)
AMAZON_SPAPI_APPLICATION_ID = os.environ.get("AMAZON_SPAPI_APPLICATION_ID", "")
AMAZON_LWA_CLIENT_ID = os.environ.get("AMAZON_LWA_CLIENT_ID", "")
AMAZON_LWA_CLIENT_SECRET = os.environ.get("AMAZON_LWA_CLIENT_SECRET", "")

# --- Web security: Content Security Policy, Permissions-Policy, CORS ---------------------
# Content Security Policy (django-csp): scripts, styles, fonts and fetches from our own origin only, and no
# inline code at all: no 'unsafe-inline', no 'unsafe-eval', no nonces. Every template keeps its scripts in
# static/js and its styles in static/css (tests/core/test_web_security.py refuses inline code in a template;
# the browser tests fail on any violation). Images may come from any https host: a product's picture is
# on its channel's CDN. Forms post to us, but a store's connect form is answered with a redirect to the
# channel's own authorisation page (any shop's domain, which browsers check against form-action), so
# form-action also allows https: and the hosts we may reach over plain http (the test suite's loopback
# fakes). The Django admin (5.2) has no inline script and gets the same policy; its one inline <style>
# (a change list with no actions, which no ModelAdmin here has) would lose only a column width.
_plain_http_form_targets = [f"http://[{host}]:*" if ":" in host else f"http://{host}:*"
                            for host in OUTBOUND_ALLOWED_PRIVATE_HOSTS]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "https:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF, "https:", *_plain_http_form_targets],
    },
}
if os.environ.get("CSP_REPORT_URI"):  # where browsers send violation reports (a Sentry security endpoint, say)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [os.environ["CSP_REPORT_URI"]]
# Powerful browser features nobody here needs are switched off for every page (django-permissions-policy):
# a script that did get in still cannot reach the camera, the microphone, the location or a payment sheet.
# The copy buttons (API tokens) write to the clipboard from our own pages only.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: [] for feature in (
        "accelerometer", "ambient-light-sensor", "autoplay", "bluetooth", "browsing-topics", "camera",
        "display-capture", "encrypted-media", "geolocation", "gyroscope", "hid", "idle-detection",
        "magnetometer", "microphone", "midi", "payment", "publickey-credentials-get", "screen-wake-lock",
        "serial", "usb", "xr-spatial-tracking")
} | {"clipboard-write": ["self"], "fullscreen": ["self"]}
# CORS (django-cors-headers): closed unless CORS_ALLOWED_ORIGINS names origins (comma-separated,
# scheme://host[:port]), and then open for the API only. Never with credentials: a page on another origin
# calls the API with a bearer token it holds, not with our session cookie.
CORS_ALLOWED_ORIGINS = [origin.strip().rstrip("/") for origin in os.environ.get("CORS_ALLOWED_ORIGINS", "").split(",")
                        if origin.strip()]
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID"]

# --- Time, language -----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging ------------------------------------------------------------------------------
# One JSON line per event in production (LOG_FORMAT=json; python-json-logger), with the request id,
# merchant, user and task bound by core.log_context; `make run` keeps a readable line unless asked.
LOG_FORMAT = os.environ.get("LOG_FORMAT") or ("json" if IS_PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.log_context.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "pythonjsonlogger.json.JsonFormatter",
                 "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                 "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"}},
        # runserver's request lines, as Django writes them by default
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}",
                          "style": "{"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["context"],
                             "formatter": "json" if LOG_FORMAT == "json" else "plain"},
                 # Django's own handler for them, with our filter: it redacts a request line's secret path
                 # parameters (a webhook endpoint's token), which Django's default writes as they came.
                 "django.server": {"class": "logging.StreamHandler", "filters": ["context"],
                                   "formatter": "django.server"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # "django": Django's default console handler off (under DEBUG, as in `make run`, it wrote "Unauthorized:
    # /webhooks/<channel>/<token>/" as it came, before the record reached our filtered root handler).
    "loggers": {"django": {"handlers": [], "level": "INFO"},
                "django.db.backends": {"level": "WARNING"},
                "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False}},
}

if ENV.sentry_dsn:  # tests/core/test_sentry.py runs this against a loopback ingest
    from core.sentry import sentry_init

    sentry_init(dsn=ENV.sentry_dsn, environment=os.environ.get("SENTRY_ENVIRONMENT")
                or ("production" if IS_PRODUCTION else "development"),
                release=os.environ.get("SENTRY_RELEASE") or None)
