"""Settings shared by every environment, read from environment variables (12-factor).

`local` (the default for manage.py and `make run`), `test` and `production` build on this.
"""

import os
from pathlib import Path
from typing import Any

import environ

from config import logs, queues

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"  # runtime files of a local run: SQLite file, broker folders

env = environ.Env()

# GENERAL
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
# The key of the do-not-contact wishes kept after a person's erasure (events.services.contact,
# suppressions): never rotated, unlike SECRET_KEY. Changed or lost, every such wish is
# forgotten. Production requires it; development derives it from SECRET_KEY.
CONTACT_SUPPRESSION_KEY = env("CONTACT_SUPPRESSION_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
SITE_URL = env("SITE_URL", default="http://localhost:8000").rstrip("/")
SITE_NAME = env("SITE_NAME", default="Feedback Sessions")
TIME_ZONE = "UTC"  # stored and computed in UTC; shown in each viewer's own zone
USE_TZ = True
# LANGUAGES
# English is the source language; every other language is a catalogue under locale/<code>/.
# Adding locale/de/LC_MESSAGES/django.po (and its .mo) adds German: no code change.
LANGUAGE_CODE = "en"
LOCALE_PATHS = [BASE_DIR / "locale"]


def _languages() -> list[tuple[str, str]]:
    from django.conf.locale import LANG_INFO

    found = [("en", "English")]
    for folder in sorted((BASE_DIR / "locale").glob("*/LC_MESSAGES/django.mo")):
        code = folder.parent.parent.name.replace("_", "-").lower()
        if code != "en" and code in LANG_INFO:
            found.append((code, LANG_INFO[code]["name_local"]))
    return found


LANGUAGES = _languages()
LANGUAGE_COOKIE_NAME = "django_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_I18N = True
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# DATABASES
# SQLite is the embedded default; DATABASE_URL (postgres://...) switches to PostgreSQL.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend plus the `natural_sort` collation that lists of people sort by.
    DATABASES["default"]["ENGINE"] = "config.sqlite"
    # IMMEDIATE takes the write lock when a transaction starts, so two writers queue on the
    # busy timeout instead of failing with "database is locked" when one upgrades its lock.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        # The sign-up path's statements are prepared on the server (events/speed/prepared.py);
        # Django's own queries never reach this threshold, so they are not. Behind a pooler
        # in transaction mode that cannot keep prepared statements (PgBouncer before 1.21),
        # set DATABASE_PREPARED_STATEMENTS=false.
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2**31 - 1
    # Behind a pooler in transaction mode, a cursor that outlives its transaction (what
    # QuerySet.iterator() opens outside one) may be read on another server connection: set
    # DATABASE_SERVER_SIDE_CURSORS=false there, and iterator() fetches client-side in chunks.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = not env.bool(
        "DATABASE_SERVER_SIDE_CURSORS", default=True
    )

# SPEED LAYER
# The sign-up path's shortcuts past Django's public API (events/speed): statements compiled
# once and prepared, a kept Redis client. Off, the same work goes through querysets, save()
# and the cache API (same results, about half the sign-up throughput); a part whose private
# internals changed after an upgrade falls back by itself and logs it once.
SPEED_LAYER = env.bool("SPEED_LAYER", default=True)

# APPS
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here (no CDN)
    "anymail",  # inbound mail webhooks (calendar replies), normalised across providers
    "accounts",
    "events",
]

MIDDLEWARE = [
    # First: every line written while a request is handled carries its id (config/logs.py).
    "config.logs.RequestIdMiddleware",
    # Next, so a request's time counts every other middleware (config/metrics.py).
    "config.metrics.RequestMetrics",
    "django.middleware.security.SecurityMiddleware",
    "config.security.SecurityHeadersMiddleware",
    # Before anything reads the session cookie or a parameter: a NUL byte is a 400 here.
    "config.security.RefuseNulBytes",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "accounts.middleware.UserTimezoneMiddleware",
    "config.errors.MethodNotAllowedPage",
    "config.errors.NotFoundPageInDebug",
]

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
                "django.template.context_processors.i18n",
                "config.context_processors.site",
            ],
        },
    }
]

