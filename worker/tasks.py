"""Celery entry points. Each task is an interface: take ids, call one service.

Every task here is idempotent by construction (its service claims rows with conditional
UPDATEs), which is what makes late acknowledgement safe: a message redelivered after a
worker died, or published twice by the sweep, does nothing the second time. The periodic
jobs' schedule is in worker/schedule.py; the reasons are in docs/background-work.md.

Imports go one way: tasks → dispatch → services → publishing. The services publish the
delivery task by its name (worker.publishing), so they never import this module.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.exceptions import Reject
from django.conf import settings

from security import audit
from worker import dispatch, services
from worker.exceptions import DeliveryUnavailable
from worker.publishing import DELIVER_NOTIFICATION, DELIVER_NOTIFICATIONS

logger = logging.getLogger(__name__)


class IdempotentTask(Task):
    """Late acknowledgement, requeued when the worker is lost, and a cap on redeliveries.

    A message whose task kills its worker (a segfault, the OOM killer) comes back again and
    again; Redis does not count deliveries, so the task counts the redeliveries of its
    message there and drops it past TASK_MAX_REDELIVERIES, loudly, instead of looping.
    """

    acks_late = True
    reject_on_worker_lost = True
    ignore_result = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        delivery_info = self.request.delivery_info or {}
        if delivery_info.get("redelivered") and self.request.id:
            redeliveries = count_redelivery(self.app, self.request.id)
            if redeliveries is not None and redeliveries > settings.TASK_MAX_REDELIVERIES:
                logger.error(
                    "task %s[%s] redelivered %s times: dropped",
                    self.name,
                    self.request.id,
                    redeliveries,
                )
                raise Reject("too many redeliveries", requeue=False)
        return super().__call__(*args, **kwargs)


def count_redelivery(app: Any, task_id: str) -> int | None:
    """Count one more redelivery of this task's message; None when the broker is not Redis.

    (Kombu's other transports used here, the demo's filesystem one, do not redeliver.)
    """
    with app.connection_for_write() as connection:
        if connection.transport.driver_type != "redis":
            return None
        client = connection.default_channel.client
        key = f"cpts-liaison:redeliveries:{task_id}"
        count = int(client.incr(key))
        # Forget the count once the message cannot come back any more.
        visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
        client.expire(key, int(visibility) * (settings.TASK_MAX_REDELIVERIES + 2))
        return count


@shared_task(base=IdempotentTask)
def record_heartbeat() -> None:
    """Periodic proof of life, reported by /readyz. Idempotent: it only moves a timestamp."""
    services.record_heartbeat()


@shared_task(base=IdempotentTask, bind=True, max_retries=None, name=DELIVER_NOTIFICATION)
def deliver_notification(self: Task, notification_id: int) -> None:
    """Deliver one outbox row. Running it twice sends at most once.

    No retry limit here: the row counts its attempts and gives up by itself (then shows as
    failed to the coordination). Only a retry due within dispatch.BROKER_COUNTDOWN_MAX
    seconds comes back here as DeliveryUnavailable and is retried with a countdown: a
    countdown is an ETA message, which the worker holds unacknowledged beside prefetch=1
    until it is due. A longer backoff is only a `due_at` on the row, and the outbox sweep
    publishes it when due (docs/background-work.md, "Retries").
    """
    try:
        dispatch.deliver_notification(notification_id=notification_id)
    except DeliveryUnavailable as exc:
        raise self.retry(exc=exc, countdown=exc.retry_in) from None


@shared_task(base=IdempotentTask, name=DELIVER_NOTIFICATIONS)
def deliver_notifications(notification_ids: list[int]) -> None:
    """Deliver the outbox rows of one write (or a few of a sweep), one after the other.

    Each row is claimed as `deliver_notification` claims it, so a redelivered message sends
    nothing twice. A row whose channel is down for a short while goes on alone, as a
    `deliver_notification` retried with its countdown, and the others are still delivered;
    should even that publish fail, the row is pending and the outbox sweep publishes it.
    """
    bug: Exception | None = None
    for notification_id in notification_ids:
        try:
            dispatch.deliver_notification(notification_id=notification_id)
        except DeliveryUnavailable as exc:
            deliver_notification.apply_async((notification_id,), countdown=exc.retry_in)
        except Exception as exc:  # noqa: BLE001 (recorded on its row as failed; raised below)
            bug = bug or exc
    if bug is not None:
        raise bug


@shared_task(base=IdempotentTask)
def sweep_outbox() -> None:
    """Every minute: take back dead workers' claims, publish due notifications again."""
    dispatch.sweep_outbox()


@shared_task(base=IdempotentTask)
def send_notification_digests() -> None:
    """Hourly: each member's daily digest, once they are out of their quiet hours."""
    dispatch.send_digests()


@shared_task(base=IdempotentTask)
def purge_notifications() -> None:
    """Nightly: delete delivered and read notifications past their retention."""
    dispatch.purge_notifications()


@shared_task(base=IdempotentTask, ignore_result=True)
def write_audit_checkpoint() -> int:
    """Hourly: sign the audit chain's head into AUDIT_CHECKPOINT_DIR; return its sequence.

    security.audit does the work; the task lives here because security, the ground floor,
    imports no app (this base class included). Idempotent enough: a second run writes a
    second checkpoint of the same or a later head, which only adds evidence. A head that
    does not verify raises (and is logged by Celery) rather than being signed.
    """
    checkpoint, _path = audit.write_checkpoint()
    return checkpoint.sequence
