"""sweep_outbox: what a Redis outage, a lost message or a killed worker left behind."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils.timezone import now

from worker import dispatch
from worker.models import Notification

pytestmark = pytest.mark.django_db
Notify = Callable[..., Notification]


def claimed(
    notification: Notification, *, status: str, seconds_ago: int, attempts: int = 1
) -> None:
    Notification.objects.filter(pk=notification.pk).update(
        status=status,
        claimed_at=now() - timedelta(seconds=seconds_ago),
        claim_token=uuid.uuid4(),
        attempts=attempts,
    )


def test_it_publishes_again_a_row_whose_message_was_lost(
    notify: Notify, django_capture_on_commit_callbacks: Any
) -> None:
    notification = notify()  # published at commit... into a broker that was down

    with django_capture_on_commit_callbacks() as callbacks:
        too_soon = dispatch.sweep_outbox(at=now() + timedelta(seconds=30))
    assert too_soon.published == 0
    assert callbacks == []

    later = now() + timedelta(seconds=61)
    with django_capture_on_commit_callbacks() as callbacks:
        report = dispatch.sweep_outbox(at=later)
    assert report.published == 1
    assert len(callbacks) == 1  # published after the marks commit
    notification.refresh_from_db()
    assert notification.dispatched_at == later
    # The next sweep, a few seconds later, does not publish it once more.
    assert dispatch.sweep_outbox(at=later + timedelta(seconds=5)).published == 0


def test_it_takes_back_the_claim_of_a_dead_worker(
    notify: Notify, django_capture_on_commit_callbacks: Any
) -> None:
    notification = notify()
    fresh = notify()
    claimed(notification, status=Notification.Status.SENDING, seconds_ago=601)
    claimed(fresh, status=Notification.Status.SENDING, seconds_ago=30)

    with django_capture_on_commit_callbacks() as callbacks:
        report = dispatch.sweep_outbox()

    assert (report.reclaimed, report.published) == (1, 1)
    assert len(callbacks) == 1
    notification.refresh_from_db()
    fresh.refresh_from_db()
    assert (notification.status, notification.claim_token) == (Notification.Status.PENDING, None)
    assert fresh.status == Notification.Status.SENDING  # its worker is still within its lease


def test_it_gives_up_on_a_row_that_keeps_killing_workers(notify: Notify, settings: Any) -> None:
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    notification = notify()
    claimed(notification, status=Notification.Status.SENDING, seconds_ago=601, attempts=3)

    report = dispatch.sweep_outbox()

    notification.refresh_from_db()
    assert (report.failed, notification.status) == (1, Notification.Status.FAILED)


def test_it_gives_a_dead_digest_back_to_the_digest(notify: Notify) -> None:
    notification = notify()
    claimed(notification, status=Notification.Status.DIGESTING, seconds_ago=601)
    dispatch.sweep_outbox()
    notification.refresh_from_db()
    assert notification.status == Notification.Status.DIGEST


def test_it_publishes_rows_whose_quiet_hours_ended(notify: Notify) -> None:
    notification = notify()
    Notification.objects.filter(pk=notification.pk).update(
        due_at=now() + timedelta(hours=8), dispatched_at=None
    )
    assert dispatch.sweep_outbox().published == 0
    assert dispatch.sweep_outbox(at=now() + timedelta(hours=8)).published == 1


def test_it_works_in_batches_of_bounded_queries(
    notify: Notify, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.NOTIFICATION_BATCH_SIZE = 2
    for _ in range(5):
        notify()
    later = now() + timedelta(minutes=5)

    # 3 claim take-backs; then per batch: savepoint, select (SKIP LOCKED), update, release,
    # for 3 batches (2 + 2 + 1).
    with django_assert_num_queries(3 + 3 * 4):
        report = dispatch.sweep_outbox(at=later)

    assert report.published == 5
