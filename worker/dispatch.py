"""The dispatcher: delivers outbox rows, sweeps the outbox, sends digests, purges old rows.

These are the services behind the Celery tasks (worker/tasks.py). The invariant this module
owns: a notification is never lost and is delivered once. Every step starts with a claim, a
conditional UPDATE that only one caller can win, and every claim carries a token and a time:

- a task that runs twice (redelivered message, sweep and retry racing) loses the claim and
  does nothing;
- a worker killed while it holds a claim leaves the row `sending`; once the lease expires,
  the sweep puts it back to `pending` and publishes it again;
- the e-mail is marked sent right after the SMTP server accepted it. A crash between the
  two is the one window where an e-mail can go twice (SMTP is at-least-once there); the
  Message-ID is stable, so mail clients show it once.

Nothing here sleeps or schedules far in the future on the broker: quiet hours and backoffs
are a `due_at` on the row, and the sweep publishes rows when they come due. Only a retry due
within BROKER_COUNTDOWN_MAX seconds goes back to the broker as a countdown.
"""

from __future__ import annotations

import logging
import random
import smtplib
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils.timezone import now

from worker import emails, selectors
from worker.events import Channel
from worker.exceptions import DeliveryUnavailable
from worker.models import Notification, NotificationSettings
from worker.publishing import publish_notifications

logger = logging.getLogger(__name__)

IN_FLIGHT = {
    Notification.Status.SENDING: Notification.Status.PENDING,
    Notification.Status.DIGESTING: Notification.Status.DIGEST,
}
# Network and SMTP errors that may pass, and a server too slow for the soft time limit;
# anything else is a bug and fails once, loudly.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    smtplib.SMTPException,
    OSError,
    SoftTimeLimitExceeded,
)
# A job stops starting new batches after this many seconds (the soft time limit is 60 s);
# what is left waits for the next run.
JOB_TIME_BUDGET = 30.0
# A retry or the end of quiet hours may come due a little early on another worker's clock.
CLOCK_TOLERANCE = timedelta(seconds=5)
# The longest retry left to the broker as a countdown, in seconds. A Celery countdown is an
# ETA message: the worker takes it at once, outside prefetch=1, and holds it unacknowledged
# until it is due, where a dying worker strands it and Redis redelivers it past the
# visibility timeout. A few seconds of that is harmless; anything longer waits on the row
# (`due_at`), and the sweep, every minute, publishes it when due.
BROKER_COUNTDOWN_MAX = 10


class Outcome(StrEnum):
    SKIPPED = "skipped"  # not ours: delivered already, claimed by another worker, not due
    DELIVERED = "delivered"
    DIGEST = "digest"  # waits for the daily digest
    DEFERRED = "deferred"  # quiet hours: back to pending until they end
    RETRY = "retry"  # transient failure: back to pending, the sweep publishes it when due
    FAILED = "failed"


def retry_delay(attempt: int) -> int:
    """Exponential backoff: base * 2**(attempt - 1) seconds, capped, minus up to 20 % jitter."""
    base = settings.NOTIFICATION_RETRY_BASE_DELAY * 2 ** max(0, attempt - 1)
    delay = min(base, settings.NOTIFICATION_RETRY_MAX_DELAY)
    return max(1, round(delay * random.uniform(0.8, 1.0)))  # noqa: S311  (not cryptographic)


# --- One notification ------------------------------------------------------------------------


def deliver_notification(*, notification_id: int, at: datetime | None = None) -> Outcome:
    """Deliver one outbox row through the recipient's channels. Running it twice sends once.

    After a transient failure the row is back to pending with its next attempt due: a retry
    due within BROKER_COUNTDOWN_MAX seconds raises DeliveryUnavailable (the task retries
    with that countdown); a later one returns Outcome.RETRY and waits for the sweep.
    """
    at = at or now()
    token = uuid.uuid4()
    where = {"status": Notification.Status.PENDING, "due_at__lte": at + CLOCK_TOLERANCE}
    claim = {
        "status": Notification.Status.SENDING,
        "claimed_at": at,
        "claim_token": token,
        "attempts": F("attempts") + 1,
    }
    if selectors.claims_with_read():
        # One round trip instead of two before the e-mail leaves: it is on the path from
        # the commit to the mailbox (bench/notifications.py).
        notification = selectors.claim_notification_to_deliver(
            notification_id, claim=claim, where=where
        )
        if notification is None:
            return Outcome.SKIPPED  # as below
    else:
        claimed = Notification.objects.filter(pk=notification_id, **where).update(**claim)
        if claimed != 1:
            # Delivered already, held by another worker, or not due: a duplicate message, or
            # a retry that the sweep beat. Nothing to do, and nothing to retry.
            return Outcome.SKIPPED
        notification = selectors.notification_to_deliver(notification_id)
    try:
        return _deliver_claimed(notification, token=token, at=at)
    except DeliveryUnavailable:
        raise
    except Exception as exc:
        # A bug, not an outage: record it for the coordination and fail once, loudly.
        _release(
            notification,
            token,
            status=Notification.Status.FAILED,
            last_error=emails.describe_error(exc),
        )
        raise


