"""Timestamps of each delivery's steps inside the bench's Celery worker (bench only).

bench/notifications.py starts its worker with `--include bench.notification_probe` and
BENCH_PROBE_FILE set: this module then records, for every task, when the worker received
its message, started and ended it, and for a delivery when the claim returned, when the
e-mail was built and handed to SMTP, when the server accepted it and when the row was marked
delivered, with the process's CPU time over the task and the database connections it
opened. One JSON line per task, wall clock (time.time(), comparable with the bench
process's clock on this machine). With BENCH_PROFILE_FILE set, the whole worker runs under
cProfile, dumped there at shutdown.

Imported by the worker only; it wraps functions of worker.dispatch and worker.emails and
changes nothing they do.
"""

from __future__ import annotations

import cProfile
import functools
import json
import os
import time
from collections.abc import Callable
from typing import Any

from celery.signals import task_postrun, task_prerun, task_received, worker_shutdown
from django.db.backends.signals import connection_created
from django.dispatch import receiver

PROBE_FILE = os.environ.get("BENCH_PROBE_FILE", "")
PROFILE_FILE = os.environ.get("BENCH_PROFILE_FILE", "")

_received: dict[str, float] = {}
_current: dict[str, Any] = {}


def _mark(name: str) -> None:
    _current.setdefault(name, time.time())


def _timed(function: Callable[..., Any], *, before: str = "", after: str = "") -> Any:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if before:
            _mark(before)
        try:
            return function(*args, **kwargs)
        finally:
            if after:
                _mark(after)

    return wrapper


def _install() -> None:
    """Wrap the delivery's steps and listen to the worker's signals (in the worker only)."""
    from worker import dispatch, emails  # noqa: PLC0415  (Django is set up by then)

    # The claim (with its read on PostgreSQL) ends where the delivery proper starts.
    dispatch._deliver_claimed = _timed(dispatch._deliver_claimed, before="claimed")
    emails._send = _timed(emails._send, before="rendered")
    emails._send_on_kept_session = _timed(
        emails._send_on_kept_session, before="built", after="smtp_done"
    )
    dispatch._delivered = _timed(dispatch._delivered, after="marked")

    @task_received.connect(weak=False)
    def _on_received(request: Any = None, **kwargs: Any) -> None:
        _received[request.id] = time.time()

    @receiver(connection_created, weak=False)
    def _on_connection(**kwargs: Any) -> None:
        _current["connections"] = _current.get("connections", 0) + 1

    @task_prerun.connect(weak=False)
    def _on_prerun(task_id: str = "", **kwargs: Any) -> None:
        _current.clear()
        _current.update(
            task_id=task_id,
            received=_received.pop(task_id, None),
            start=time.time(),
            cpu_start=time.process_time(),
        )

    @task_postrun.connect(weak=False)
    def _on_postrun(task: Any = None, args: Any = (), **kwargs: Any) -> None:
        # The ack of a late-acknowledged task follows, after the task's end.
        record = dict(_current)
        record.update(
            task=task.name,
            args=list(args or ()),
            end=time.time(),
            cpu=time.process_time() - record.pop("cpu_start", time.process_time()),
        )
        with open(PROBE_FILE, "a") as stream:
            stream.write(json.dumps(record) + "\n")
        _current.clear()


if PROBE_FILE:
    _install()


if PROFILE_FILE:
    _profile = cProfile.Profile()
    _profile.enable()

    @worker_shutdown.connect
    def _dump_profile(**kwargs: Any) -> None:
        _profile.disable()
        _profile.dump_stats(PROFILE_FILE)
