"""A real Celery worker process for the tests that need one (pytest plugin).

It runs `celery -A config worker` as a separate OS process against the same broker as the
test process (Redis when REDIS_URL is set, as in CI; kombu's filesystem transport otherwise)
and against the test database, so a task goes through real serialisation, a real broker and
a real consumer. Eager mode would hide exactly the bugs these tests look for.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def database_url_of(db_settings: dict[str, Any]) -> str:
    """A DATABASE_URL for the (test) database described by Django settings."""
    engine = db_settings["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{db_settings['NAME']}"
    if "postgresql" in engine:
        user = db_settings.get("USER") or ""
        password = f":{db_settings['PASSWORD']}" if db_settings.get("PASSWORD") else ""
        auth = f"{user}{password}@" if user else ""
        host = db_settings.get("HOST") or "localhost"
        port = f":{db_settings['PORT']}" if db_settings.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{db_settings['NAME']}"
    raise RuntimeError(f"no DATABASE_URL for engine {engine}")


@dataclass
class WorkerProcess:
    """A running worker; `restart()` and `kill()` let tests simulate crashes."""

    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    extra_args: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-Q",
                self.env["CELERY_QUEUE"],
                *self.extra_args,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_until(
    condition: Callable[[], bool], *, timeout: float = 30, interval: float = 0.2
) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


@pytest.fixture(scope="session")
def worker_env(django_db_setup: None, django_db_blocker: Any) -> dict[str, str]:
    """The environment of a worker bound to this run's test database and queue."""
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        # kombu's filesystem transport needs its folders before the first message.
        for option in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS[option]).mkdir(
                parents=True, exist_ok=True
            )
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=database_url_of(settings.DATABASES["default"]),
        CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="session")
def celery_worker_process(worker_env: dict[str, str]) -> Iterator[WorkerProcess]:
    """One real worker for the whole session, started on first use."""
    worker = WorkerProcess(env=worker_env, log_path=ROOT / "var" / "test-worker.log")
    worker.start()
    yield worker
    worker.stop()