# STATIC (vendored; no CDN, so pages work offline and under a strict CSP)
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# API (events/api): Django REST framework, the OpenAPI document from drf-spectacular.
# Every answer is JSON; every error a problem detail (RFC 9457, events/api/errors.py).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["events.api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["events.api.permissions.HasToken"],
    "DEFAULT_THROTTLE_CLASSES": ["events.api.permissions.PerTokenRate"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "events.api.schema.ApiSchema",
    "EXCEPTION_HANDLER": "events.api.errors.handle",
    "UNAUTHENTICATED_USER": None,
    "URL_FORMAT_OVERRIDE": None,
    "DATETIME_FORMAT": "iso-8601",
}
# Requests per token per minute (counted in the shared cache, as events/ratelimit.py does).
API_REQUESTS_PER_MINUTE = env.int("API_REQUESTS_PER_MINUTE", default=300)
SPECTACULAR_SETTINGS = {
    "TITLE": "Feedback Sessions API",
    "DESCRIPTION": (
        "A team's events, sessions, registrations, attendance, invitations and surveys. "
        "Authenticate with `Authorization: Bearer <token>` (a team owner makes tokens on "
        "the team page). Errors are RFC 9457 problem details."
    ),
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "EventStatusEnum": "events.models.Event.Status",
        "SessionStatusEnum": "events.models.Session.Status",
        "RegistrationStatusEnum": "events.models.Registration.Status",
        "InvitationStatusEnum": "events.models.Invitation.Status",
        "EventKindEnum": "events.models.Event.Kind",
        "QuestionKindEnum": "events.models.Question.Kind",
    },
}

# AUTHENTICATION
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# TEAMS
# Who may create a team (events and open calls belong to one): "open", any verified user;
# "staff", only staff, through the admin or `manage.py create_team`.
TEAM_CREATION = env("TEAM_CREATION", default="open")
if TEAM_CREATION not in ("open", "staff"):
    raise ValueError('TEAM_CREATION is "open" or "staff".')
# How long a link to join a team stays valid.
TEAM_INVITATION_DAYS = env.int("TEAM_INVITATION_DAYS", default=7)

# ALLAUTH: email is the login; nobody acts before verifying it.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False  # mail scanners follow links: confirming takes a POST
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_ALLOW_SIGNUP = env.bool("ACCOUNT_ALLOW_SIGNUP", default=True)
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
# allauth's forms: sign-up with the existing-address branch as slow as the new one
# (accounts/signup.py); log-in in our words, "Remember me" (accounts/auth_forms.py).
ACCOUNT_FORMS = {"signup": "accounts.signup.SignupForm", "login": "accounts.auth_forms.LoginForm"}
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
# allauth's rate limits are on by default (login, failed logins, signup, reset, confirm).
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, Any]] = {"github": {"SCOPE": ["user:email"]}}
GITHUB_CLIENT_ID = env("GITHUB_CLIENT_ID", default="")
GITHUB_CLIENT_SECRET = env("GITHUB_CLIENT_SECRET", default="")
if GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET:
    # GitHub login appears only when credentials are configured.
    SOCIALACCOUNT_PROVIDERS["github"]["APPS"] = [
        {"client_id": GITHUB_CLIENT_ID, "secret": GITHUB_CLIENT_SECRET, "key": ""}
    ]

# REDIS / CACHES
# The cache holds rate-limit counters, so it must be shared by every process: Redis when
# REDIS_URL is set, otherwise a database table (never per-process memory). While Redis is
# unreachable, config.cache falls back to each process's memory and logs it (rate limits
# loosen, nothing fails); short socket timeouts keep a dead server from holding requests.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": env("REDIS_CACHE_URL", default=REDIS_URL),
            "KEY_PREFIX": "fs",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "cache_table",
        }
    }

# CELERY
# With REDIS_URL, Redis is the broker. Without it, kombu's filesystem transport: a real
# worker and beat still run, through the same code path, with no server to install.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object]
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than the longest countdown/retry delay, or Redis would redeliver early.
        "visibility_timeout": 6 * 3600,
    }