def _deliver_claimed(notification: Notification, *, token: uuid.UUID, at: datetime) -> Outcome:
    if notification.attempts > settings.NOTIFICATION_MAX_ATTEMPTS:
        # Claimed that many times without an outcome: its delivery keeps killing workers.
        logger.error(
            "notification %s: %s attempts, giving up", notification.code, notification.attempts
        )
        _release(
            notification, token, status=Notification.Status.FAILED, last_error="trop de tentatives"
        )
        return Outcome.FAILED

    channel = _channel_of(notification)
    if channel == Channel.IN_APP:
        return _delivered(notification, token, channel=Channel.IN_APP)
    if channel == Channel.DIGEST:
        _release(notification, token, status=Notification.Status.DIGEST, channel=Channel.DIGEST)
        return Outcome.DIGEST

    quiet_until = selectors.quiet_period_end(notification.quiet_hours, at)  # type: ignore[attr-defined]
    if quiet_until is not None:
        # Wait on the row, not on the broker: the sweep publishes it when quiet hours end.
        _release(
            notification,
            token,
            status=Notification.Status.PENDING,
            due_at=quiet_until,
            dispatched_at=None,
            attempts=F("attempts") - 1,  # waiting is not a failed attempt
        )
        return Outcome.DEFERRED
    return _send_email(notification, token, at=at)


def _channel_of(notification: Notification) -> str:
    """The member's channel for this event, if an e-mail still makes sense."""
    recipient = notification.recipient
    if not recipient.is_active or not recipient.user.email:
        return Channel.IN_APP
    if notification.read_at is not None:
        # Already read in the application (during quiet hours, say): no e-mail for news known.
        return Channel.IN_APP
    chosen = notification.chosen_channel or ""  # type: ignore[attr-defined]  # "": the default
    return selectors.channel_for(recipient, notification.event, chosen=chosen)


def _send_email(notification: Notification, token: uuid.UUID, *, at: datetime) -> Outcome:
    try:
        emails.send_notification_email(notification)
    except emails.PermanentDeliveryError as exc:
        logger.warning("notification %s: e-mail refused for good (%s)", notification.code, exc)
        _release(
            notification,
            token,
            status=Notification.Status.FAILED,
            last_error=emails.describe_error(exc),
        )
        return Outcome.FAILED
    except TRANSIENT_ERRORS as exc:
        return _after_transient_error(notification, token, exc, at=at)
    return _delivered(notification, token, channel=Channel.EMAIL, email_sent=True)


def _after_transient_error(
    notification: Notification, token: uuid.UUID, exc: BaseException, *, at: datetime
) -> Outcome:
    error = emails.describe_error(exc)
    if notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
        logger.error(
            "notification %s: e-mail failed %s times (%s), giving up",
            notification.code,
            notification.attempts,
            error,
        )
        _release(notification, token, status=Notification.Status.FAILED, last_error=error)
        return Outcome.FAILED
    delay = retry_delay(notification.attempts)
    next_attempt = at + timedelta(seconds=delay)
    logger.warning(
        "notification %s: e-mail attempt %s failed (%s), next in %s s",
        notification.code,
        notification.attempts,
        error,
        delay,
    )
    on_broker = delay <= BROKER_COUNTDOWN_MAX
    _release(
        notification,
        token,
        status=Notification.Status.PENDING,
        due_at=next_attempt,
        # A short retry is published now, for then: the sweep only steps in if it is lost.
        # A long one is not published at all: the sweep publishes it as soon as it is due.
        dispatched_at=next_attempt if on_broker else None,
        last_error=error,
    )
    if on_broker:
        raise DeliveryUnavailable(error, retry_in=delay) from exc
    return Outcome.RETRY


