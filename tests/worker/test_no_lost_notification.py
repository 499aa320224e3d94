"""A notification survives a Redis outage and a worker killed mid-delivery, and arrives once.

Real processes only: a private redis-server on a spare port (stopped and restarted; the
machine's own Redis is never touched), a real Celery worker process sending through SMTP to
a local sink (aiosmtpd), and this process committing notifications and running the sweep as
beat would. They run on SQLite locally and on PostgreSQL in CI.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils.timezone import now

from directory.models import Member
from tests.worker_process import RedisServer, SmtpSink, WorkerProcess, publishing_to, wait_until
from worker import dispatch
from worker.models import Notification, WorkerHeartbeat
from worker.publishing import publish_notifications
from worker.services import enqueue_notification, notify
from worker.tasks import record_heartbeat as record_heartbeat_task

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
StartWorker = Callable[..., WorkerProcess]


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def holding_sink() -> Iterator[SmtpSink]:
    """An SMTP server that keeps the first message's sender waiting (mid-delivery)."""
    server = SmtpSink(hold_first=True)
    server.start()
    yield server
    server.stop()


def commit_a_notification(demo: dict[str, Member]) -> Notification:
    """A change and its notification, committed by "the web" (this process)."""
    with transaction.atomic():
        return enqueue_notification(
            recipient=demo["dr.martin"],
            event="notifications.test",  # e-mail by default
            actor=demo["coord"],
            url="/notifications/",
        )


def status_of(notification: Notification) -> str:
    notification.refresh_from_db()
    return notification.status


def test_it_survives_a_broker_outage(
    demo: dict[str, Member],
    private_redis: RedisServer,
    sink: SmtpSink,
    start_worker: StartWorker,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = start_worker("outage", REDIS_URL=private_redis.url, EMAIL_URL=sink.url)
    with publishing_to(private_redis.url):
        private_redis.stop()  # Redis goes down between the commit and the dispatch

        started = time.monotonic()
        with caplog.at_level(logging.ERROR, logger="django.db.backends.base"):
            notification = commit_a_notification(demo)
        assert time.monotonic() - started < 10  # the request gave up publishing quickly
        assert "in on_commit()" in caplog.text  # logged, not raised: the change committed
        assert status_of(notification) == Notification.Status.PENDING

        private_redis.start()  # back, empty: the message was never published
        # What beat does every minute, once NOTIFICATION_REDISPATCH_AFTER has passed.
        later = now() + timedelta(seconds=settings.NOTIFICATION_REDISPATCH_AFTER + 1)
        assert dispatch.sweep_outbox(at=later).published == 1

        arrived = wait_until(lambda: sink.messages_for(str(notification.code)), timeout=60)
    assert arrived, f"the notification did not arrive; worker log:\n{worker.log()}"
    assert len(sink.messages_for(str(notification.code))) == 1
    # The sink has the message before the worker, back from SMTP, marks the row delivered.
    assert wait_until(lambda: status_of(notification) == Notification.Status.DELIVERED)


def test_the_notifications_of_one_write_arrive_once_each(
    demo: dict[str, Member], private_redis: RedisServer, sink: SmtpSink, start_worker: StartWorker
) -> None:
    """Published together (one deliver_notifications message), delivered by a real worker."""
    worker = start_worker("together", REDIS_URL=private_redis.url, EMAIL_URL=sink.url)
    with publishing_to(private_redis.url), transaction.atomic():
        notifications = notify(
            event="notifications.test",
            recipients=[demo["dr.martin"], demo["ide.petit"]],
            actor=demo["coord"],
            target=None,
            url="/notifications/",
        )
    assert len(notifications) == 2
    for notification in notifications:
        arrived = wait_until(lambda n=notification: sink.messages_for(str(n.code)), timeout=60)
        assert arrived, f"a notification did not arrive; worker log:\n{worker.log()}"
    for notification in notifications:
        assert len(sink.messages_for(str(notification.code))) == 1
        assert wait_until(lambda n=notification: status_of(n) == Notification.Status.DELIVERED)


def test_it_survives_a_worker_killed_mid_delivery_and_sends_once(
    demo: dict[str, Member],
    private_redis: RedisServer,
    holding_sink: SmtpSink,
    start_worker: StartWorker,
    settings: Any,
) -> None:
    env = {"REDIS_URL": private_redis.url, "EMAIL_URL": holding_sink.url}
    worker = start_worker("killed", **env)
    with publishing_to(private_redis.url):
        notification = commit_a_notification(demo)

        # The worker is in the middle of the SMTP conversation...
        assert holding_sink.holding.wait(timeout=60), worker.log()
        assert status_of(notification) == Notification.Status.SENDING
        worker.kill(signal.SIGKILL)  # ...and dies there.
        assert worker.process is not None
        assert worker.process.returncode == -signal.SIGKILL
        holding_sink.release()  # the server gives up on the dead connection: nothing accepted
        assert holding_sink.accepted == []
        assert status_of(notification) == Notification.Status.SENDING

        worker.start()  # restarted, as a supervisor would
        # Once the dead worker's lease expires, the sweep takes the row back and publishes it.
        later = now() + timedelta(seconds=settings.NOTIFICATION_CLAIM_LEASE + 1)
        report = dispatch.sweep_outbox(at=later)
        assert (report.reclaimed, report.published) == (1, 1)

        arrived = wait_until(lambda: holding_sink.messages_for(str(notification.code)), timeout=60)
        assert arrived, f"the notification did not arrive; worker log:\n{worker.log()}"
        assert wait_until(lambda: status_of(notification) == Notification.Status.DELIVERED)

        # The killed worker's message may still come back from Redis: it changes nothing.
        publish_notifications([notification.pk])
        record_heartbeat_task.delay()  # queued behind it: once it ran, the duplicate did too
        assert wait_until(WorkerHeartbeat.objects.exists, timeout=60), worker.log()

    assert len(holding_sink.messages_for(str(notification.code))) == 1
    notification.refresh_from_db()
    assert notification.attempts == 2  # the killed attempt, and the one that delivered
