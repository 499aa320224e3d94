"""Shared fixtures: API clients, the demo CPTS as personas, a real Celery worker."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import translation
from pytest_django import DjangoDbBlocker
from rest_framework.test import APIClient

from directory.demo import load_directory
from directory.models import Member
from security import audit
from security.actions import register_action
from tests.demo_snapshot import DemoSnapshot, take_snapshot

# The local Pro Santé Connect provider, for the PSC login tests (tools/psc-sandbox/).
from tests.psc_sandbox import psc, psc_sandbox  # noqa: F401

pytest_plugins = ["tests.worker_process", "tests.push_server"]

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# between page actions are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Actions only the tests record: the audit trail's own tests need entries about something.
# Every other action is declared by its app (security/actions.py), and AUDIT_STRICT_ACTIONS
# makes record() refuse an undeclared one in the tests.
TEST_ACTIONS = (
    "member.read",
    "member.update",
    "membership.update",
    "organisation.read",
    "organisation.update",
    "outbox.sweep",
    "test.append",
    "test.before",
    "test.hold",
    "test.wait",
)
for _name in TEST_ACTIONS:
    register_action(_name, f"Action de test ({_name})")


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    """Each test starts with an empty cache: throttle and login-guard counters live there.

    The test cache is per process (tests/settings.py), so without this the failed logins of
    one test would slow down or block the next test's logins from the same address.
    """
    cache.clear()


HOME_SHARD = audit._home_shard  # the real one, for the tests of the home chains themselves


@pytest.fixture(autouse=True)
def fresh_audit_head(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's first audit entry reads its chain's head, as a new process's does, and
    starts from chain 0.

    A thread remembers where it last appended (security.audit), and the test database is
    emptied between tests: without this, a test's first entry would cost one statement more
    or not depending on the test before it, and the pinned query counts would wobble.
    A writer's home chain follows its process id (`_home_shard`), which differs from one
    xdist worker to the next: the tests append as a process whose home is chain 0, so that
    the chains and the messages they pin (shard 0 speaks as the single chain did) stay the
    same everywhere. tests/security/test_audit_shards.py checks the real homes (HOME_SHARD).
    """
    audit._forget_head()
    audit._affinity.__dict__.pop("shard", None)
    monkeypatch.setattr(audit, "_home_shard", lambda shards: 0)


@pytest.fixture(autouse=True)
def french_by_default() -> Iterator[None]:
    """Each test starts in the site's language and leaves no other one behind.

    LocaleMiddleware activates the language of a request in the thread and leaves it there:
    a test asking for English pages would otherwise turn the next tests of its process
    (which pytest-xdist orders differently each run) into English ones.
    """
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(scope="session")
def demo_snapshot(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> DemoSnapshot:
    """The demo's rows, built once (and rolled back) before the first test that asks for it."""
    with django_db_blocker.unblock():
        return take_snapshot(lambda: load_directory(password="demo"))


def load_full_demo() -> dict[str, Member]:
    """What `manage.py load_demo` builds: the directory, sheets, conversations, protocols..."""
    call_command("load_demo", stdout=io.StringIO())
    return {member.user.username: member for member in Member.objects.select_related("user")}


@pytest.fixture(scope="session")
def full_demo_snapshot(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> DemoSnapshot:
    """Every row `manage.py load_demo` adds, built once (and rolled back) per session."""
    with django_db_blocker.unblock():
        return take_snapshot(load_full_demo)


@pytest.fixture
def full_demo(db: None, full_demo_snapshot: DemoSnapshot) -> dict[str, Member]:
    """The whole demo CPTS, as `manage.py load_demo` leaves it, replayed like `demo`."""
    return replay_or_load(full_demo_snapshot, load_full_demo)


@pytest.fixture
def demo(db: None, demo_snapshot: DemoSnapshot) -> dict[str, Member]:
    """The demo CPTS: personas by login (dr.martin, ide.petit, hop.cardio, coord, ...).

    Every test gets the session's snapshot replayed. A test in a transaction (the usual
    case) has it rolled back with the rest of the test; a transactional test (real worker,
    live server) commits it, and its tables are flushed afterwards as for anything else it
    writes.
    """
    return replay_or_load(demo_snapshot, lambda: load_directory(password="demo"))


def replay_or_load(
    snapshot: DemoSnapshot, load: Callable[[], dict[str, Member]]
) -> dict[str, Member]:
    """The snapshot's rows inserted again, or `load()` if the test already took their ids."""
    try:
        with transaction.atomic():
            return snapshot.replay()
    except IntegrityError:
        # The test wrote rows before asking for the demo and took the snapshot's ids.
        return load()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for() -> Callable[[Member], APIClient]:
    """`client_for(member)`: a new API client authenticated as that member.

    A new client each call, so `gp = client_for(a); cardio = client_for(b)` stay distinct.
    """

    def authenticate(member: Member) -> APIClient:
        client = APIClient()
        client.force_authenticate(member.user)
        return client

    return authenticate