def _delivered(
    notification: Notification, token: uuid.UUID, *, channel: str, email_sent: bool = False
) -> Outcome:
    moment = now()
    _release(
        notification,
        token,
        status=Notification.Status.DELIVERED,
        channel=channel,
        delivered_at=moment,
        email_sent_at=moment if email_sent else None,
        last_error="",
    )
    return Outcome.DELIVERED


def _release(notification: Notification, token: uuid.UUID, **fields: Any) -> None:
    """Leave the claim with an outcome, if the claim is still ours."""
    status = fields["status"]
    updated = Notification.objects.filter(
        pk=notification.pk, claim_token=token, status__in=IN_FLIGHT
    ).update(claimed_at=None, claim_token=None, **fields)
    if updated != 1:
        # The lease expired and the sweep (then maybe another worker) took the row back.
        logger.warning("notification %s: claim lost before %s", notification.code, status)


# --- The sweep -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepReport:
    reclaimed: int
    failed: int
    published: int


def sweep_outbox(*, at: datetime | None = None) -> SweepReport:
    """Take back the claims of dead workers and publish due rows again. Safe to run twice.

    Runs every minute (worker/schedule.py). It is what makes a Redis outage at commit, a
    lost message or a killed worker delay a notification instead of losing it.
    """
    at = at or now()
    started = time.monotonic()
    expired = Q(
        status__in=IN_FLIGHT,
        claimed_at__lt=at - timedelta(seconds=settings.NOTIFICATION_CLAIM_LEASE),
    )
    # A row claimed that many times never got an outcome: stop before it kills more workers.
    failed = Notification.objects.filter(
        expired, attempts__gte=settings.NOTIFICATION_MAX_ATTEMPTS
    ).update(
        status=Notification.Status.FAILED,
        claimed_at=None,
        claim_token=None,
        last_error="délai dépassé",
    )
    # Their due_at is already past (they were claimed): published again just below.
    reclaimed = Notification.objects.filter(expired & Q(status=Notification.Status.SENDING)).update(
        status=Notification.Status.PENDING, claimed_at=None, claim_token=None, dispatched_at=None
    )
    reclaimed += Notification.objects.filter(
        expired & Q(status=Notification.Status.DIGESTING)
    ).update(status=Notification.Status.DIGEST, claimed_at=None, claim_token=None)

    published = 0
    while time.monotonic() - started < JOB_TIME_BUDGET:
        batch = _take_due_batch(at)
        published += len(batch)
        if len(batch) < settings.NOTIFICATION_BATCH_SIZE:
            break
    if reclaimed or failed or published:
        logger.info(
            "outbox sweep: %s claims taken back, %s failed, %s published",
            reclaimed,
            failed,
            published,
        )
    return SweepReport(reclaimed=reclaimed, failed=failed, published=published)


@transaction.atomic
def _take_due_batch(at: datetime) -> list[int]:
    """Publish due pending rows not published recently, marked as published now (2 queries).

    On PostgreSQL, SKIP LOCKED lets two sweeps run at once on disjoint rows; on SQLite the
    database lock serialises them. Either way the delivery claim has the last word.
    """
    recently = at - timedelta(seconds=settings.NOTIFICATION_REDISPATCH_AFTER)
    ids = list(
        Notification.objects.filter(status=Notification.Status.PENDING, due_at__lte=at)
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lte=recently))
        .order_by("due_at", "pk")
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)[: settings.NOTIFICATION_BATCH_SIZE]
    )
    if ids:
        Notification.objects.filter(pk__in=ids).update(dispatched_at=at)
        # After commit, and not robust: a broker still down fails the sweep loudly; the rows
        # are marked, so the next sweeps try again once NOTIFICATION_REDISPATCH_AFTER passed.
        transaction.on_commit(lambda: publish_notifications(ids))
    return ids


# --- The daily digest ------------------------------------------------------------------------


