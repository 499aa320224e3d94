"""The Celery beat schedule, in code so that it is reviewed and versioned like code.

Imported by config/settings.py before the apps load: it may import celery.schedules only,
never models.
"""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Proves a worker is consuming: /readyz reports the age of the last beat.
    "worker-heartbeat": {"task": "worker.tasks.record_heartbeat", "schedule": 30.0},
}
