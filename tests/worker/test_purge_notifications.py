"""purge_notifications: delivered and read notifications go after their retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils.timezone import now

from worker import dispatch
from worker.models import Notification

pytestmark = pytest.mark.django_db
Notify = Callable[..., Notification]


def aged(notification: Notification, *, days: int, status: str, read: bool) -> Notification:
    moment = now() - timedelta(days=days)
    Notification.objects.filter(pk=notification.pk).update(
        created_at=moment,
        status=status,
        delivered_at=moment if status == Notification.Status.DELIVERED else None,
        read_at=moment if read else None,
    )
    return notification


def test_it_deletes_only_old_delivered_and_read_notifications(notify: Notify) -> None:
    gone = aged(notify(), days=91, status=Notification.Status.DELIVERED, read=True)
    unread = aged(notify(), days=91, status=Notification.Status.DELIVERED, read=False)
    failed = aged(notify(), days=91, status=Notification.Status.FAILED, read=True)
    recent = aged(notify(), days=89, status=Notification.Status.DELIVERED, read=True)

    assert dispatch.purge_notifications() == 1

    remaining = set(Notification.objects.values_list("pk", flat=True))
    assert remaining == {unread.pk, failed.pk, recent.pk}
    assert gone.pk not in remaining
    assert dispatch.purge_notifications() == 0  # safe to run twice


def test_the_retention_is_a_setting(notify: Notify, settings: Any) -> None:
    settings.NOTIFICATION_RETENTION_DAYS = 30
    aged(notify(), days=31, status=Notification.Status.DELIVERED, read=True)
    assert dispatch.purge_notifications() == 1


def test_it_deletes_in_batches_of_two_queries(
    notify: Notify, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.NOTIFICATION_BATCH_SIZE = 2
    for _ in range(4):
        aged(notify(), days=100, status=Notification.Status.DELIVERED, read=True)
    # 2 full batches (select ids, delete) and a last select that finds nothing.
    with django_assert_num_queries(2 * 2 + 1):
        assert dispatch.purge_notifications() == 4
