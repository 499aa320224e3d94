"""The Celery application: configured from Django's settings (CELERY_ namespace)."""

from __future__ import annotations

import os
import time
from typing import Any

from celery import Celery
from celery.signals import (
    setup_logging,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_shutdown,
    worker_shutdown,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(**kwargs: Any) -> None:
    """Route Celery's logs through Django's LOGGING so that one configuration rules both."""
    from logging.config import dictConfig  # noqa: PLC0415

    from django.conf import settings  # noqa: PLC0415

    dictConfig(settings.LOGGING)


@worker_init.connect
def keep_connections_open(**kwargs: Any) -> None:
    """A worker keeps its database connections and its mail-server session between tasks.

    Opening a PostgreSQL connection and an SMTP session cost more than delivering a
    notification on open ones (docs/benchmarks.md, Notifications). Web processes keep
    DB_CONN_MAX_AGE; the worker takes WORKER_DB_CONN_MAX_AGE. Set before the pool starts, so
    prefork children inherit it. Celery's Django fixup would still close every connection
    around every task (Celery 5.5+ calls `close()`, not Django's max-age check) but for
    CELERY_DB_REUSE_MAX (settings): the fixup then leaves them, and `_before_task` and
    `_after_task` do what Django does between two requests instead.
    """
    from django.conf import settings  # noqa: PLC0415

    from worker import emails  # noqa: PLC0415

    for database in settings.DATABASES.values():
        database["CONN_MAX_AGE"] = settings.WORKER_DB_CONN_MAX_AGE
        database["CONN_HEALTH_CHECKS"] = True
    task_prerun.connect(_before_task, weak=False, dispatch_uid="cpts-before-task")
    task_postrun.connect(_after_task, weak=False, dispatch_uid="cpts-after-task")
    emails.keep_smtp_connection_open()


class _Idle:
    since = time.monotonic()  # when the last task ended


def _before_task(sender: Any = None, **kwargs: Any) -> None:
    """Drop a connection past its age; health-check one idle for a while, not the others.

    Django's close_old_connections() asks for a health check (one SELECT 1) before the next
    statement of every kept connection: one more round trip on the way to every e-mail.
    A connection the previous task used a moment ago skips it; one idle for longer than
    WORKER_DB_HEALTH_CHECK_AFTER gets it. Should the server drop a connection within that
    moment, the task's first statement fails before its claim: the row stays pending and
    the outbox sweep publishes it again (docs/background-work.md), and `_after_task` drops
    the connection.
    """
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return  # in the caller's process (tests): its connection is not the worker's
    from django.conf import settings  # noqa: PLC0415
    from django.db import connections  # noqa: PLC0415

    recently = time.monotonic() - _Idle.since < settings.WORKER_DB_HEALTH_CHECK_AFTER
    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()
        if recently and connection.connection is not None:
            connection.health_check_done = True  # type: ignore[attr-defined]  # Django 4.1+


def _after_task(sender: Any = None, **kwargs: Any) -> None:
    """Close a connection left broken or in a transaction by the task, as after a request."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections  # noqa: PLC0415

    close_old_connections()
    _Idle.since = time.monotonic()


@worker_process_shutdown.connect
@worker_shutdown.connect
def close_kept_connections(**kwargs: Any) -> None:
    from worker import emails  # noqa: PLC0415

    emails.close_smtp_connection()
