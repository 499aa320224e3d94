"""Publishing delivery tasks to the broker, by task name: where the services meet Celery.

The services (worker.services, worker.dispatch) publish tasks by name instead of importing
worker.tasks. The tasks are the interface: they import the services, never the reverse, so
module-level imports go one way, tasks → dispatch → services → publishing, with no import
hidden inside a function to dodge a cycle. worker.tasks registers its delivery task under
DELIVER_NOTIFICATION, so the name lives here once.

`app.send_task` is what `Task.apply_async` calls underneath: the same routing, the same
publish retry policy (CELERY_TASK_PUBLISH_RETRY_POLICY), the same message.
"""

from __future__ import annotations

from collections.abc import Sequence

from config.celery import app

DELIVER_NOTIFICATION = "worker.tasks.deliver_notification"
DELIVER_NOTIFICATIONS = "worker.tasks.deliver_notifications"

# The ids one message carries at most. A write telling a service's members publishes one
# message instead of one per member (a publish costs about 0.45 ms of the request's CPU on
# Redis, docs/benchmarks.md); an outbox sweep's hundreds of rows still spread over the
# worker's processes, a few at a time.
IDS_PER_MESSAGE = 8


def publish_notifications(notification_ids: Sequence[int]) -> None:
    """Publish delivery tasks on one broker connection (ids only, never content): one id
    alone as a `deliver_notification`, more by `deliver_notifications` messages of up to
    IDS_PER_MESSAGE ids."""
    ids = list(notification_ids)
    if not ids:
        return
    with app.producer_or_acquire() as producer:
        if len(ids) == 1:
            app.send_task(DELIVER_NOTIFICATION, args=(ids[0],), producer=producer)
            return
        for start in range(0, len(ids), IDS_PER_MESSAGE):
            chunk = ids[start : start + IDS_PER_MESSAGE]
            app.send_task(DELIVER_NOTIFICATIONS, args=(chunk,), producer=producer)
