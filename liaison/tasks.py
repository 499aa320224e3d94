"""Scheduled jobs of the liaison loop: thin entry points to liaison.services.alerts.

Each job is idempotent (markers claimed by conditional UPDATE), so a beat that fires twice,
or two workers running it at once, send one alert per overdue item.
"""

from __future__ import annotations

from celery import shared_task

from worker.tasks import IdempotentTask


@shared_task(base=IdempotentTask, ignore_result=True)
def alert_unreceived_referrals() -> int:
    from liaison.services import alerts  # noqa: PLC0415

    return alerts.alert_unreceived_referrals()


@shared_task(base=IdempotentTask, ignore_result=True)
def remind_missing_discharge_letters() -> int:
    from liaison.services import alerts  # noqa: PLC0415

    return alerts.remind_missing_discharge_letters()


@shared_task(base=IdempotentTask, ignore_result=True)
def alert_late_discharge_letters() -> int:
    from liaison.services import alerts  # noqa: PLC0415

    return alerts.alert_late_discharge_letters()


@shared_task(base=IdempotentTask, ignore_result=True)
def remind_unread_discharge_letters() -> int:
    from liaison.services import alerts  # noqa: PLC0415

    return alerts.remind_unread_discharge_letters()


@shared_task(base=IdempotentTask, ignore_result=True)
def alert_untaken_expertise_requests() -> int:
    from liaison.expertise import alerts  # noqa: PLC0415

    return alerts.alert_untaken_requests()


@shared_task(base=IdempotentTask, ignore_result=True)
def remind_unread_expertise_answers() -> int:
    from liaison.expertise import alerts  # noqa: PLC0415

    return alerts.remind_unread_answers()
