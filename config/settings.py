"""Settings for CPTS Liaison. Every value that differs between machines comes from the environment.

See .env.example for the full list. Unset variables give a working local demo (SQLite, a
filesystem broker, console e-mail); DEBUG=False refuses the demo's insecure defaults.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from worker.schedule import BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR") or BASE_DIR / "var")


def env_bool(name: str, *, default: bool) -> bool:
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: use True or False")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r}: an integer is expected") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def site_url_from_env(*, debug: bool, allowed_hosts: list[str]) -> str:
    """The public address of the site, for the links of e-mails (and anything sent away).

    SITE_URL (or its alias PUBLIC_BASE_URL). Unset, the address the site actually answers
    at: the demo's own port (DEMO_PORT, as `make demo` serves it) with DEBUG, else the first
    concrete ALLOWED_HOSTS name over HTTPS. Links used to say 127.0.0.1:8000 whatever the
    host or port. A value that is not an absolute http(s) address fails loudly.
    """
    value = (os.environ.get("SITE_URL") or os.environ.get("PUBLIC_BASE_URL") or "").strip()
    if not value:
        concrete = [h for h in allowed_hosts if h and "*" not in h and not h.startswith(".")]
        if debug or not concrete:
            value = f"http://127.0.0.1:{env_int('DEMO_PORT', 8000)}"
        else:
            value = f"https://{concrete[0]}"
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.query:
        raise ImproperlyConfigured(
            f"SITE_URL={value!r}: an absolute http(s) address is expected, "
            "e.g. https://liaison.cpts.example"
        )
    return value.rstrip("/")


def env_networks(name: str) -> list[str]:
    """NAME as comma-separated IP networks (CIDR, or bare addresses), checked and normalised."""
    import ipaddress  # noqa: PLC0415

    networks = []
    for item in env_list(name):
        try:
            networks.append(str(ipaddress.ip_network(item)))
        except ValueError as exc:
            # strict: "10.0.0.5/8" (host bits set) is more likely a typo than a wish to trust
            # the whole /8.
            raise ImproperlyConfigured(f"{name}: {item!r} is not an IP network") from exc
    return networks


def trusted_proxies_from_env(*, behind_tls_proxy: bool) -> tuple[int, list[str]]:
    """(TRUSTED_PROXY_COUNT, TRUSTED_PROXIES): how far to believe X-Forwarded-For.

    One of the two, never both: a count of proxies in front of the service, or the networks
    the proxies connect from. BEHIND_TLS_PROXY alone means one proxy. Behind a proxy, trusting
    none would give every client the proxy's address, and one attacker would lock the login
    out for the whole CPTS: that is refused.
    """
    networks = env_networks("TRUSTED_PROXIES")
    count = env_int("TRUSTED_PROXY_COUNT", 1 if behind_tls_proxy and not networks else 0)
    if count < 0:
        raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more")
    if networks and count:
        raise ImproperlyConfigured("set TRUSTED_PROXY_COUNT or TRUSTED_PROXIES, not both")
    if behind_tls_proxy and not networks and not count:
        raise ImproperlyConfigured(
            "BEHIND_TLS_PROXY with TRUSTED_PROXY_COUNT=0: every client would get the proxy's "
            "address; declare the proxies (TRUSTED_PROXY_COUNT or TRUSTED_PROXIES)"
        )
    return count, networks


def env_secret(name: str, default: str = "") -> str:
    """Read NAME, or the file named by NAME_FILE (Docker/Kubernetes secrets)."""
    if path := os.environ.get(f"{name}_FILE"):
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"cannot read {name}_FILE={path}") from exc
    return os.environ.get(name, default)


def dev_secret(filename: str, make: object) -> str:
    """A development secret generated once into var/, so a demo restart keeps sessions valid.

    Only ever called when DEBUG is on: production must be given its secrets.
    """
    path = VAR_DIR / filename
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(str(make() if callable(make) else make))
        path.chmod(0o600)
    return path.read_text().strip()


def _dev_encryption_key() -> str:
    from security.crypto import generate_key_spec  # noqa: PLC0415  (cryptography, no Django)

    return generate_key_spec("dev1")


def _dev_b64_key() -> str:
    import base64  # noqa: PLC0415

    return base64.b64encode(secrets.token_bytes(32)).decode()


def _dev_id_key(key_id: str) -> str:
    """`id:base64` of 32 random bytes: an HMAC key, or an Ed25519 private key (its seed)."""
    import base64  # noqa: PLC0415

    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def _check_audit_keys(sealing: str, signing: str, public: str) -> None:
    """Refuse to start with malformed audit keys, rather than fail every audited write later."""
    from security.audit_keys import (  # noqa: PLC0415  (cryptography, no Django)
        parse_audit_keys,
        parse_checkpoint_keys,
    )

    try:
        parse_audit_keys(sealing)
        parse_checkpoint_keys(signing, public)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None


def _decode_b64_key(name: str, value: str) -> bytes:
    import base64  # noqa: PLC0415
    import binascii  # noqa: PLC0415

    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured(f"{name} is not valid base64") from exc
    if len(key) < 32:
        raise ImproperlyConfigured(f"{name} must decode to at least 32 bytes")
    return key


def email_settings(url: str) -> dict[str, object]:
    """Translate EMAIL_URL (smtp://user:pass@host:port?tls=1, console://, locmem://)."""
    if not url:
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    parsed = urlparse(url)
    backends = {
        "console": "django.core.mail.backends.console.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "smtps": "django.core.mail.backends.smtp.EmailBackend",
    }
    if parsed.scheme not in backends:
        raise ImproperlyConfigured(f"EMAIL_URL: unknown scheme {parsed.scheme!r}")
    options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    return {
        "EMAIL_BACKEND": backends[parsed.scheme],
        "EMAIL_HOST": parsed.hostname or "localhost",
        "EMAIL_PORT": parsed.port or (465 if parsed.scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parsed.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parsed.password or ""),
        "EMAIL_USE_SSL": parsed.scheme == "smtps",
        "EMAIL_USE_TLS": options.get("tls", "") in ("1", "true", "True"),
        "EMAIL_TIMEOUT": 10,
    }


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off (see .env.example); "
            "a development key is generated only with DEBUG=True."
        )
    SECRET_KEY = dev_secret("dev-secret-key", lambda: secrets.token_urlsafe(50))

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = site_url_from_env(debug=DEBUG, allowed_hosts=ALLOWED_HOSTS)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI assets served locally: no CDN in a health network
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "directory",
    "security",
    "worker",
    "liaison",
    "protocols",
    "messaging",
    "events",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "security.middleware.RequestContextMiddleware",
    "security.middleware.RequireTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A session idle too long, or open too long, ends here (before the form-draft keeper, so
    # a form sent just after the idle limit is kept for its author like any expired session's).
    "security.session_limits.SessionLimitsMiddleware",
    # A form posted after the session expired is kept for its author until they log back in.
    "security.middleware.FormDraftMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # A Pro Santé Connect session's logout goes on to the provider (form-action).
    "directory.psc.middleware.ProviderLogoutCspMiddleware",
    # Oversized bodies, control characters. Late, so its answers get the headers above (CSP,
    # X-Frame-Options); still before any view and before the CSRF check reads the form.
    "config.middleware.RequestInputMiddleware",
    "security.middleware.LoginRefusalMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

