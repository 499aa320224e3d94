"""Reads of the background machinery: is the database, the broker, a worker alive?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils.timezone import now

from worker.models import WorkerHeartbeat


@dataclass(frozen=True)
class HeartbeatStatus:
    last_seen: datetime | None
    age_seconds: float | None
    stale: bool


def database_is_up() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


def broker_is_up(*, timeout: float = 2.0) -> bool:
    """Open (and close) one connection to the Celery broker, without retrying for long."""
    from config.celery import app  # noqa: PLC0415  (keeps the import graph of apps acyclic)

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            return True
    except Exception:  # noqa: BLE001  any broker failure means "not ready"
        return False


def worker_heartbeat(*, name: str = "worker") -> HeartbeatStatus:
    row = WorkerHeartbeat.objects.filter(name=name).first()
    if row is None:
        return HeartbeatStatus(last_seen=None, age_seconds=None, stale=True)
    age = (now() - row.last_seen).total_seconds()
    return HeartbeatStatus(
        last_seen=row.last_seen,
        age_seconds=round(age, 1),
        stale=age > settings.WORKER_HEARTBEAT_STALE_AFTER,
    )
