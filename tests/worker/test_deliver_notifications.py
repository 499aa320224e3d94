"""One delivery message per write: the notifications of a write travel together.

A referral sent to a service tells each of its members; publishing one Celery message per
member cost each a broker round trip in the request. They now go as one message of ids
(up to IDS_PER_MESSAGE), delivered one after the other with the same claims, so nothing is
sent twice and one member's failing channel does not hold back the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail

from config.celery import app
from worker import dispatch, publishing
from worker.exceptions import DeliveryUnavailable
from worker.models import Notification
from worker.tasks import deliver_notification, deliver_notifications

pytestmark = pytest.mark.django_db
Notify = Callable[..., Notification]


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """The (task name, args) of every message publish_notifications sends."""
    sent: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(
        app, "send_task", lambda name, args, producer: sent.append((name, tuple(args)))
    )
    return sent


def test_one_id_goes_alone_as_before(published: list[tuple[str, tuple[Any, ...]]]) -> None:
    publishing.publish_notifications([41])

    assert published == [(publishing.DELIVER_NOTIFICATION, (41,))]


def test_the_ids_of_a_write_go_in_one_message(
    published: list[tuple[str, tuple[Any, ...]]],
) -> None:
    publishing.publish_notifications([41, 42, 43])

    assert published == [(publishing.DELIVER_NOTIFICATIONS, ([41, 42, 43],))]


def test_a_sweep_s_many_ids_are_spread_over_several_messages(
    published: list[tuple[str, tuple[Any, ...]]],
) -> None:
    ids = list(range(1, 2 * publishing.IDS_PER_MESSAGE + 2))

    publishing.publish_notifications(ids)

    chunks = [args[0] for _name, args in published]
    assert [name for name, _args in published] == [publishing.DELIVER_NOTIFICATIONS] * 3
    assert [len(chunk) for chunk in chunks] == [8, 8, 1]
    assert [notification_id for chunk in chunks for notification_id in chunk] == ids
    published.clear()
    publishing.publish_notifications([])
    assert published == []


def test_every_notification_of_the_message_is_delivered_once(notify: Notify) -> None:
    first, second = notify(recipient="dr.martin"), notify(recipient="ide.petit")

    deliver_notifications([first.pk, second.pk])
    deliver_notifications([first.pk, second.pk])  # the message redelivered

    assert len(mail.outbox) == 2
    statuses = Notification.objects.filter(pk__in=[first.pk, second.pk]).values_list(
        "status", flat=True
    )
    assert set(statuses) == {Notification.Status.DELIVERED}
    assert deliver_notifications.acks_late
    assert deliver_notifications.reject_on_worker_lost


def test_a_channel_down_retries_its_row_alone_and_the_others_go(
    notify: Notify, monkeypatch: pytest.MonkeyPatch
) -> None:
    down, fine = notify(recipient="dr.martin"), notify(recipient="ide.petit")
    real = dispatch.deliver_notification
    retried: list[tuple[tuple[Any, ...], int]] = []

    def deliver(*, notification_id: int) -> dispatch.Outcome:
        if notification_id == down.pk:
            raise DeliveryUnavailable("SMTP down", retry_in=7)
        return real(notification_id=notification_id)

    monkeypatch.setattr(dispatch, "deliver_notification", deliver)
    monkeypatch.setattr(
        deliver_notification,
        "apply_async",
        lambda args, countdown: retried.append((tuple(args), countdown)),
    )

    deliver_notifications([down.pk, fine.pk])

    assert retried == [((down.pk,), 7)]
    fine.refresh_from_db()
    assert fine.status == Notification.Status.DELIVERED
    assert [email.to for email in mail.outbox] == [[fine.recipient.user.email]]


def test_a_bug_on_one_row_fails_the_task_after_the_others_went(
    notify: Notify, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken, fine = notify(recipient="dr.martin"), notify(recipient="ide.petit")
    real = dispatch.deliver_notification

    def deliver(*, notification_id: int) -> dispatch.Outcome:
        if notification_id == broken.pk:
            raise RuntimeError("a bug")
        return real(notification_id=notification_id)

    monkeypatch.setattr(dispatch, "deliver_notification", deliver)

    with pytest.raises(RuntimeError, match="a bug"):
        deliver_notifications([broken.pk, fine.pk])

    fine.refresh_from_db()
    assert fine.status == Notification.Status.DELIVERED