else:
    _broker_dir = Path(env("CELERY_FS_BROKER_DIR", default=str(VAR_DIR / "broker")))
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
# QUEUES (config/queues.py): mail, hooks, sweeps, default. CELERY_QUEUE_PREFIX puts them under
# a prefix (two deployments on one Redis database; each test run has its own).
CELERY_QUEUE_PREFIX = env("CELERY_QUEUE_PREFIX", default="")
CELERY_TASK_QUEUES = queues.declared(CELERY_QUEUE_PREFIX)
CELERY_TASK_DEFAULT_QUEUE = f"{CELERY_QUEUE_PREFIX}default"
CELERY_TASK_ROUTES = queues.routes(CELERY_QUEUE_PREFIX)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True  # our tasks are idempotent: a killed worker's task reruns
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_DB_REUSE_MAX = 1000  # keep a worker's DB connection across tasks (see config/celery.py)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = env(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celerybeat-schedule")
)
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "events.tasks.heartbeat", "schedule": 60.0},
    "expire-offers": {"task": "events.tasks.expire_offers", "schedule": 60.0},
    "fill-open-seats": {"task": "events.tasks.fill_open_seats", "schedule": 60.0},
    "draw-due-lotteries": {"task": "events.tasks.draw_due_lotteries", "schedule": 60.0},
    # Every 30 s: rows of a killed worker are taken back within a lease (45 s) and a sweep.
    "sweep-outbox": {"task": "events.outbox.tasks.sweep_outbox", "schedule": 30.0},
    "sweep-webhooks": {"task": "events.outbox.tasks.sweep_webhooks", "schedule": 30.0},
    "queue-reminders": {"task": "events.tasks.queue_reminders", "schedule": 60.0},
    "expire-invitations": {"task": "events.tasks.expire_invitations", "schedule": 60.0},
    "remind-invitations": {"task": "events.tasks.remind_invitations", "schedule": 300.0},
    "mark-no-shows": {"task": "events.tasks.mark_no_shows", "schedule": 300.0},
    "queue-surveys": {"task": "events.tasks.queue_surveys", "schedule": 60.0},
    "remind-surveys": {"task": "events.tasks.remind_surveys", "schedule": 300.0},
    "purge-open-call-submissions": {
        "task": "events.tasks.purge_open_call_submissions",
        "schedule": 3600.0,
    },
    "purge-farewells": {"task": "accounts.tasks.purge_farewells", "schedule": 3600.0},
    "purge-account-mail": {"task": "accounts.tasks.purge_account_mail", "schedule": 3600.0},
    "refresh-panels": {"task": "events.tasks.refresh_panels", "schedule": 60.0},
    "rescore-calls-behind": {"task": "events.tasks.rescore_calls_behind", "schedule": 300.0},
    "rebuild-panels": {"task": "events.tasks.rebuild_panels", "schedule": 3600.0},
    # Personal data whose purpose ended (services.retention): anonymised or removed.
    "retention-sweep": {"task": "events.tasks.retention_sweep", "schedule": 3600.0},
    "forget-old-api-responses": {
        "task": "events.tasks.forget_old_api_responses",
        "schedule": 3600.0,
    },
    # Does nothing unless CALENDAR_REPLIES_IMAP_URL is set.
    "poll-calendar-replies": {"task": "events.tasks.poll_calendar_replies", "schedule": 60.0},
    "purge-audit-log": {"task": "events.tasks.purge_audit_log", "schedule": 3600.0},
}

# EMAIL
# EMAIL_URL: smtp://user:pass@host:587 (smtp+tls://, smtp+ssl://) or consolemail://.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=15)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default=f"{SITE_NAME} <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where config.devmail.InboxBackend (the default of `make run`) keeps each message it "sends".
DEV_MAIL_DIR = env("DEV_MAIL_DIR", default=str(VAR_DIR / "mail"))

