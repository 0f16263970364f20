"""Django settings for Tiền Đồn, configured from environment variables with safe defaults.

Every knob a deployment needs is an environment variable (see docs/operations.md);
nothing here is meant to be edited per node.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from tiendon.config import ConfigError, database_config, env_flag, load_secret_key, prepare_data_dir

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = prepare_data_dir()
SECRET_KEY = load_secret_key(DATA_DIR)
DEBUG = env_flag("TIENDON_DEBUG", default=False)

ALLOWED_HOSTS = [
    h for h in os.environ.get("TIENDON_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("TIENDON_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "tiendon.web",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "tiendon.audit",
    "tiendon.units",
    "tiendon.pki",
    "tiendon.exchange",
    # Documents before readiness: where both catalogues translate one msgid ("In
    # progress"), the documents' words are the ones people already read.
    "tiendon.documents",
    "tiendon.readiness",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "tiendon.web.middleware.ControlCharacterMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "tiendon.web.middleware.VietnameseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tiendon.web.middleware.DenialAuditMiddleware",
    "tiendon.units.middleware.SecondFactorMiddleware",
]

ROOT_URLCONF = "tiendon.urls"
WSGI_APPLICATION = "tiendon.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tiendon.documents.deadlines.context_processors.reminders",
                "tiendon.web.context_processors.shell",
            ],
        },
    },
]

DATABASES = {"default": database_config(DATA_DIR)}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "units.Person"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

# Idle timeout: the session expires after this many seconds without a request.
SESSION_COOKIE_AGE = int(os.environ.get("TIENDON_IDLE_TIMEOUT", "1800"))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_flag("TIENDON_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Failed logins: after LOCKOUT_THRESHOLD failures within LOCKOUT_WINDOW seconds, the
# account (and, separately, the client address) is locked for LOCKOUT_DURATION seconds.
LOCKOUT_THRESHOLD = int(os.environ.get("TIENDON_LOCKOUT_THRESHOLD", "5"))
LOCKOUT_WINDOW = int(os.environ.get("TIENDON_LOCKOUT_WINDOW", "900"))
LOCKOUT_DURATION = int(os.environ.get("TIENDON_LOCKOUT_DURATION", "900"))
# Addresses see more traffic than one account (a commune's shared computer), so allow more.
ADDRESS_LOCKOUT_THRESHOLD = int(os.environ.get("TIENDON_ADDRESS_LOCKOUT_THRESHOLD", "20"))

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_flag("TIENDON_STATIC_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or not env_flag("TIENDON_STATIC_MANIFEST", default=True)

# A push between nodes carries envelopes of up to 64 MiB (attachments); forms stay small.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("TIENDON_MAX_REQUEST_MB", "70")) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

TIENDON_NODE_NAME = os.environ.get("TIENDON_NODE_NAME", "tiendon")
# Public base URL of this node: CRL distribution points and the certificate directory.
TIENDON_PUBLIC_URL = os.environ.get("TIENDON_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Where new unit and personal signing keys are made: "software" or "pkcs11".
TIENDON_KEYSTORE = os.environ.get("TIENDON_KEYSTORE", "software")
if TIENDON_KEYSTORE not in ("software", "pkcs11"):
    raise ConfigError(f"TIENDON_KEYSTORE={TIENDON_KEYSTORE!r}: use 'software' or 'pkcs11'")
TIENDON_PKCS11_LIB = os.environ.get("TIENDON_PKCS11_LIB", "/usr/lib/softhsm/libsofthsm2.so")
TIENDON_PKCS11_TOKEN_LABEL = os.environ.get("TIENDON_PKCS11_TOKEN_LABEL", "")
# Extra trust anchors (e.g. a government CA) and their CRLs: PEM/DER files, ':'-separated.
TIENDON_TRUST_ANCHORS = [p for p in os.environ.get("TIENDON_TRUST_ANCHORS", "").split(":") if p]
# Whether this node (its network zone and storage) is declared fit for secret content
# (state-secrets law 2025: an isolated network or state-cipher protection). Off by default.
TIENDON_SECRET_FIT = env_flag("TIENDON_SECRET_FIT", default=False)
# Node-to-node requests: how long to wait for an answer, and retries after a failure
# (exponential from BASE up to MAX, with jitter; Hỏa tốc is never backed off).
TIENDON_EXCHANGE_TIMEOUT = float(os.environ.get("TIENDON_EXCHANGE_TIMEOUT", "120"))
TIENDON_EXCHANGE_BACKOFF_BASE = float(os.environ.get("TIENDON_EXCHANGE_BACKOFF_BASE", "10"))
TIENDON_EXCHANGE_BACKOFF_MAX = float(os.environ.get("TIENDON_EXCHANGE_BACKOFF_MAX", "3600"))
# How often the worker fetches the neighbours' CRLs and unit certificates (and at start).
TIENDON_EXCHANGE_SYNC_SECONDS = float(os.environ.get("TIENDON_EXCHANGE_SYNC_SECONDS", "600"))
# A hole in a neighbour's channel numbers is asked for again after this many seconds.
TIENDON_EXCHANGE_GAP_GRACE = float(os.environ.get("TIENDON_EXCHANGE_GAP_GRACE", "600"))
# At most this many bytes of envelopes in one pull answer (one envelope always fits).
TIENDON_EXCHANGE_PULL_BYTES = int(os.environ.get("TIENDON_EXCHANGE_PULL_BYTES", str(1 << 20)))
TIENDON_EXTERNAL_CRLS = [p for p in os.environ.get("TIENDON_EXTERNAL_CRLS", "").split(":") if p]
# An RFC 3161 time-stamping authority for document signatures (none when empty).
# A folder for the Tantivy search index (ADR 0011); empty: the database's own search.
TIENDON_SEARCH_INDEX = os.environ.get("TIENDON_SEARCH_INDEX", "")
TIENDON_TSA_URL = os.environ.get("TIENDON_TSA_URL", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TIENDON_LOG_LEVEL", "INFO")},
}

# Rollout readiness (tiendon/readiness/rules.py): the conditions a commune board must meet to
# count as ready, and the window (days) in which it must have worked to count as "working
# digitally".
TIENDON_READINESS_CONDITIONS = [
    c.strip()
    for c in os.environ.get(
        "TIENDON_READINESS_CONDITIONS", "link,computer,certificate_on_token,trained_operator"
    ).split(",")
    if c.strip()
]
TIENDON_READINESS_WORKING_DAYS = int(os.environ.get("TIENDON_READINESS_WORKING_DAYS", "7"))
