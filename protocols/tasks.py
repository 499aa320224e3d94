"""Scheduled jobs of the protocols: thin entry points to protocols.services.reminders.

Each job is idempotent (markers claimed by conditional UPDATE), so a beat that fires twice,
or two workers running it at once, send one reminder per item.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def remind_unacknowledged_versions() -> int:
    from protocols.services import reminders  # noqa: PLC0415

    return reminders.remind_unacknowledged_versions()


@shared_task(ignore_result=True)
def warn_upcoming_reviews() -> int:
    from protocols.services import reminders  # noqa: PLC0415

    return reminders.warn_upcoming_reviews()


@shared_task(ignore_result=True)
def mark_overdue_reviews() -> int:
    from protocols.services import reminders  # noqa: PLC0415

    return reminders.mark_overdue_reviews()