AUTHENTICATION_BACKENDS = [
    # Refuses an address that fails logins across many usernames (password spraying).
    "security.login_guard.LoginAddressGuardBackend",
    "axes.backends.AxesStandaloneBackend",  # counts failures and refuses locked-out logins
    "django.contrib.auth.backends.ModelBackend",
    # Never checks a password: the session's backend after a Pro Santé Connect login.
    "directory.psc.backend.ProSanteConnectBackend",
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
                "django.template.context_processors.i18n",  # LANGUAGE_CODE: <html lang>
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "directory.context_processors.current_member",
                "worker.context_processors.notifications",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
# PostgreSQL plans a statement each time it is sent as text: for the ORM's joined reads (a
# sheet's access check, an inbox page) planning was half of the server's CPU per request
# (docs/benchmarks.md, "Where the machine's CPU goes, and prepared statements"). With
# server-side binding, psycopg prepares a statement a connection has run
# DB_PREPARE_THRESHOLD times and PostgreSQL reuses its plan (re-planned when a migration
# changes a table; one whose result columns changed fails until its connection is renewed:
# processes restart after migrating, as deployments do).
# Behind a transaction-mode pooler older than PgBouncer 1.21, set DB_PREPARED_STATEMENTS=off.
if "postgresql" in DATABASES["default"]["ENGINE"] and env_bool(
    "DB_PREPARED_STATEMENTS", default=True
):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=env_int("DB_PREPARE_THRESHOLD", 5)
    )
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # web, worker and beat share the SQLite file in the demo: wait for a lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # Take the write lock when a transaction starts: two audited writes that both read the
    # chain head then write would otherwise fail with "database is locked" instead of waiting.
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
# The Celery worker keeps its connections this long (seconds; config/celery.py): a task is
# shorter than opening one. Web processes keep DB_CONN_MAX_AGE.
WORKER_DB_CONN_MAX_AGE = env_int("WORKER_DB_CONN_MAX_AGE", 600)
# A kept connection idle for longer than this (seconds) is checked (one SELECT 1) before the
# worker's next task uses it; one used a moment ago by the previous task is not.
WORKER_DB_HEALTH_CHECK_AFTER = env_int("WORKER_DB_HEALTH_CHECK_AFTER", 10)
# Celery's Django fixup closes every database connection before and after each task, whatever
# CONN_MAX_AGE says, unless this is set: then only every that many tasks. The worker closes
# old and broken connections itself, as Django does between requests (config/celery.py).
CELERY_DB_REUSE_MAX = env_int("WORKER_DB_REUSE_MAX", 10_000)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "directory.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Strong authentication (Health-data protection issue): TOTP for every member who may see
# clinical data, on by default outside DEBUG; login brute-force lockout (django-axes).
REQUIRE_2FA = env_bool("REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "CPTS Liaison")
# Pro Santé Connect (issue #18, directory/psc/, docs/psc.md): the national OpenID Connect
# federation of health professionals (e-CPS, CPS card). Unset PSC_DISCOVERY_URL = no PSC button.
# Sandbox (BAS) and production differ only by these values (README, "Pro Santé Connect").
PSC_DISCOVERY_URL = os.environ.get("PSC_DISCOVERY_URL", "").strip()
PSC_CLIENT_ID = os.environ.get("PSC_CLIENT_ID", "").strip()
PSC_CLIENT_SECRET = env_secret("PSC_CLIENT_SECRET")
PSC_SCOPES = os.environ.get("PSC_SCOPES", "openid scope_all").strip()
PSC_ACR_VALUES = os.environ.get("PSC_ACR_VALUES", "eidas1").strip()
# Discovery and JWKS are cached this long (a key rotation refetches the JWKS at once).
PSC_METADATA_CACHE_SECONDS = env_int("PSC_METADATA_CACHE_SECONDS", 3600)
PSC_HTTP_TIMEOUT_SECONDS = env_int("PSC_HTTP_TIMEOUT_SECONDS", 10)
# Where the provider sends the browser back; unset, derived from the request's host.
PSC_REDIRECT_BASE_URL = os.environ.get("PSC_REDIRECT_BASE_URL", "").strip().rstrip("/")
# Which logins the site offers: "psc" and/or "password". Without "password", only members
# without an RPPS (who cannot use PSC) and staff accounts keep the password + TOTP login.
AUTH_METHODS = env_list("AUTH_METHODS", "psc,password")
if not set(AUTH_METHODS) <= {"psc", "password"} or not AUTH_METHODS:
    raise ImproperlyConfigured("AUTH_METHODS: a comma-separated list of psc and password")
# Sensitive actions (exports, key rotation, audit export) ask for a fresh authentication when
# the last one is older than this (PGSSI-S, DOMAIN.md §7.1).
REAUTH_MAX_AGE_SECONDS = env_int("REAUTH_MAX_AGE_SECONDS", 15 * 60)
# A web session ends after this long without the person doing anything (a page opened, a form
# sent; a page's own background polling does not count), and in any case this long after the
# login (security.session_limits). The same idle limit as personal API tokens.
SESSION_IDLE_TIMEOUT_SECONDS = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 30 * 60)
SESSION_MAX_AGE_SECONDS = env_int("SESSION_MAX_AGE_SECONDS", 12 * 3600)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# The real client behind the proxies: the same address as the throttles and the audit.
AXES_CLIENT_IP_CALLABLE = "security.client_address.client_address"
# Attempts refused by the address guard were not checked: they do not count for the account.
AXES_WHITELIST_CALLABLE = "security.login_guard.refused_before_checking"
# Password spraying (security/login_guard.py): failed logins per client address (per /64 in
# IPv6), whatever the username, on the web login and the token endpoint alike. Successes are
# never counted, so a hospital's NAT address full of good logins is never held back. Past
# SLOWDOWN_AFTER failures in the window, an attempt must wait SLOWDOWN_SECONDS after the
# previous failure (429 with Retry-After, no worker kept asleep); past BLOCK_AFTER, every
# login from the address is refused for BLOCK_MINUTES. 0 turns a stage off.
LOGIN_ADDRESS_WINDOW_MINUTES = env_int("LOGIN_ADDRESS_WINDOW_MINUTES", 15)
LOGIN_ADDRESS_SLOWDOWN_AFTER = env_int("LOGIN_ADDRESS_SLOWDOWN_AFTER", 20)
LOGIN_ADDRESS_SLOWDOWN_SECONDS = env_int("LOGIN_ADDRESS_SLOWDOWN_SECONDS", 10)
LOGIN_ADDRESS_BLOCK_AFTER = env_int("LOGIN_ADDRESS_BLOCK_AFTER", 50)
LOGIN_ADDRESS_BLOCK_MINUTES = env_int("LOGIN_ADDRESS_BLOCK_MINUTES", 15)
for _name in (
    "LOGIN_ADDRESS_WINDOW_MINUTES",
    "LOGIN_ADDRESS_SLOWDOWN_AFTER",
    "LOGIN_ADDRESS_SLOWDOWN_SECONDS",
    "LOGIN_ADDRESS_BLOCK_AFTER",
    "LOGIN_ADDRESS_BLOCK_MINUTES",
):
    if globals()[_name] < 0:
        raise ImproperlyConfigured(f"{_name} must be 0 or more")
