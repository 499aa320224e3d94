"""Scheduled jobs of messaging: thin entry points to messaging.services.jobs.

Both jobs claim their rows (conditional UPDATE of a marker, SKIP LOCKED batches), so a beat
that fires twice, or two workers running one at once, do the work once; that is what makes
the late acknowledgement of IdempotentTask safe.
"""

from __future__ import annotations

from celery import shared_task

from worker.tasks import IdempotentTask


@shared_task(base=IdempotentTask)
def remind_unread_messages() -> int:
    """Every few minutes: one e-mail per member and conversation still unread after the delay."""
    from messaging.services import jobs  # noqa: PLC0415  services may import tasks, not the reverse

    return jobs.remind_unread_messages()


@shared_task(base=IdempotentTask)
def purge_expired_conversations() -> int:
    """Nightly: delete the conversations past their retention deadline, and their files."""
    from messaging.services import jobs  # noqa: PLC0415

    return jobs.purge_expired_conversations()
