"""deliver_notification: through the member's channels, once, with retries and a clear failure."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from datetime import time, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now

from directory.models import Member
from worker import dispatch
from worker import services as worker_services
from worker.exceptions import DeliveryUnavailable
from worker.models import Notification, NotificationPreference, NotificationSettings
from worker.tasks import deliver_notification as deliver_notification_task

pytestmark = pytest.mark.django_db
Notify = Callable[..., Notification]


def deliver(notification: Notification, **kwargs: Any) -> dispatch.Outcome:
    outcome = dispatch.deliver_notification(notification_id=notification.pk, **kwargs)
    notification.refresh_from_db()
    return outcome


def test_it_sends_one_email_without_patient_data(notify: Notify, demo: dict[str, Member]) -> None:
    notification = notify()

    assert deliver(notification) == dispatch.Outcome.DELIVERED

    assert notification.status == Notification.Status.DELIVERED
    assert notification.channel == "email"
    assert notification.email_sent_at is not None
    assert notification.delivered_at is not None
    assert notification.claim_token is None
    [email] = mail.outbox
    assert email.to == [demo["dr.martin"].user.email]
    assert email.subject == "CPTS Liaison : Notification de test demandée par Élise Fontaine"
    assert f"/notifications/{notification.code}/" in email.body
    assert "aucune donnée de patient" in email.body
    assert email.extra_headers["Message-ID"] == f"<notification.{notification.code}@127.0.0.1>"
    assert email.extra_headers["Auto-Submitted"] == "auto-generated"


def test_running_twice_sends_once(notify: Notify) -> None:
    notification = notify()

    deliver_notification_task(notification.pk)
    deliver_notification_task(notification.pk)

    assert len(mail.outbox) == 1
    assert deliver(notification) == dispatch.Outcome.SKIPPED


def test_an_in_app_preference_sends_no_email(notify: Notify, demo: dict[str, Member]) -> None:
    NotificationPreference.objects.create(
        member=demo["dr.martin"], event="notifications.test", channel="in_app"
    )
    notification = notify()

    assert deliver(notification) == dispatch.Outcome.DELIVERED

    assert notification.channel == "in_app"
    assert notification.email_sent_at is None
    assert mail.outbox == []


def test_an_in_app_event_sends_no_email(notify: Notify) -> None:
    notification = notify(event="notifications.welcome")
    deliver(notification)
    assert (notification.status, notification.channel) == (Notification.Status.DELIVERED, "in_app")
    assert mail.outbox == []


def test_a_member_without_email_is_told_in_app(notify: Notify, demo: dict[str, Member]) -> None:
    demo["dr.martin"].user.email = ""
    demo["dr.martin"].user.save(update_fields=["email"])
    notification = notify()
    deliver(notification)
    assert (notification.status, notification.channel) == (Notification.Status.DELIVERED, "in_app")
    assert mail.outbox == []


def test_a_digest_preference_waits_for_the_digest(notify: Notify, demo: dict[str, Member]) -> None:
    NotificationPreference.objects.create(
        member=demo["dr.martin"], event="notifications.test", channel="digest"
    )
    notification = notify()

    assert deliver(notification) == dispatch.Outcome.DIGEST

    assert (notification.status, notification.channel) == (Notification.Status.DIGEST, "digest")
    assert mail.outbox == []


@time_machine.travel("2026-03-10 22:00:00+01:00", tick=False)
def test_quiet_hours_hold_the_email_until_they_end(notify: Notify, demo: dict[str, Member]) -> None:
    NotificationSettings.objects.create(
        member=demo["dr.martin"], quiet_hours_start=time(20), quiet_hours_end=time(7, 30)
    )
    notification = notify()

    assert deliver(notification) == dispatch.Outcome.DEFERRED

    assert notification.status == Notification.Status.PENDING
    assert notification.due_at.isoformat() == "2026-03-11T06:30:00+00:00"  # 07:30 in Paris
    assert notification.attempts == 0
    assert notification.dispatched_at is None  # the sweep publishes it when it is due
    assert mail.outbox == []
    # Before the end, a stray message does nothing; after it, the e-mail goes.
    assert deliver(notification) == dispatch.Outcome.SKIPPED
    with time_machine.travel("2026-03-11 07:31:00+01:00", tick=False):
        assert deliver(notification) == dispatch.Outcome.DELIVERED
    assert len(mail.outbox) == 1


def test_a_notification_read_meanwhile_sends_no_email(notify: Notify) -> None:
    notification = notify()
    Notification.objects.filter(pk=notification.pk).update(read_at=now())
    deliver(notification)
    assert (notification.status, notification.channel) == (Notification.Status.DELIVERED, "in_app")
    assert mail.outbox == []


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        smtplib.SMTPResponseException(421, b"Service not available"),
        TimeoutError("timed out"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_a_transient_failure_is_retried_with_backoff(
    notify: Notify, smtp_fails: Callable[[BaseException | None], None], error: BaseException
) -> None:
    notification = notify()
    smtp_fails(error)
    moment = now()

    assert deliver(notification, at=moment) == dispatch.Outcome.RETRY

    assert notification.status == Notification.Status.PENDING
    assert notification.attempts == 1
    # base 30 s, -20 % jitter at most
    assert moment + timedelta(seconds=24) <= notification.due_at <= moment + timedelta(seconds=30)
    assert notification.last_error
    # The retry runs when due, and the server is back.
    smtp_fails(None)
    assert deliver(notification, at=notification.due_at) == dispatch.Outcome.DELIVERED
    assert len(mail.outbox) == 1


def test_a_long_backoff_waits_on_the_row_for_the_sweep_not_on_the_broker(
    notify: Notify,
    smtp_fails: Callable[[BaseException | None], None],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """No ETA message: the task does not retry itself, the sweep publishes the row when due."""
    notification = notify()
    smtp_fails(ConnectionRefusedError(111, "Connection refused"))

    # Called directly, a task's self.retry() raises: returning means it did not retry.
    assert deliver_notification_task(notification.pk) is None

    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (Notification.Status.PENDING, 1)
    assert notification.dispatched_at is None  # nothing on the broker for it
    due = notification.due_at
    assert due - now() > timedelta(seconds=dispatch.BROKER_COUNTDOWN_MAX)
    with django_capture_on_commit_callbacks() as callbacks:
        assert dispatch.sweep_outbox(at=due - timedelta(seconds=1)).published == 0
    assert callbacks == []

    smtp_fails(None)
    with django_capture_on_commit_callbacks() as callbacks:
        assert dispatch.sweep_outbox(at=due).published == 1  # the next sweep once it is due
    assert len(callbacks) == 1
    assert deliver(notification, at=due) == dispatch.Outcome.DELIVERED
    assert len(mail.outbox) == 1


def test_a_short_backoff_is_retried_with_a_countdown(
    notify: Notify,
    smtp_fails: Callable[[BaseException | None], None],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.NOTIFICATION_RETRY_BASE_DELAY = 2
    notification = notify()
    smtp_fails(ConnectionRefusedError(111, "Connection refused"))

    # Called directly, self.retry(exc=...) raises that exception instead of publishing.
    with pytest.raises(DeliveryUnavailable) as raised:
        deliver_notification_task(notification.pk)

    assert 1 <= raised.value.retry_in <= 2 <= dispatch.BROKER_COUNTDOWN_MAX
    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    # Published for then: the sweep leaves it to the countdown unless that message is lost.
    assert notification.dispatched_at == notification.due_at
    with django_capture_on_commit_callbacks() as callbacks:
        assert dispatch.sweep_outbox(at=notification.due_at).published == 0
    assert callbacks == []


def test_the_backoff_doubles_up_to_its_cap() -> None:
    delays = [dispatch.retry_delay(attempt) for attempt in range(1, 9)]
    assert all(
        low * 0.8 <= delay <= low
        for delay, low in zip(delays, [30, 60, 120, 240, 480, 600, 600, 600], strict=True)
    )


def test_it_gives_up_after_the_last_attempt(
    notify: Notify, smtp_fails: Callable[[BaseException | None], None], settings: Any
) -> None:
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    notification = notify()
    smtp_fails(ConnectionRefusedError(111, "Connection refused"))

    for hours_later in (1, 2):
        assert deliver(notification, at=now() + timedelta(hours=hours_later)) == (
            dispatch.Outcome.RETRY
        )
    assert deliver(notification, at=now() + timedelta(hours=3)) == dispatch.Outcome.FAILED

    assert notification.status == Notification.Status.FAILED
    assert notification.attempts == 3
    assert notification.last_error == "ConnectionRefusedError"


def test_a_permanent_refusal_fails_at_once(
    notify: Notify, smtp_fails: Callable[[BaseException | None], None]
) -> None:
    notification = notify()
    smtp_fails(smtplib.SMTPRecipientsRefused({"x@example.test": (550, b"No such user")}))

    assert deliver(notification) == dispatch.Outcome.FAILED

    assert notification.status == Notification.Status.FAILED
    assert notification.last_error.startswith("SMTP 550")


def test_a_bug_fails_once_and_loudly(
    notify: Notify, smtp_fails: Callable[[BaseException | None], None]
) -> None:
    notification = notify()
    smtp_fails(KeyError("a bug"))

    with pytest.raises(KeyError):
        deliver(notification)

    notification.refresh_from_db()
    assert (notification.status, notification.last_error) == (
        Notification.Status.FAILED,
        "KeyError",
    )


def test_a_row_that_keeps_killing_workers_ends_failed(notify: Notify, settings: Any) -> None:
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    notification = notify()
    # Two claims whose workers died (the sweep took the rows back each time).
    Notification.objects.filter(pk=notification.pk).update(attempts=2)

    assert deliver(notification) == dispatch.Outcome.FAILED
    assert mail.outbox == []


def test_a_worker_that_lost_its_claim_leaves_the_row_to_its_new_owner(
    notify: Notify, smtp_is_slow: Callable[[Callable[[], None]], None], settings: Any
) -> None:
    notification = notify()
    settings.NOTIFICATION_CLAIM_LEASE = 60

    def lease_expires_and_the_sweep_takes_the_row_back() -> None:
        dispatch.sweep_outbox(at=now() + timedelta(seconds=61))

    smtp_is_slow(lease_expires_and_the_sweep_takes_the_row_back)
    deliver(notification)

    assert (
        notification.status == Notification.Status.PENDING
    )  # to be delivered by its new owner, not marked
    assert notification.claim_token is None


def test_delivery_costs_a_bounded_number_of_queries(
    notify: Notify, django_assert_num_queries: Any
) -> None:
    dispatch.deliver_notification(notification_id=notify().pk)  # caches warmed
    notification = notify()
    # claim; row + recipient + actor + preference + quiet hours; outcome. On PostgreSQL the
    # claim and the read are one statement (worker.selectors.claim_notification_to_deliver).
    with django_assert_num_queries(2 if connection.vendor == "postgresql" else 3):
        dispatch.deliver_notification(notification_id=notification.pk)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")
def test_the_claim_is_prepared_once_per_database_session(
    notify: Notify, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.settings_dict["OPTIONS"].get("server_side_binding") is not True:
        pytest.skip("DB_PREPARED_STATEMENTS=off: nothing is prepared")
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # a fresh session, as far as statements go
    # DB_PREPARE_THRESHOLD's default (the test settings turn preparing off: tests/settings.py).
    threshold = 5
    monkeypatch.setattr(connection.connection, "prepare_threshold", threshold)

    for _ in range(threshold):
        assert deliver(notify()) == dispatch.Outcome.DELIVERED
    assert prepared_claims() == []  # run as text, planned each time, up to the threshold
    for _ in range(3):
        assert deliver(notify()) == dispatch.Outcome.DELIVERED

    [(executions, statement)] = prepared_claims()  # prepared once, then only executed
    assert executions == 3
    assert "set_config('synchronous_commit', 'off', true)" not in statement  # in a transaction


def test_the_link_of_an_email_starts_with_the_configured_address(
    notify: Notify, settings: Any
) -> None:
    settings.SITE_URL = "https://liaison.cpts-sud.fr"
    notification = notify()

    assert deliver(notification) == dispatch.Outcome.DELIVERED

    [email] = mail.outbox
    links = [word for word in email.body.split() if "://" in word]
    assert links, email.body
    assert all(link.startswith("https://liaison.cpts-sud.fr/") for link in links), links
    assert f"https://liaison.cpts-sud.fr/notifications/{notification.code}/" in links
    assert "127.0.0.1" not in email.body
    assert email.extra_headers["Message-ID"].endswith("@liaison.cpts-sud.fr>")


@pytest.fixture
def kept_from_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """A transactional test's notification is committed, and on commit published to this
    run's queue, where the real worker an earlier test of the process started would deliver
    it first. The tests that deliver it themselves keep it off the queue."""
    monkeypatch.setattr(worker_services, "publish_notifications", lambda notification_ids: None)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the claim's WITH: PostgreSQL")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("kept_from_the_worker")
def test_only_the_claim_commits_without_waiting_for_the_disk(notify: Notify) -> None:
    notification = notify()
    session_setting = synchronous_commit()  # the server's, or the test settings' "off"

    with CaptureQueriesContext(connection) as queries:
        assert dispatch.deliver_notification(notification_id=notification.pk) == "delivered"

    claim, mark = (query["sql"] for query in queries.captured_queries)
    assert claim.startswith("WITH claimed AS (UPDATE")
    assert "set_config('synchronous_commit', 'off', true)" in claim  # its transaction only
    assert "synchronous_commit" not in mark  # the mark waits for the flush, the claim's too
    assert synchronous_commit() == session_setting  # the session's own setting is untouched


def prepared_claims() -> list[tuple[int, str]]:
    """The claims this session has prepared: how many times each ran prepared, its text."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans, statement FROM pg_prepared_statements "
            "WHERE statement LIKE 'WITH claimed AS (UPDATE%%'"
        )
        return [(int(runs), str(statement)) for runs, statement in cursor.fetchall()]


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the claim's WITH: PostgreSQL")
def test_a_claim_inside_a_callers_transaction_leaves_its_commit_alone(notify: Notify) -> None:
    notification = notify()  # in the test's transaction

    with CaptureQueriesContext(connection) as queries:
        dispatch.deliver_notification(notification_id=notification.pk)

    assert any(query["sql"].startswith("WITH claimed") for query in queries.captured_queries)
    assert not any("synchronous_commit" in query["sql"] for query in queries.captured_queries)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the claim's WITH: PostgreSQL")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("kept_from_the_worker")
def test_a_claim_deallocated_behind_its_back_is_prepared_again(notify: Notify) -> None:
    assert deliver(notify()) == dispatch.Outcome.DELIVERED  # prepared on this session
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # as DISCARD ALL or a pooler's reset would

    assert deliver(notify()) == dispatch.Outcome.DELIVERED
    assert len(mail.outbox) == 2
