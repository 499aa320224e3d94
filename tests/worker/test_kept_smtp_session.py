"""A worker keeps one mail-server session across deliveries (worker.emails), reopened after
an error or when the server dropped it while idle, and closed at worker shutdown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery.signals import task_postrun, task_prerun
from django.core import mail

from config.celery import close_kept_connections, keep_connections_open
from tests.worker.email_backends import FailingBackend, SessionBackend
from worker import dispatch, emails
from worker.models import Notification

pytestmark = pytest.mark.django_db
Notify = Callable[..., Notification]


@pytest.fixture
def kept_session(settings: Any) -> Iterator[None]:
    settings.EMAIL_BACKEND = "tests.worker.email_backends.SessionBackend"
    SessionBackend.opened = SessionBackend.closed = 0
    conn_max_age = {alias: db.get("CONN_MAX_AGE") for alias, db in settings.DATABASES.items()}
    keep_connections_open()  # what the worker does at start
    yield
    task_prerun.disconnect(dispatch_uid="cpts-before-task")
    task_postrun.disconnect(dispatch_uid="cpts-after-task")
    close_kept_connections()
    emails.keep_smtp_connection_open(False)
    SessionBackend.drop_next = False
    for alias, age in conn_max_age.items():
        settings.DATABASES[alias]["CONN_MAX_AGE"] = age
        settings.DATABASES[alias]["CONN_HEALTH_CHECKS"] = False


def deliver(notification: Notification) -> dispatch.Outcome:
    return dispatch.deliver_notification(notification_id=notification.pk)


def test_deliveries_share_one_session_until_the_worker_stops(
    kept_session: None, notify: Notify, settings: Any
) -> None:
    for _ in range(3):
        assert deliver(notify()) == dispatch.Outcome.DELIVERED

    assert len(mail.outbox) == 3
    assert (SessionBackend.opened, SessionBackend.closed) == (1, 0)
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == settings.WORKER_DB_CONN_MAX_AGE
    close_kept_connections()  # worker shutdown
    assert SessionBackend.closed == 1


def test_a_session_dropped_by_the_server_is_reopened_and_the_email_sent(
    kept_session: None, notify: Notify
) -> None:
    assert deliver(notify()) == dispatch.Outcome.DELIVERED
    SessionBackend.drop_next = True

    assert deliver(notify()) == dispatch.Outcome.DELIVERED

    assert len(mail.outbox) == 2
    assert (SessionBackend.opened, SessionBackend.closed) == (2, 1)


def test_a_failed_delivery_closes_the_session_and_the_next_opens_a_fresh_one(
    kept_session: None, notify: Notify, settings: Any
) -> None:
    assert deliver(notify()) == dispatch.Outcome.DELIVERED
    settings.EMAIL_BACKEND = "tests.worker.email_backends.FailingBackend"
    emails.close_smtp_connection()  # the new backend takes effect on the next session
    FailingBackend.error = OSError("connection refused")
    try:
        failing = notify()
        assert deliver(failing) == dispatch.Outcome.RETRY
    finally:
        FailingBackend.error = None
    settings.EMAIL_BACKEND = "tests.worker.email_backends.SessionBackend"

    assert deliver(notify()) == dispatch.Outcome.DELIVERED

    assert SessionBackend.opened == 2
    assert emails._session.backend is not None


def test_a_fresh_session_that_fails_is_not_retried(kept_session: None, notify: Notify) -> None:
    SessionBackend.drop_next = True  # on the session just opened: a real failure

    assert deliver(notify()) == dispatch.Outcome.RETRY

    assert mail.outbox == []
    assert (SessionBackend.opened, SessionBackend.closed) == (1, 1)
