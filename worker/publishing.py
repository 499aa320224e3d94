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


def publish_notifications(notification_ids: Sequence[int]) -> None:
    """Publish one delivery task per id on one broker connection (ids only, never content)."""
    with app.producer_or_acquire() as producer:
        for notification_id in notification_ids:
            app.send_task(DELIVER_NOTIFICATION, args=(notification_id,), producer=producer)
