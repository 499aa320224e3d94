"""Celery entry points. Each task is an interface: take ids, call one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def record_heartbeat() -> None:
    """Periodic proof of life, reported by /readyz. Idempotent: it only moves a timestamp."""
    from worker import services  # noqa: PLC0415  services may import tasks, not the reverse

    services.record_heartbeat()
