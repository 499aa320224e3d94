"""A task crosses a real broker to a real worker process and comes back through the database."""

from __future__ import annotations

import pytest

from tests.worker_process import WorkerProcess, wait_until
from worker.models import WorkerHeartbeat
from worker.tasks import record_heartbeat as record_heartbeat_task

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_it_runs_a_task_in_a_real_worker_process(celery_worker_process: WorkerProcess) -> None:
    assert not WorkerHeartbeat.objects.exists()

    record_heartbeat_task.delay()

    arrived = wait_until(WorkerHeartbeat.objects.exists, timeout=60)
    assert arrived, f"the worker did not run the task; its log:\n{celery_worker_process.log()}"
    assert celery_worker_process.process is not None
    assert celery_worker_process.process.poll() is None  # still alive
