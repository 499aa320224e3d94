"""A real Celery worker process for the tests that need one (pytest plugin).

It runs `celery -A config worker` as a separate OS process against the same broker as the
test process (Redis when REDIS_URL is set, as in CI; kombu's filesystem transport otherwise)
and against the test database, so a task goes through real serialisation, a real broker and
a real consumer. Eager mode would hide exactly the bugs these tests look for.

The outage and crash tests also need things they may break: `RedisServer` runs a private
`redis-server` on a spare port (never the machine's), `SmtpSink` is a local SMTP server
(aiosmtpd) that records what it accepted and can hold a message to keep a worker busy, and
`publishing_to(url)` points this process's Celery app at such a private broker.
"""

from __future__ import annotations

import asyncio
import email
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from kombu import pools as kombu_pools

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
    # One log per pytest-xdist worker ("gw0", "gw1"...): parallel runs must not interleave.
    suffix = os.environ.get("PYTEST_XDIST_WORKER", "main")
    worker = WorkerProcess(env=worker_env, log_path=ROOT / "var" / f"test-worker-{suffix}.log")
    worker.start()
    yield worker
    worker.stop()


# --- Things the outage and crash tests may break --------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A private redis-server on a spare port, without persistence: stop it, start it again.

    The tests that stop Redis use this one, never the machine's (which other runs share).
    """

    def __init__(self, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "redis-server is needed to test a broker outage: apt-get install redis-server"
            )
        self.binary = binary
        self.port = port or free_port()
        self.directory = tempfile.mkdtemp(prefix="cpts-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        options = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "save": "",  # no persistence: a restart starts empty, like a lost broker
            "appendonly": "no",
            "dir": self.directory,
        }
        arguments = [item for name, value in options.items() for item in (f"--{name}", value)]
        self.process = subprocess.Popen(
            [self.binary, *arguments],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_until(self.is_up, timeout=10, interval=0.05):
            pytest.fail(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def is_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@dataclass
class ReceivedMail:
    received_at: float  # time.time(), comparable with the commit times of the test process
    message: Message

    @property
    def message_id(self) -> str:
        return str(self.message.get("Message-ID", ""))


class SmtpSink:
    """A local SMTP server recording the e-mails it accepted (answered 250 to).

    With `hold_first=True` the first message is held before the answer, to keep the sending
    worker busy in mid-delivery, until `release()`; it is then refused with a 451, as a
    server does when its client vanished, and is not counted as accepted.
    """

    def __init__(self, *, hold_first: bool = False) -> None:
        from aiosmtpd.controller import Controller

        self.accepted: list[ReceivedMail] = []
        self.holding = threading.Event()
        self._release = threading.Event()
        self._hold_next = hold_first
        self._lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self._hold_next:
            self._hold_next = False
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self._release.wait, 120)
            return "451 4.3.0 Try again later"
        received_at = time.time()  # before parsing: the sink's own work is not the sender's
        message = email.message_from_bytes(envelope.content)
        with self._lock:
            self.accepted.append(ReceivedMail(received_at=received_at, message=message))
        return "250 OK"

    def release(self) -> None:
        self._release.set()

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.release()
        self.controller.stop()

    def messages_for(self, message_id_part: str) -> list[ReceivedMail]:
        with self._lock:
            return [mail for mail in self.accepted if message_id_part in mail.message_id]


@contextmanager
def publishing_to(broker_url: str) -> Iterator[None]:
    """Point this process's Celery app at another broker (a private Redis) for a while.

    Celery reads the broker URL when it first builds its connection pools; dropping the
    pools makes the next publish connect to the new URL.
    """
    from config.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport_options)

    def drop_pools() -> None:
        # kombu also caches pools per broker URL in a process-wide registry: a pool closed
        # here but left there would be handed to the next publisher ("Acquire on closed pool").
        kombu_pools.reset()
        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        amqp = app.__dict__.get("amqp")
        if amqp is not None:
            amqp._producer_pool = None

    drop_pools()
    app.conf.broker_url = broker_url
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    try:
        yield
    finally:
        drop_pools()
        app.conf.broker_url, app.conf.broker_transport_options = saved


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.directory, ignore_errors=True)


@pytest.fixture
def start_worker(worker_env: dict[str, str]) -> Iterator[Callable[..., WorkerProcess]]:
    """`start_worker(name, **env)`: a worker of its own (private broker, SMTP sink...).

    Stopped at the end of the test; a worker that does not stop in time is killed.
    """
    started: list[WorkerProcess] = []

    def start(name: str, **env: str) -> WorkerProcess:
        suffix = os.environ.get("PYTEST_XDIST_WORKER", "main")
        log_path = Path(settings.VAR_DIR) / f"test-worker-{name}-{suffix}.log"
        log_path.unlink(missing_ok=True)
        worker = WorkerProcess(env={**worker_env, **env}, log_path=log_path)
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process and worker.process.poll() is None:
            worker.process.terminate()
            try:
                worker.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill(signal.SIGKILL)