# CALENDAR REPLIES (README, "Calendar replies")
# The address invites come from and calendar answers go to (their ORGANIZER), e.g.
# "Feedback Sessions <rsvp@replies.example.com>". Used only with one of the two ways in below;
# otherwise invites keep DEFAULT_FROM_EMAIL and ask for no answer (RSVP=FALSE).
CALENDAR_REPLY_ADDRESS = env("CALENDAR_REPLY_ADDRESS", default="")
# Each registration's invites name its own sub-address, rsvp+<secret>@replies.example.com, and
# only an answer that comes back to it may cancel. Turn off only for a mailbox that takes no
# plus-addressing: then a calendar "No" is never acted on (Yes and Maybe are still recorded).
CALENDAR_REPLY_SUBADDRESS = env.bool("CALENDAR_REPLY_SUBADDRESS", default=True)
# Any mailbox, polled by beat every minute: imaps://user:password@host:993/Folder (imap:// must
# offer STARTTLS, or the password would go in clear: add ?insecure=1 to allow that for a
# server on this host or a private network; the folder defaults to INBOX).
CALENDAR_REPLIES_IMAP_URL = env("CALENDAR_REPLIES_IMAP_URL", default="")
CALENDAR_REPLIES_POLL_BATCH = env.int("CALENDAR_REPLIES_POLL_BATCH", default=100)
# A stalled server must not hold a sweeps worker: each connect, read and write gives up after
# the timeout, and a poll starts no new message after POLL_SECONDS (the task's hard limit is
# events.tasks.POLL_TIME_LIMIT).
CALENDAR_REPLIES_IMAP_TIMEOUT = env.float("CALENDAR_REPLIES_IMAP_TIMEOUT", default=20.0)
CALENDAR_REPLIES_POLL_SECONDS = env.float("CALENDAR_REPLIES_POLL_SECONDS", default=40.0)
# Or the mail provider's inbound webhook, through django-anymail: the provider's name as
# anymail spells it (mailgun, postmark, sendgrid, amazon_ses, mailjet, ...); its URL is
# /inbound/<provider>/ and its secrets come as ANYMAIL_<SETTING> variables
# (ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY, ANYMAIL_WEBHOOK_SECRET, ...).
CALENDAR_REPLIES_WEBHOOK = env("CALENDAR_REPLIES_WEBHOOK", default="")
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_")
}


# WEBHOOKS
# Private, loopback and link-local receivers are refused unless this is on (tests opt in;
# turn it on for a receiver on your own machine or network in development only).
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=False)
WEBHOOKS_RETRY_BASE = env.float("WEBHOOKS_RETRY_BASE", default=30.0)  # first retry, seconds

# SECURITY (production tightens these further)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

# LOGGING (config/logs.py)
# Readable text by default; LOG_FORMAT=json writes one JSON object per line (time, level,
# logger, message, request id, user id). Every line is redacted: no token, no email address.
LOG_FORMAT = env("LOG_FORMAT", default="text")
LOGGING = logs.logging_config(log_format=LOG_FORMAT, level=env("LOG_LEVEL", default="INFO"))

# SENTRY (config/sentry.py): errors of the web and the workers, personal data scrubbed.
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    from config import sentry

    sentry.init(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# MONITORING (config/metrics.py, config/health.py)
# /metrics answers only when METRICS_TOKEN is set, and only to `Authorization: Bearer <it>`.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# /healthz/ready fails when beat's heartbeat (events.tasks.heartbeat, every minute, run by a
# worker) is older than this, or when more than HEALTH_OUTBOX_BACKLOG emails have been owed
# for longer than HEALTH_OUTBOX_BACKLOG_AGE seconds (a fan-out of thousands is not a backlog
# until it has had time to leave).
HEALTH_BEAT_MAX_AGE = env.int("HEALTH_BEAT_MAX_AGE", default=180)
HEALTH_OUTBOX_BACKLOG = env.int("HEALTH_OUTBOX_BACKLOG", default=1000)
HEALTH_OUTBOX_BACKLOG_AGE = env.int("HEALTH_OUTBOX_BACKLOG_AGE", default=600)

# PROXIES
# How many reverse proxies in front of the web processes append to X-Forwarded-For. Rate
# limits count per client address: behind a proxy, REMOTE_ADDR is the proxy's for everyone.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
