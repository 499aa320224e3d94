"""A worker keeps its database connection from one task to the next (config/celery.py).

Celery's Django fixup closes every connection around every task unless CELERY_DB_REUSE_MAX
is set; opening one cost more than a whole delivery (docs/benchmarks.md, Notifications).
These tests install the real fixup, as a worker does at start, and send the signals a worker
sends around each task. Transactional: what is checked is the connection itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.db import connection

from config import celery as worker_config
from config.celery import app, close_kept_connections, keep_connections_open
from worker import emails, services, tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_signals(settings: Any) -> Iterator[None]:
    """This process set up as a worker: Celery's fixup and ours, undone afterwards."""
    saved = {alias: dict(db) for alias, db in settings.DATABASES.items()}
    fixup = DjangoWorkerFixup(app).install()
    keep_connections_open()
    connection.close()  # the next one opens with the worker's settings, as in a worker
    yield
    task_prerun.disconnect(fixup.on_task_prerun)
    task_postrun.disconnect(fixup.on_task_postrun)
    task_prerun.disconnect(dispatch_uid="cpts-before-task")
    task_postrun.disconnect(dispatch_uid="cpts-after-task")
    close_kept_connections()
    emails.keep_smtp_connection_open(False)
    for alias, db in saved.items():
        settings.DATABASES[alias].clear()
        settings.DATABASES[alias].update(db)
    connection.close()  # the next test opens one with the settings restored


def run_task() -> object:
    """What a worker does around a task: the signals, and a query in between."""
    task = tasks.record_heartbeat
    task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})
    services.record_heartbeat()
    used = connection.connection
    task_postrun.send(
        sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None, state="SUCCESS"
    )
    return used


def count_health_checks(monkeypatch: pytest.MonkeyPatch, *, usable: bool = True) -> list[int]:
    checks: list[int] = []

    def is_usable() -> bool:
        checks.append(1)
        return usable

    monkeypatch.setattr(connection, "is_usable", is_usable)
    return checks


def test_consecutive_tasks_share_one_connection_checked_once_after_idling(
    worker_signals: None, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.WORKER_DB_HEALTH_CHECK_AFTER = 10
    connection.ensure_connection()
    monkeypatch.setattr(worker_config._Idle, "since", time.monotonic() - 60)  # idle a minute
    checks = count_health_checks(monkeypatch)

    used = [run_task() for _ in range(3)]

    assert used[0] is not None
    assert used == [used[0]] * 3  # one connection: the fixup closed none
    assert len(checks) == 1  # before the first task, after idling; not between busy tasks
    assert connection.connection is used[0]  # still open for the next task


def test_a_connection_past_its_age_is_replaced_between_tasks(
    worker_signals: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_task()
    monkeypatch.setattr(connection, "close_at", time.monotonic() - 1)  # WORKER_DB_CONN_MAX_AGE

    second = run_task()

    assert second is not None
    assert second is not first


def test_a_connection_broken_during_a_task_is_closed_after_it(
    worker_signals: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_task()
    connection.errors_occurred = True  # a statement failed, and the server is gone
    count_health_checks(monkeypatch, usable=False)

    task_postrun.send(
        sender=tasks.record_heartbeat,
        task_id="t",
        task=tasks.record_heartbeat,
        args=(),
        kwargs={},
        retval=None,
        state="FAILURE",
    )

    assert connection.connection is None  # the next task opens a fresh one
