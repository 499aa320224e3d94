"""Writes of the background machinery."""

from __future__ import annotations

import socket

from django.utils.timezone import now

from worker.models import WorkerHeartbeat


def record_heartbeat(*, name: str = "worker") -> WorkerHeartbeat:
    """Record that a worker is alive and consuming its queue right now."""
    heartbeat, _created = WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"last_seen": now(), "hostname": socket.gethostname()}
    )
    return heartbeat