if LOGIN_ADDRESS_WINDOW_MINUTES < 1:
    raise ImproperlyConfigured("LOGIN_ADDRESS_WINDOW_MINUTES must be at least 1")
# API tokens (security/tokens.py). Personal tokens: a working day at most, and dead after half
# an hour without use, like a workstation that locks itself; a new one costs a password and a
# TOTP code. Integration tokens (a hospital's system, made by the coordination): a year at most,
# dead after a month unused (a forgotten integration should not keep a door open).
API_TOKEN_IDLE_TIMEOUT_MINUTES = env_int("API_TOKEN_IDLE_TIMEOUT_MINUTES", 30)
API_TOKEN_MAX_AGE_HOURS = env_int("API_TOKEN_MAX_AGE_HOURS", 12)
API_TOKEN_INTEGRATION_IDLE_TIMEOUT_DAYS = env_int("API_TOKEN_INTEGRATION_IDLE_TIMEOUT_DAYS", 30)
API_TOKEN_INTEGRATION_MAX_AGE_DAYS = env_int("API_TOKEN_INTEGRATION_MAX_AGE_DAYS", 365)
LOGIN_REDIRECT_URL = "home"
# Lifetime of the link e-mailed by "Mot de passe oublié", in seconds (one hour by default).
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3600)
if PASSWORD_RESET_TIMEOUT < 60:
    raise ImproperlyConfigured("PASSWORD_RESET_TIMEOUT must be at least 60 seconds")
