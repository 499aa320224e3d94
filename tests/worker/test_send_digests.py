"""send_digests: one e-mail a day per member, links only, outside their quiet hours."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from directory.models import Member
from worker import dispatch
from worker.models import Notification, NotificationSettings

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
Notify = Callable[..., Notification]
EVENING = datetime(2026, 6, 1, 18, 0, tzinfo=PARIS)
MORNING = datetime(2026, 6, 2, 7, 5, tzinfo=PARIS)


@pytest.fixture
def waiting(notify: Notify) -> Callable[..., Notification]:
    """A notification waiting for its recipient's digest, created yesterday evening."""

    def make(recipient: str = "dr.martin", at: datetime = EVENING) -> Notification:
        notification = notify(recipient=recipient)
        Notification.objects.filter(pk=notification.pk).update(
            status=Notification.Status.DIGEST, channel="digest", created_at=at, attempts=1
        )
        return notification

    return make


def test_it_sends_one_email_per_member_with_links_only(
    waiting: Callable[..., Notification], demo: dict[str, Member]
) -> None:
    first, second = waiting(), waiting()
    other = waiting(recipient="ide.petit")

    assert dispatch.send_digests(at=MORNING) == 2

    assert sorted(email.to[0] for email in mail.outbox) == [
        demo["dr.martin"].user.email,
        demo["ide.petit"].user.email,
    ]
    [email] = [e for e in mail.outbox if e.to == [demo["dr.martin"].user.email]]
    assert email.subject == "CPTS Liaison : 2 notifications en attente"
    assert f"/notifications/{first.code}/" in email.body
    assert f"/notifications/{second.code}/" in email.body
    assert f"/notifications/{other.code}/" not in email.body
    assert "aucune donnée de patient" in email.body
    for notification in (first, second, other):
        notification.refresh_from_db()
        assert notification.status == Notification.Status.DELIVERED
        assert notification.email_sent_at is not None


def test_running_twice_sends_once(waiting: Callable[..., Notification]) -> None:
    waiting()
    assert dispatch.send_digests(at=MORNING) == 1
    assert dispatch.send_digests(at=MORNING + timedelta(hours=1)) == 0
    assert len(mail.outbox) == 1


def test_todays_notifications_wait_for_tomorrow(waiting: Callable[..., Notification]) -> None:
    today = waiting(at=MORNING + timedelta(minutes=1))
    assert dispatch.send_digests(at=MORNING + timedelta(hours=3)) == 0
    assert dispatch.send_digests(at=MORNING + timedelta(days=1)) == 1
    today.refresh_from_db()
    assert today.status == Notification.Status.DELIVERED


def test_a_member_in_quiet_hours_gets_it_when_they_end(
    waiting: Callable[..., Notification], demo: dict[str, Member]
) -> None:
    NotificationSettings.objects.create(
        member=demo["dr.martin"], quiet_hours_start=time(20), quiet_hours_end=time(8, 30)
    )
    waiting()
    assert dispatch.send_digests(at=MORNING) == 0
    assert dispatch.send_digests(at=MORNING.replace(hour=9)) == 1


def test_read_notifications_are_left_out(waiting: Callable[..., Notification]) -> None:
    read = waiting()
    Notification.objects.filter(pk=read.pk).update(read_at=EVENING)
    assert dispatch.send_digests(at=MORNING) == 0
    assert mail.outbox == []
    read.refresh_from_db()
    assert read.status == Notification.Status.DELIVERED


def test_a_failed_digest_is_tried_again_at_the_next_run(
    waiting: Callable[..., Notification], smtp_fails: Callable[[BaseException | None], None]
) -> None:
    notification = waiting()
    smtp_fails(smtplib.SMTPServerDisconnected("down"))
    assert dispatch.send_digests(at=MORNING) == 0
    notification.refresh_from_db()
    assert (notification.status, notification.last_error) == (
        Notification.Status.DIGEST,
        "SMTPServerDisconnected",
    )

    smtp_fails(None)
    assert dispatch.send_digests(at=MORNING + timedelta(hours=1)) == 1


def test_queries_are_bounded_per_member(
    waiting: Callable[..., Notification], django_assert_num_queries: Any
) -> None:
    for _ in range(3):
        waiting()
        waiting(recipient="ide.petit")
    # members, their quiet hours; then per member: claim, rows, mark.
    with django_assert_num_queries(2 + 2 * 3):
        assert dispatch.send_digests(at=MORNING) == 2