def send_digests(*, at: datetime | None = None) -> int:
    """Send each member one e-mail listing their notifications waiting for the digest.

    Runs hourly (worker/schedule.py): a member's digest covers what arrived before the
    latest NOTIFICATION_DIGEST_HOUR and goes out at the first run outside their quiet hours,
    so it is sent once a day even for someone whose quiet hours cover the digest hour.
    Returns the number of digests sent. Safe to run twice or concurrently: each member's
    rows are claimed with a conditional UPDATE before the e-mail is sent.
    """
    at = at or now()
    started = time.monotonic()
    cutoff = selectors.digest_cutoff(at)
    waiting = Notification.objects.filter(status=Notification.Status.DIGEST, created_at__lt=cutoff)
    sent = 0
    after = 0
    while time.monotonic() - started < JOB_TIME_BUDGET:
        member_ids = list(
            waiting.filter(recipient_id__gt=after)
            .order_by("recipient_id")
            .values_list("recipient_id", flat=True)
            .distinct()[: settings.NOTIFICATION_BATCH_SIZE]
        )
        quiet = {
            row.member_id: row
            for row in NotificationSettings.objects.filter(member_id__in=member_ids)
        }
        for member_id in member_ids:
            if selectors.quiet_period_end(quiet.get(member_id), at) is None:
                sent += _send_digest_of(member_id, cutoff=cutoff, at=at)
        if len(member_ids) < settings.NOTIFICATION_BATCH_SIZE:
            break
        after = member_ids[-1]
    if sent:
        logger.info("daily digest: %s e-mails sent", sent)
    return sent


def _send_digest_of(member_id: int, *, cutoff: datetime, at: datetime) -> int:
    """Claim, send and mark one member's digest (4 queries). Returns 1 if an e-mail went."""
    token = uuid.uuid4()
    claimed = Notification.objects.filter(
        recipient_id=member_id, status=Notification.Status.DIGEST, created_at__lt=cutoff
    ).update(
        status=Notification.Status.DIGESTING,
        claimed_at=at,
        claim_token=token,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return 0  # another run took them
    rows = list(
        Notification.objects.filter(claim_token=token)
        .select_related("recipient__user", "actor")
        .order_by("created_at", "pk")
    )
    unread = [row for row in rows if row.read_at is None]
    recipient = rows[0].recipient
    claim = Notification.objects.filter(claim_token=token, status=Notification.Status.DIGESTING)
    if unread and recipient.is_active and recipient.user.email:
        try:
            emails.send_digest_email(recipient, unread, key=str(token))
        except emails.PermanentDeliveryError as exc:
            claim.update(
                status=Notification.Status.FAILED,
                claimed_at=None,
                claim_token=None,
                last_error=str(exc),
            )
            return 0
        except TRANSIENT_ERRORS as exc:
            error = emails.describe_error(exc)
            logger.warning("digest of member %s failed (%s), next run retries", member_id, error)
            claim.filter(attempts__gte=settings.NOTIFICATION_MAX_ATTEMPTS).update(
                status=Notification.Status.FAILED,
                claimed_at=None,
                claim_token=None,
                last_error=error,
            )
            claim.update(
                status=Notification.Status.DIGEST,
                claimed_at=None,
                claim_token=None,
                last_error=error,
            )
            return 0
    moment = now()
    claim.update(
        status=Notification.Status.DELIVERED,
        claimed_at=None,
        claim_token=None,
        delivered_at=moment,
        email_sent_at=moment if unread else None,
        last_error="",
    )
    return 1 if unread else 0


# --- Retention -------------------------------------------------------------------------------


def purge_notifications(*, at: datetime | None = None) -> int:
    """Delete delivered and read notifications older than NOTIFICATION_RETENTION_DAYS.

    In batches of NOTIFICATION_BATCH_SIZE (2 queries each) so that no statement locks much
    of the table. Unread and failed notifications stay. Returns how many rows went.
    """
    at = at or now()
    started = time.monotonic()
    old = Notification.objects.filter(
        status=Notification.Status.DELIVERED,
        read_at__isnull=False,
        created_at__lt=at - timedelta(days=settings.NOTIFICATION_RETENTION_DAYS),
    )
    deleted = 0
    while time.monotonic() - started < JOB_TIME_BUDGET:
        ids = list(
            old.order_by("pk").values_list("pk", flat=True)[: settings.NOTIFICATION_BATCH_SIZE]
        )
        if ids:
            deleted += old.filter(pk__in=ids).delete()[0]
        if len(ids) < settings.NOTIFICATION_BATCH_SIZE:
            break
    if deleted:
        logger.info("notification purge: %s delivered and read notifications deleted", deleted)
    return deleted