# Reset e-mails one client address, and one e-mail address, may ask for per hour: past it the
# page answers the same, and no e-mail goes (no mailbox flooded through the form).
PASSWORD_RESET_MAX_PER_HOUR = env_int("PASSWORD_RESET_MAX_PER_HOUR", 5)
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("Anglais"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates as dd/mm/yyyy and months as "décembre 2026" (config/formats/fr/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or VAR_DIR / "media")

globals().update(email_settings(os.environ.get("EMAIL_URL", "")))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "CPTS Liaison <noreply@localhost>")

# Production hardening; DEBUG keeps plain HTTP usable for the local demo.
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = 0 if DEBUG else env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Which X-Forwarded-For entries to believe (security/client_address.py): the address the
# outermost trusted proxy saw is the client's, for the lockout, the throttles and the audit.
TRUSTED_PROXY_COUNT, TRUSTED_PROXIES = trusted_proxies_from_env(behind_tls_proxy=BEHIND_TLS_PROXY)
X_FRAME_OPTIONS = "DENY"
# A lost or stale CSRF cookie gets a French page that offers to retry (config/errors.py).
CSRF_FAILURE_VIEW = "config.errors.csrf_failure"
# No inline script anywhere: pages load their scripts from /static/ (django-csp).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Encryption at rest (security/crypto.py). ENCRYPTION_KEYS: comma-separated `id:base64key`,
# newest (encrypting) first, every listed key decrypts. BLIND_INDEX_KEY: base64, a separate
# key for the searchable HMACs of patient identifiers. The development defaults are generated
# into var/ and refused when DEBUG is off.
ENCRYPTION_KEYS = env_list("ENCRYPTION_KEYS")
BLIND_INDEX_KEY_B64 = env_secret("BLIND_INDEX_KEY")
if not ENCRYPTION_KEYS or not BLIND_INDEX_KEY_B64:
    if not DEBUG:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS and BLIND_INDEX_KEY are required when DEBUG is off: generate them "
            "with `python -m security.crypto` (see .env.example); development keys are "
            "generated only with DEBUG=True."
        )
    ENCRYPTION_KEYS = ENCRYPTION_KEYS or [dev_secret("dev-encryption-key", _dev_encryption_key)]
    BLIND_INDEX_KEY_B64 = BLIND_INDEX_KEY_B64 or dev_secret("dev-blind-index-key", _dev_b64_key)
BLIND_INDEX_KEY = _decode_b64_key("BLIND_INDEX_KEY", BLIND_INDEX_KEY_B64)
# Refuse to encrypt past this many encryptions per key (NIST SP 800-38D allows 2**32 with
# random nonces; a quarter of it stays far below, with a margin for counts lost to
# rolled-back transactions, restored backups or scripts outside the application).
ENCRYPTION_MAX_PER_KEY = env_int("ENCRYPTION_MAX_PER_KEY", 2**30)
ENCRYPTION_USAGE_COUNTER = "security.keys.DatabaseUsageCounter"

# Audit trail (security/audit.py; docs/security.md "Audit trail"). AUDIT_KEYS: comma-separated
# `id:base64key` HMAC-SHA256 keys sealing each entry, newest (sealing) first; every listed key
# verifies, so an old key stays listed as long as the entries it sealed are kept.
# AUDIT_CHECKPOINT_SIGNING_KEY: `id:base64` Ed25519 private key signing the chain checkpoints
# written to AUDIT_CHECKPOINT_DIR; AUDIT_CHECKPOINT_PUBLIC_KEYS: public keys of former
# signing keys. `python -m security.audit_keys` prints fresh values. Development keys are
# generated into var/ and refused when DEBUG is off, as for the encryption keys.
# AUDIT_LEGACY_ENTRIES: how many entries were written before the audit keys existed (an
# upgraded installation; `verify_audit` says the number), checked by their unkeyed chain.
AUDIT_KEYS = env_secret("AUDIT_KEYS")
AUDIT_CHECKPOINT_SIGNING_KEY = env_secret("AUDIT_CHECKPOINT_SIGNING_KEY")
if not AUDIT_KEYS or not AUDIT_CHECKPOINT_SIGNING_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "AUDIT_KEYS and AUDIT_CHECKPOINT_SIGNING_KEY are required when DEBUG is off: "
            "generate them with `python -m security.audit_keys` (see .env.example); "
            "development keys are generated only with DEBUG=True."
        )
    AUDIT_KEYS = AUDIT_KEYS or dev_secret("dev-audit-keys", lambda: _dev_id_key("dev1"))
    AUDIT_CHECKPOINT_SIGNING_KEY = AUDIT_CHECKPOINT_SIGNING_KEY or dev_secret(
        "dev-audit-checkpoint-key", lambda: _dev_id_key("devcp1")
    )
