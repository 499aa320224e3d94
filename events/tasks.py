"""Scheduled jobs of the agenda: thin entry points to events.alerts (idempotent: markers
claimed by conditional UPDATE, so a beat that fires twice reminds once)."""

from __future__ import annotations

from celery import shared_task

from worker.tasks import IdempotentTask


@shared_task(base=IdempotentTask, ignore_result=True)
def send_event_reminders() -> int:
    from events import alerts  # noqa: PLC0415

    return alerts.send_reminders()


@shared_task(base=IdempotentTask, ignore_result=True)
def send_event_surveys() -> int:
    from events import alerts  # noqa: PLC0415

    return alerts.send_surveys()


@shared_task(base=IdempotentTask, ignore_result=True)
def remind_event_surveys() -> int:
    from events import alerts  # noqa: PLC0415

    return alerts.remind_surveys()
