"""Test settings: production settings with fixed secrets and a few speed switches.

config.settings refuses to start without real secrets when DEBUG is off, so the fixed test
ones are set *before* importing it.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
os.environ.setdefault("TOKEN_THROTTLE_RATE", "10000/min")
os.environ.setdefault("WRITE_THROTTLE_RATE", "10000/min")
# One queue and one set of push streams per test database: parallel runs, and the xdist
# workers of one run (each with its own test database, all with the same member ids), share
# the machine's Redis. The run's id is its first process's, inherited by xdist's workers and
# by the Celery workers and servers they start; PYTEST_XDIST_WORKER tells the workers apart
# (a worker's children inherit it too). Shared, a push test read a sibling's event, and a
# worker's Celery worker could take a sibling's message and look its id up in its own database.
# A value a bench script set for its own processes is kept.
_RUN = os.environ.setdefault("TEST_RUN", f"test-{os.getpid()}")
_OURS = f"{_RUN}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
_INHERITED = f"{_RUN}-"  # unset, or the run's own default (maybe a sibling's): this one's
os.environ["CELERY_QUEUE"] = (
    _OURS
    if os.environ.get("CELERY_QUEUE", _INHERITED).startswith(_INHERITED)
    else os.environ["CELERY_QUEUE"]
)
os.environ["PUSH_KEY_PREFIX"] = (
    f"{_OURS}:push:"
    if os.environ.get("PUSH_KEY_PREFIX", _INHERITED).startswith(_INHERITED)
    else os.environ["PUSH_KEY_PREFIX"]
)
os.environ.setdefault("EMAIL_URL", "locmem://")
# The address links in e-mails start with (production derives it from ALLOWED_HOSTS).
os.environ.setdefault("SITE_URL", "http://127.0.0.1:8000")
# Fixed, public test keys: the suite must be reproducible, and these protect nothing.
os.environ.setdefault(
    "ENCRYPTION_KEYS",
    "test2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=,"
    "test1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
)
os.environ.setdefault("BLIND_INDEX_KEY", "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=")
os.environ.setdefault("AUDIT_KEYS", "testaudit1:YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8=")
os.environ.setdefault(
    "AUDIT_CHECKPOINT_SIGNING_KEY", "testcp1:gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp8="
)
# Every audited action must be declared (security/actions.py): a typo fails the test.
os.environ.setdefault("AUDIT_STRICT_ACTIONS", "True")
# Most tests log in with a password only; the 2FA tests turn it on explicitly.
os.environ.setdefault("REQUIRE_2FA", "False")

from config.settings import *  # noqa: F403, E402  (after the environment above)
from config.settings import DATABASES, VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"].get("OPTIONS", {}).get("server_side_binding"):
    # Bound on the server as in production (DB_PREPARED_STATEMENTS), but never prepared:
    # each test's rollback makes psycopg DEALLOCATE ALL, so preparing would only add work
    # here (a few runs of the liaison and messaging tests took 5-10 % longer with it, within
    # this machine's noise). tests/worker/test_deliver_notification.py turns it on where
    # preparing is what it checks.
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None
# The test client and the live server speak plain HTTP.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory: the real worker process started by the tests must share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
else:
    # PostgreSQL: a commit need not wait for its WAL flush in a throwaway test database (a
    # crash loses the last commits, never consistency). The live server's and the real
    # worker's commits are still seen by the next reader, as synchronous_commit only says
    # when the commit is durable, not when it is visible.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"
    # The same backend, with a flush between transactional tests that deletes the rows they
    # left instead of truncating every table (tests/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "tests.postgresql"

# whitenoise warns when STATIC_ROOT is missing; tests serve static files from the finders.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]  # noqa: F405
# Per-process cache in tests: counters (throttling) must not leak from one run to the next
# through a shared Redis.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The ASGI server process of the push tests (tests/push_server.py) serves the pages' scripts
# itself, from the finders, as no collectstatic ran.
WHITENOISE_USE_FINDERS = True
# ...listed once per process, not once per test client (tests/static_files.py).
MIDDLEWARE = [
    "tests.static_files.FindersReadOncePerProcess"
    if name == "whitenoise.middleware.WhiteNoiseMiddleware"
    else name
    for name in MIDDLEWARE  # noqa: F405
]