AUDIT_CHECKPOINT_PUBLIC_KEYS = env_secret("AUDIT_CHECKPOINT_PUBLIC_KEYS")
_check_audit_keys(AUDIT_KEYS, AUDIT_CHECKPOINT_SIGNING_KEY, AUDIT_CHECKPOINT_PUBLIC_KEYS)
AUDIT_CHECKPOINT_DIR = Path(os.environ.get("AUDIT_CHECKPOINT_DIR") or VAR_DIR / "audit-checkpoints")
AUDIT_LEGACY_ENTRIES = env_int("AUDIT_LEGACY_ENTRIES", 0)
if AUDIT_LEGACY_ENTRIES < 0:
    raise ImproperlyConfigured("AUDIT_LEGACY_ENTRIES must be 0 or more")
# AUDIT_STRICT_ACTIONS: refuse to record an action no app declared (security/actions.py),
# so a typo fails in development and in the tests. Off in production, where an undeclared
# action is logged and recorded all the same: an audit entry is never lost over a name.
AUDIT_STRICT_ACTIONS = env_bool("AUDIT_STRICT_ACTIONS", default=DEBUG)
# AUDIT_SHARDS: how many chains the trail may be split into. Each append locks one chain's
# head until its transaction commits; each writer (process, thread) appends to a home chain
# of its own, created at its first append, and takes another free one when its own is busy,
# so up to AUDIT_SHARDS audited transactions proceed side by side instead of queueing on one
# row. Above the number of concurrent writers (128: twice 64), writers rarely share a chain,
# and an append to a chain nobody else touched since is one statement. Lowering it later is
# safe: chains beyond the new count stay verifiable, they only stop growing. 1 keeps a
# single chain (docs/security.md "Audit trail").
AUDIT_SHARDS = env_int("AUDIT_SHARDS", 128)
if not 1 <= AUDIT_SHARDS <= 1024:
    raise ImproperlyConfigured("AUDIT_SHARDS must be between 1 and 1024")

REST_FRAMEWORK = {
    # The token first: DRF takes the WWW-Authenticate header from the first class, so an
    # unauthenticated call answers 401 (the session class has no header, which gives 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "security.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "directory.permissions.IsActiveMember",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["config.filters.StrictFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "security.api.exception_handler",
    # DRF's parsers, with a nesting limit on JSON (config/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_THROTTLE_CLASSES": ["security.throttling.WriteRateThrottle"],
    # Our throttles key on security.client_address; this only keeps a stray DRF throttle from
    # keying on a client-supplied X-Forwarded-For (None would).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        # Per client address, successes included: a hospital's NAT issues many tokens at
        # 8 a.m. (a token lasts a working day at most). Failed passwords have their own,
        # stricter per-address guard (LOGIN_ADDRESS_*, security/login_guard.py).
        "token": os.environ.get("TOKEN_THROTTLE_RATE", "60/min"),
        "writes": os.environ.get("WRITE_THROTTLE_RATE", "120/min"),
        # The agenda's public registration form, per client address (no account, no captcha).
        "public_registration": os.environ.get("PUBLIC_REGISTRATION_THROTTLE_RATE", "10/hour"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CPTS Liaison API",
    "DESCRIPTION": (
        "Liaison sheets between town and hospital, cooperation protocols and secure messaging "
        "for the members of a CPTS. Objects are identified by UUIDs exposed as `id`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],  # the contract is public
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "OrganisationKindEnum": "directory.models.Organisation.Kind",
        "MembershipRoleEnum": "directory.models.Membership.Role",
        "SheetKindEnum": "liaison.models.LiaisonSheet.Kind",
        "SheetStatusEnum": "liaison.models.LiaisonSheet.Status",
        "SheetParticipantRoleEnum": "liaison.models.SheetParticipant.Role",
        "NotificationStatusEnum": "worker.models.Notification.Status",
        "NotificationChannelEnum": "worker.events.Channel",
        "AgendaSectorEnum": "events.models.Sector",
        "AgendaEventKindEnum": "events.models.Event.Kind",
        "ProtocolKindEnum": "protocols.models.Protocol.Kind",
        "ProtocolStatusEnum": "protocols.models.Protocol.Status",
        "ProtocolVersionStatusEnum": "protocols.models.ProtocolVersion.Status",
        "ProtocolReviewDecisionEnum": "protocols.models.ProtocolReview.Decision",
        "ProtocolParticipationRoleEnum": "protocols.models.Participation.Role",
        "ProtocolDiffSectionStatusEnum": "protocols.diff.SectionStatus",
        "ProtocolDiffLineOpEnum": "protocols.diff.LineOp",
        "GuideEntryKindEnum": "protocols.guide.selectors.GuideEntryKind",
        "DirectoryImportRowStatusEnum": "directory.importer.RowStatus",
        "ProfessionEnum": "directory.models.Member.Profession",
        "WeekdayEnum": "protocols.models.OfficeHours.Weekday",
        "MessageKindEnum": "messaging.models.Message.Kind",
        "ApiTokenKindEnum": "security.models.ApiToken.Kind",
        "InclusionEndReasonEnum": "protocols.models.Inclusion.EndReason",
    },
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.add_error_responses",
    ],
}

REDIS_URL = os.environ.get("REDIS_URL", "")


