"""The Celery application: configured from Django's settings (CELERY_ namespace)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging, worker_init, worker_process_shutdown, worker_shutdown

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
    DB_CONN_MAX_AGE; the worker takes WORKER_DB_CONN_MAX_AGE, with health checks so that a
    connection the server closed is replaced instead of failing a task. Set before the
    pool starts, so prefork children inherit it; Celery's Django fixup closes connections
    after each task only once they are older than that.
    """
    from django.conf import settings  # noqa: PLC0415

    from worker import emails  # noqa: PLC0415

    for database in settings.DATABASES.values():
        database["CONN_MAX_AGE"] = settings.WORKER_DB_CONN_MAX_AGE
        database["CONN_HEALTH_CHECKS"] = True
    emails.keep_smtp_connection_open()


@worker_process_shutdown.connect
@worker_shutdown.connect
def close_kept_connections(**kwargs: Any) -> None:
    from worker import emails  # noqa: PLC0415

    emails.close_smtp_connection()
