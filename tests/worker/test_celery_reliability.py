"""The Celery settings that make a lost or repeated message harmless (docs/background-work.md)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from celery.exceptions import Reject
from django.conf import settings

from config.celery import app
from tests.worker_process import ROOT, RedisServer, publishing_to
from worker.models import WorkerHeartbeat
from worker.schedule import BEAT_SCHEDULE
from worker.tasks import deliver_notification, record_heartbeat


def test_tasks_are_acknowledged_late_and_requeued_when_their_worker_is_lost() -> None:
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_acks_on_failure_or_timeout is True
    assert deliver_notification.acks_late
    assert deliver_notification.reject_on_worker_lost
    assert app.conf.task_publish_retry_policy["max_retries"] <= 3  # a web request stays short


def test_the_visibility_timeout_outlasts_every_task_and_delay() -> None:
    if settings.CELERY_BROKER_URL.startswith("redis"):
        visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
        assert visibility > settings.CELERY_TASK_TIME_LIMIT
        assert visibility > settings.NOTIFICATION_RETRY_MAX_DELAY
    assert settings.NOTIFICATION_CLAIM_LEASE > settings.CELERY_TASK_TIME_LIMIT


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"REDIS_URL": "redis://127.0.0.1:1/0", "CELERY_VISIBILITY": "300"}, "CELERY_VISIBILITY"),
        ({"NOTIFICATION_CLAIM_LEASE": "60"}, "NOTIFICATION_CLAIM_LEASE"),
        ({"NOTIFICATION_DIGEST_HOUR": "24"}, "NOTIFICATION_DIGEST_HOUR"),
    ],
)
def test_settings_refuse_timeouts_that_would_run_tasks_twice(
    variables: dict[str, str], message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import tests.settings"],
        cwd=ROOT,
        env={**os.environ, **variables},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_every_periodic_job_expires_before_its_next_run() -> None:
    for name, entry in BEAT_SCHEDULE.items():
        assert entry["options"]["expires"] > 0, name


@pytest.mark.django_db
def test_a_message_redelivered_too_often_is_dropped(
    private_redis: RedisServer, settings: object
) -> None:
    """A poison message (its task kills the worker) cannot loop forever."""
    with publishing_to(private_redis.url):
        record_heartbeat.push_request(id="poison-1", delivery_info={"redelivered": True})
        try:
            for _ in range(settings.TASK_MAX_REDELIVERIES):  # type: ignore[attr-defined]
                record_heartbeat()
            with pytest.raises(Reject):
                record_heartbeat()
        finally:
            record_heartbeat.pop_request()
        # A first delivery is not counted, and another message has its own count.
        record_heartbeat.push_request(id="healthy-1", delivery_info={"redelivered": False})
        try:
            record_heartbeat()
        finally:
            record_heartbeat.pop_request()
    assert WorkerHeartbeat.objects.exists()
