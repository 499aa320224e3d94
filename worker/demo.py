"""Demo notifications, so that the web header has something to show from the first login."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from directory.models import Member
from worker.models import Notification
from worker.services import enqueue_notification


@transaction.atomic
def load_notifications(members: dict[str, Member]) -> list[Notification]:
    """A welcome and a test notification for dr.martin, once (load_demo runs at every start).

    They go through the real outbox: the worker started by `make demo` delivers them, and the
    test one, whose default channel is e-mail, is printed on its console.
    """
    recipient = members["dr.martin"]
    coordinator = members["coord"]
    if Notification.objects.filter(recipient=recipient, event="notifications.welcome").exists():
        return []
    return [
        enqueue_notification(
            recipient=recipient,
            event="notifications.welcome",
            actor=coordinator,
            url=reverse("notification-preferences"),
        ),
        enqueue_notification(
            recipient=recipient,
            event="notifications.test",
            actor=recipient,
            url=reverse("notifications"),
        ),
    ]