def cache_settings(redis_url: str) -> dict[str, dict[str, object]]:
    """CACHES: the throttle counters, shared by every web worker through Redis when there is one.

    A Redis outage must not fail requests (the throttles read the cache before the request's
    transaction): security.cache.FailOpenRedisCache falls back to a per-process cache, a call
    gives up after CACHE_SOCKET_TIMEOUT_MS, and a failed Redis is tried again only every
    CACHE_RETRY_AFTER seconds.
    """
    if not redis_url:
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    timeout = env_int("CACHE_SOCKET_TIMEOUT_MS", 250) / 1000
    retry_after = env_int("CACHE_RETRY_AFTER", 10)
    if timeout <= 0 or retry_after < 1:
        raise ImproperlyConfigured("CACHE_SOCKET_TIMEOUT_MS and CACHE_RETRY_AFTER must be >= 1")
    return {
        "default": {
            "BACKEND": "security.cache.FailOpenRedisCache",
            "LOCATION": redis_url,
            "RETRY_AFTER": retry_after,
            "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
        }
    }


CACHES = cache_settings(REDIS_URL)
# A request that cannot be served (database unreachable or locked, a service down) answers
# 503 with this Retry-After, in seconds (security/availability.py), never a 500.
SERVICE_UNAVAILABLE_RETRY_AFTER = env_int("SERVICE_UNAVAILABLE_RETRY_AFTER", 30)
# Push delivery (worker/push/): each member's events go to a Redis Stream per topic (the
# member, each of their organisations), kept for the last PUSH_STREAM_LENGTH events and
# PUSH_STREAM_TTL_SECONDS after the last one, so a client that reconnects with Last-Event-ID
# gets what it missed. Without REDIS_URL, an in-process buffer (one process only: make demo).
PUSH_KEY_PREFIX = os.environ.get("PUSH_KEY_PREFIX", "push:")
PUSH_STREAM_LENGTH = env_int("PUSH_STREAM_LENGTH", 500)
PUSH_STREAM_TTL_SECONDS = env_int("PUSH_STREAM_TTL_SECONDS", 24 * 3600)
# A comment line at least this often keeps proxies from closing an idle stream.
PUSH_KEEPALIVE_SECONDS = env_int("PUSH_KEEPALIVE_SECONDS", 15)
# A stream ends after this long and the browser reconnects (with Last-Event-ID): a member
# deactivated or moved to another organisation meanwhile is checked again.
PUSH_MAX_STREAM_SECONDS = env_int("PUSH_MAX_STREAM_SECONDS", 600)
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_SPOOL_DIR = VAR_DIR / "celery-spool"
if REDIS_URL:
    # Longer than the longest task and any countdown or retry delay: Redis redelivers an
    # unacknowledged message after this timeout, so a shorter one would run tasks twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY", 3600)}
else:
    # `make demo` without Redis: web, worker and beat share a spool directory (kombu's
    # filesystem transport); its folders must exist before the first message.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_SPOOL_DIR / "queue"),
        "data_folder_out": str(CELERY_SPOOL_DIR / "queue"),
        "processed_folder": str(CELERY_SPOOL_DIR / "processed"),
        "control_folder": str(CELERY_SPOOL_DIR / "control"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "celery")
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = TIME_ZONE
# The worker heartbeat is considered stale after this many seconds (reported by /readyz).
WORKER_HEARTBEAT_STALE_AFTER = env_int("WORKER_HEARTBEAT_STALE_AFTER", 180)

# --- Notifications and background work (worker/) -------------------------------------------
# The design and the reasons are in docs/background-work.md. In short: every task is
# idempotent (it takes ids and claims rows with conditional UPDATEs), so a message may be
# delivered twice but never lost.
#
# Late acknowledgement: a task's message is acknowledged when the task ends, so a worker that
# dies mid-task leaves it to be redelivered. Alone it is not enough: when the process running
# the task is killed (SIGKILL, OOM), Celery acknowledges the message anyway unless
# reject_on_worker_lost asks it to requeue it.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A task that raised is finished (acknowledged): a bug fails once and loudly, it is not retried
# in a loop; expected failures are retried explicitly with a backoff.
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = True
# When the broker connection drops, let running tasks finish rather than cancel them mid-way
# (an e-mail sent but not yet marked would be sent again); their messages come back anyway.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Publishing happens after commit, inside a web request: when Redis is down, give up quickly
# (the committed outbox row is picked up by the sweep) instead of holding the request.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
# A message redelivered more than this many times (its task keeps killing workers) is dropped
# with an error in the log instead of looping forever; counted in Redis (worker.tasks).
TASK_MAX_REDELIVERIES = env_int("TASK_MAX_REDELIVERIES", 5)

