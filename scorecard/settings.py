"""Settings, all from the environment; see README.md for the variables."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SCORECARD_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1 for local work).")
    SECRET_KEY = "insecure-local-development-key"
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

# Behind HTTPS (production): secure cookies, redirect to HTTPS, HSTS; the
# reverse proxy sets X-Forwarded-Proto. Off by default: the demo runs on http://127.0.0.1.
if env_bool("DJANGO_HTTPS", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # A year, subdomains included (issue 11); a deployment still trying HTTPS out can shorten it.
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preloading commits the whole domain to HTTPS in browsers' built-in lists, for months: the owner of
    # the domain opts in (check --deploy's security.W021 stays until they do).
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

INSTALLED_APPS = [
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
    "django_celery_beat",
    "simple_history",
    "axes",
    "csp",
    "scorecard",
    "goals",
    "reviews",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "scorecard.security.SessionRefreshMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A request declaring a body over the import limit is answered 413 before it is read.
    "scorecard.uploads.UploadLimitMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    "scorecard.security.NoStoreMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lock page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "scorecard.urls"
WSGI_APPLICATION = "scorecard.wsgi.application"

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
                "scorecard.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'scorecard.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: wait for locks instead of failing,
    # and let readers go on while the worker writes.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        # A 256 MB page cache: bulk imports rewrite large indexes.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-262144; PRAGMA temp_store=MEMORY;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "scorecard.Person"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ("employee_code", "name", "email")}},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out sign-in before the password is even checked
# (the login page and the API's basic auth both pass the request it needs).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in throttling (django-axes): this many failures for one employee code lock it for AXES_COOLOFF_TIME,
# or until HR lifts the lock on the "Sign-in locks" page. Locks go by employee code, not by address:
# a contact-center floor signs in from behind one NAT address, and an address lock would shut the
# whole floor out after a few typos. AXES_LOCK_BY_ADDRESS=1 adds a lock per address as well.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"] if env_bool("AXES_LOCK_BY_ADDRESS", False) else ["username"]
# axes.W006 warns when addresses are not locked: the reason above (and a lock by employee code cannot be
# dodged by changing the User-Agent or cookies, which is what that check is about).
SILENCED_SYSTEM_CHECKS = [] if "ip_address" in AXES_LOCKOUT_PARAMETERS else ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "scorecard.security.lockout_response"
AXES_USERNAME_CALLABLE = "scorecard.security.sign_in_code"
# The sign-in history is our own audit log (scorecard.AuditEvent); axes keeps only its attempt counters.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# Sessions end after a working day without a request: scorecard.security.SessionRefreshMiddleware
# pushes the end back on activity (at most every 5 minutes, rather than a write on every request).
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(10 * 60 * 60)))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): scripts only from our own static files (none inline).
# Styles also allow 'unsafe-inline': pages set per-row indentation and tree depth in style
# attributes (style="--depth: 3") and a few pages carry their own <style> block; a style can
# neither run code nor send data anywhere under this policy, so the risk left is small.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
# Our corrections of Django's locale formats: ISO dates first in Chinese forms (see scorecard/formats/zh_Hans).
FORMAT_MODULE_PATH = ["scorecard.formats"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# Where the file-based backend (django.core.mail.backends.filebased) writes each e-mail (the browser suite reads them).
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "scorecard@localhost")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)

REST_FRAMEWORK = {
    # The session first (a signed-in browser keeps its CSRF check); its subclass names the 401
    # challenge: `Basic` for clients, one that pops no password dialog for browsers (api_base.py).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "scorecard.api_base.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # drf-spectacular's, declaring the 400/401/403/404/429 answers views leave out (api_schema.py).
    "DEFAULT_SCHEMA_CLASS": "scorecard.api_schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # limit/offset, at most 1,000 rows a page; a bad limit or offset answers 400 (api_base.py).
    "DEFAULT_PAGINATION_CLASS": "scorecard.api_base.Pagination",
    "PAGE_SIZE": 100,
    # Only views that name a scope are throttled: the customers' 360 feedback
    # links, open without a login (their tokens are unguessable; this is a second guard).
    "DEFAULT_THROTTLE_RATES": {"feedback_token": os.environ.get("FEEDBACK_TOKEN_RATE", "30/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Scorecard API",
    "DESCRIPTION": "Balanced scorecards and management by objectives for contact centers.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs are for signed-in users only (issue 11).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI and ReDoc served from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two choice sets share the field name "kind": a scorecard's subject (unit or person) and an objective's kind.
    "ENUM_NAME_OVERRIDES": {
        "SubjectKindEnum": [("unit", "unit"), ("person", "person")],
        "ObjectiveKindEnum": "goals.models.Objective.Kind",
        "SignInLockKindEnum": [("account", "account"), ("address", "address")],
        "MeasureKindEnum": "scorecard.models.Measure.Kind",
        "ImportJobKindEnum": "scorecard.models.ImportJob.Kind",
    },
}

# Celery. The default broker is kombu's filesystem transport under var/:
# it needs no server, and web, worker and beat on one machine share it.
# Production sets CELERY_BROKER_URL to Redis or RabbitMQ.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # How long a worker waits before looking at the queue folder again when it found nothing to take
        # (kombu's default is 1 s: up to a second idle between two tasks, ~7% of a bulk export's time).
        "polling_interval": 0.1,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    # Work recorded while the broker was unreachable (scorecard.outbox): sent as soon as it is back.
    "drain-outbox": {
        "task": "scorecard.tasks.drain_outbox_task",
        "schedule": crontab(minute="*"),
    },
    "requeue-import-jobs": {
        "task": "scorecard.tasks.requeue_import_jobs_task",
        "schedule": crontab(minute="*/10"),
    },
    "checkin-reminders": {
        "task": "goals.tasks.send_checkin_reminders_task",
        "schedule": crontab(hour=9, minute=0),
    },
    "advance-review-phases": {
        "task": "reviews.tasks.advance_review_phases_task",
        "schedule": crontab(minute="*/5"),
    },
    "review-reminders": {
        "task": "reviews.tasks.send_review_reminders_task",
        "schedule": crontab(minute=0),
    },
    "maintain-exports": {
        "task": "reviews.tasks.maintain_exports_task",
        "schedule": crontab(minute="*/10"),
    },
    "purge-import-files": {
        "task": "scorecard.tasks.purge_import_files_task",
        "schedule": crontab(hour=3, minute=15),
    },
}
# The center's currency (ISO 4217 code): money is shown with its symbol or word
# in the reader's language (CNY: "¥3.8" in English, "3.8 元" in Chinese).
CURRENCY = os.environ.get("CURRENCY", "CNY").strip().upper() or "CNY"
# Uploaded measurement files are kept this many days for audit, then deleted.
IMPORT_FILE_RETENTION_DAYS = int(os.environ.get("IMPORT_FILE_RETENTION_DAYS", "30"))
# Owners of objectives with no check-in for this many days get one reminder.
GOALS_CHECKIN_REMINDER_DAYS = int(os.environ.get("GOALS_CHECKIN_REMINDER_DAYS", "14"))
# People who have not finished their part of a review get one reminder this long before its deadline.
REVIEW_REMINDER_HOURS = int(os.environ.get("REVIEW_REMINDER_HOURS", "48"))
# HR's "Remind the late ones now" skips a part reminded (by it or by the beat) less than this long ago.
REVIEW_REMIND_NOW_HOURS = float(os.environ.get("REVIEW_REMIND_NOW_HOURS", "1"))
# The one address every link in an e-mail is built on (scorecard.emails.absolute_url),
# also for customers answering 360 feedback without a login. Not derived from PORT:
# under honcho the worker and beat see PORT+100 and PORT+200, so `make run`
# exports SITE_URL from the web's port before starting them.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").strip().rstrip("/")
# Links for customers stay valid this many days (never past the 360 deadline).
FEEDBACK_LINK_DAYS = int(os.environ.get("FEEDBACK_LINK_DAYS", "14"))
# Customer raters (issue 11): the most an appraisal asks (nominations awaiting approval count), and the
# company's own e-mail domains (comma-separated), never accepted for a customer — nor is any domain of an
# active staff member's address, nor a staff member's own address.
FEEDBACK_MAX_CUSTOMERS = int(os.environ.get("FEEDBACK_MAX_CUSTOMERS", "5"))
COMPANY_EMAIL_DOMAINS = [d.strip().lower().lstrip("@") for d in os.environ.get("COMPANY_EMAIL_DOMAINS", "").split(",")
                         if d.strip()]
# Bulk exports of appraisal PDFs: appraisals per task (the unit of parallel work
# between workers), how long before a silent chunk is dispatched again, and how
# long the finished ZIPs are kept.
EXPORT_CHUNK_SIZE = int(os.environ.get("EXPORT_CHUNK_SIZE", "10"))
EXPORT_STALE_MINUTES = int(os.environ.get("EXPORT_STALE_MINUTES", "15"))
EXPORT_RETENTION_HOURS = int(os.environ.get("EXPORT_RETENTION_HOURS", "72"))
# An import still pending, or running, after this long is queued again (its
# message was lost or its worker died); the largest files load in about a minute.
IMPORT_JOB_STALE_MINUTES = int(os.environ.get("IMPORT_JOB_STALE_MINUTES", "30"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # WeasyPrint logs each layout step at INFO and every CSS property it ignores: only real problems here.
    "loggers": {
        "weasyprint": {"level": "ERROR"},
        "weasyprint.progress": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # django-axes logs every sign-in at INFO; failures and locks are in the audit log.
        "axes": {"level": "WARNING"},
    },
}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise reads it at start-up, before collectstatic

# Imported files (issue 11). The largest CSV file the import page and API take: a quarter of a
# 20,000-agent center fits (ten times a 120-day, 2,000-agent file of
# 16 MB). A request declaring a larger body is answered 413 before it is read (scorecard.uploads).
IMPORT_MAX_UPLOAD_MB = int(os.environ.get("IMPORT_MAX_UPLOAD_MB", "200"))
# An uploaded file over 2.5 MB streams to a temporary file on disk, never into a web worker's memory
# (the API's text/csv body too: scorecard.apis.CsvParser); a request body read whole into memory (form
# fields, JSON) stays at most 2.5 MB. Django's defaults, stated here because the import limit rests on them.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