# Notification delivery (worker/dispatch.py).
# Delivery attempts of one notification (claims, including those of a worker that died)
# before it is marked failed and shown to the coordination.
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 8)
# Exponential backoff between e-mail attempts: base * 2**(attempt-1) seconds, capped.
NOTIFICATION_RETRY_BASE_DELAY = env_int("NOTIFICATION_RETRY_BASE_DELAY", 30)
NOTIFICATION_RETRY_MAX_DELAY = env_int("NOTIFICATION_RETRY_MAX_DELAY", 600)
# Seconds a worker's claim on a notification is valid: past it, the sweep takes the row
# back (the worker died). Longer than the hard task time limit, so a live claim never expires.
NOTIFICATION_CLAIM_LEASE = env_int("NOTIFICATION_CLAIM_LEASE", 600)
# The sweep re-publishes a due notification whose task was published this long ago and has
# not delivered it yet (Redis was down, or the message was lost).
NOTIFICATION_REDISPATCH_AFTER = env_int("NOTIFICATION_REDISPATCH_AFTER", 60)
# Rows per batch of the sweep, the digest and the purge.
NOTIFICATION_BATCH_SIZE = env_int("NOTIFICATION_BATCH_SIZE", 500)
# Local hour (TIME_ZONE) from which each member's daily digest goes out.
NOTIFICATION_DIGEST_HOUR = env_int("NOTIFICATION_DIGEST_HOUR", 7)
# Delivered and read notifications are deleted after this many days.
NOTIFICATION_RETENTION_DAYS = env_int("NOTIFICATION_RETENTION_DAYS", 90)

if not 0 <= NOTIFICATION_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("NOTIFICATION_DIGEST_HOUR must be between 0 and 23")
if NOTIFICATION_MAX_ATTEMPTS < 1 or NOTIFICATION_BATCH_SIZE < 1:
    raise ImproperlyConfigured("NOTIFICATION_MAX_ATTEMPTS and NOTIFICATION_BATCH_SIZE must be >= 1")
if NOTIFICATION_CLAIM_LEASE <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "NOTIFICATION_CLAIM_LEASE must be longer than the task time limit "
        f"({CELERY_TASK_TIME_LIMIT} s): a running delivery would otherwise be taken over"
    )
if REDIS_URL:
    # Redis redelivers a message not acknowledged within the visibility timeout, and a retry's
    # countdown is spent unacknowledged in a worker: a timeout shorter than the longest task or
    # delay would run tasks twice, in a loop for delays longer than it.
    _longest = max(CELERY_TASK_TIME_LIMIT, NOTIFICATION_RETRY_MAX_DELAY)
    if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= _longest:
        raise ImproperlyConfigured(
            f"CELERY_VISIBILITY must be longer than the longest task or retry delay ({_longest} s)"
        )
# --- end of notifications ------------------------------------------------------------------

# --- Liaison sheets (liaison/) -----------------------------------------------------------------
# How long a hospital service has to take a referral before it is alerted (then, after twice
# as long, the coordinator), by urgency, in minutes.
LIAISON_RECEIPT_DELAY_MINUTES = {
    "emergency": env_int("LIAISON_RECEIPT_EMERGENCY_MINUTES", 60),
    "urgent": env_int("LIAISON_RECEIPT_URGENT_MINUTES", 4 * 60),
    "routine": env_int("LIAISON_RECEIPT_ROUTINE_MINUTES", 48 * 60),
}
# Days after the planned admission before a missing discharge letter is chased.
LIAISON_DISCHARGE_GRACE_DAYS = env_int("LIAISON_DISCHARGE_GRACE_DAYS", 7)
# Days before an unread discharge letter is recalled to its recipients.
LIAISON_UNREAD_REMINDER_DAYS = env_int("LIAISON_UNREAD_REMINDER_DAYS", 2)
# Largest attachment accepted (liaison sheets and messages), in bytes.
MAX_ATTACHMENT_BYTES = env_int("MAX_ATTACHMENT_BYTES", 20 * 2**20)

# --- Tele-expertise (expertise/) -------------------------------------------------------------
# How long an expert service has to answer a request, by urgency, in hours (docs/teleexpertise.md).
# Not taken within half of it: the service is alerted; within all of it: the coordinator.
EXPERTISE_ANSWER_DELAY_HOURS = {
    "emergency": env_int("EXPERTISE_EMERGENCY_HOURS", 24),
    "urgent": env_int("EXPERTISE_URGENT_HOURS", 72),
    "routine": env_int("EXPERTISE_ROUTINE_HOURS", 7 * 24),
}
# Days before an answer the requester has not opened is recalled to them.
EXPERTISE_UNREAD_REMINDER_DAYS = env_int("EXPERTISE_UNREAD_REMINDER_DAYS", 2)
# Tele-expertise acts billable per patient and year, for the expert and for the requester.
EXPERTISE_YEARLY_LIMIT = env_int("EXPERTISE_YEARLY_LIMIT", 4)

# --- The agenda (events/) -------------------------------------------------------------------
# Posts of the public registration page per client address and hour (docs/events.md); the
# API's form has its own rate, PUBLIC_REGISTRATION_THROTTLE_RATE.
PUBLIC_REGISTRATION_PAGE_LIMIT = env_int("PUBLIC_REGISTRATION_PAGE_LIMIT", 10)
# Reminders are sent this many hours before an event (the day before).
EVENTS_REMINDER_HOURS = env_int("EVENTS_REMINDER_HOURS", 24)
# The survey's one reminder, this many days after it was sent.
EVENTS_SURVEY_REMINDER_DAYS = env_int("EVENTS_SURVEY_REMINDER_DAYS", 3)

# --- Messaging (messaging/) ------------------------------------------------------------------
# Secure messaging between members (docs/messaging.md).
# Longest message body, in characters (attachments have their own limit, MAX_ATTACHMENT_BYTES).
MESSAGING_MAX_BODY_CHARS = env_int("MESSAGING_MAX_BODY_CHARS", 10_000)
# Files attached to one message.
MESSAGING_MAX_ATTACHMENTS = env_int("MESSAGING_MAX_ATTACHMENTS", 10)
# A conversation is kept this many days after its last message, then purged (files included).
MESSAGING_RETENTION_DAYS = env_int("MESSAGING_RETENTION_DAYS", 365)
# The floor for a conversation attached to a patient or a liaison sheet: part of the medical
# record, kept at least as long as it (20 years, CSP R1112-7 for hospital records; confirm
# with the CPTS's DPO). A shorter requested period is refused.
MESSAGING_LEGAL_RETENTION_DAYS = env_int("MESSAGING_LEGAL_RETENTION_DAYS", 20 * 365)
# Recipients who have not read a message after this many minutes get one e-mail (no content).
MESSAGING_UNREAD_EMAIL_AFTER_MINUTES = env_int("MESSAGING_UNREAD_EMAIL_AFTER_MINUTES", 30)
# Lifetime of a signed attachment download link, in seconds.
MESSAGING_DOWNLOAD_LINK_SECONDS = env_int("MESSAGING_DOWNLOAD_LINK_SECONDS", 600)
# Conversations deleted per transaction by the nightly purge.
MESSAGING_PURGE_BATCH_SIZE = env_int("MESSAGING_PURGE_BATCH_SIZE", 100)
# How often an open conversation page asks for new messages, in seconds.
MESSAGING_POLL_SECONDS = env_int("MESSAGING_POLL_SECONDS", 5)
# Subjects are encrypted: a subject search decrypts the subjects of the member's most recent
# conversations matching the other filters, this many at most (docs/security.md).
MESSAGING_SUBJECT_SEARCH_LIMIT = env_int("MESSAGING_SUBJECT_SEARCH_LIMIT", 2000)

for _name in ("MESSAGING_MAX_BODY_CHARS", "MESSAGING_MAX_ATTACHMENTS", "MESSAGING_RETENTION_DAYS",
              "MESSAGING_LEGAL_RETENTION_DAYS", "MESSAGING_UNREAD_EMAIL_AFTER_MINUTES",
              "MESSAGING_DOWNLOAD_LINK_SECONDS", "MESSAGING_PURGE_BATCH_SIZE",
              "MESSAGING_POLL_SECONDS", "MESSAGING_SUBJECT_SEARCH_LIMIT"):  # fmt: skip
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be a positive integer")
if MESSAGING_SUBJECT_SEARCH_LIMIT > 20_000:
    # The matches are sent back as an IN list: drivers cap the parameters of one query.
    raise ImproperlyConfigured("MESSAGING_SUBJECT_SEARCH_LIMIT must be at most 20000")
# --- end of messaging ------------------------------------------------------------------------

# --- Request bodies (config/parsers.py, config/middleware.py, config/errors.py) ---------------
# Largest body Django reads into memory, files excepted (Django's own setting): a larger one
# is answered 413 before any view runs.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
# Largest request body of any kind, files included, judged on Content-Length before reading:
# by default room for a message's attachments plus the form around them.
REQUEST_MAX_BODY_BYTES = env_int(
    "REQUEST_MAX_BODY_BYTES",
    MESSAGING_MAX_ATTACHMENTS * MAX_ATTACHMENT_BYTES + DATA_UPLOAD_MAX_MEMORY_SIZE,
)
# Deepest nesting of objects and arrays accepted in a JSON body (FHIR documents need ~20).
JSON_MAX_DEPTH = env_int("JSON_MAX_DEPTH", 64)
if not 8 <= JSON_MAX_DEPTH <= 100:
    # Past ~100 levels the recursive code after parsing (serializers, FHIR models) nears
    # Python's recursion limit, which is the 500 this setting prevents.
    raise ImproperlyConfigured("JSON_MAX_DEPTH must be between 8 and 100")
if DATA_UPLOAD_MAX_MEMORY_SIZE < 1 or REQUEST_MAX_BODY_BYTES < DATA_UPLOAD_MAX_MEMORY_SIZE:
    raise ImproperlyConfigured(
        "DATA_UPLOAD_MAX_MEMORY_SIZE must be positive and at most REQUEST_MAX_BODY_BYTES"
    )

# --- Protocols and resource guide (protocols/) ----------------------------------------------
# Days after a version is published (or after a member registers) before participants who
# have not acknowledged it ("lu et approuvé") are reminded, once per version.
PROTOCOL_ACK_REMINDER_DAYS = env_int("PROTOCOL_ACK_REMINDER_DAYS", 7)
# Days before the review date of a version in force when its authors are warned.
PROTOCOL_REVIEW_WARNING_DAYS = env_int("PROTOCOL_REVIEW_WARNING_DAYS", 30)
# Largest CSV accepted by the directory import (organisations and members), in rows.
DIRECTORY_IMPORT_MAX_ROWS = env_int("DIRECTORY_IMPORT_MAX_ROWS", 5000)
if PROTOCOL_ACK_REMINDER_DAYS < 1 or PROTOCOL_REVIEW_WARNING_DAYS < 1:
    raise ImproperlyConfigured(
        "PROTOCOL_ACK_REMINDER_DAYS and PROTOCOL_REVIEW_WARNING_DAYS must be >= 1"
    )

# --- end of protocols ------------------------------------------------------------------------

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
