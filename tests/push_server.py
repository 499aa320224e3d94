"""A real ASGI server process (uvicorn) for the push tests (pytest plugin).

Like tests/worker_process.py for Celery: `python -m uvicorn config.asgi:application` runs as
a separate OS process against this run's test database (a file on SQLite, the test database
on PostgreSQL) and the same Redis (when REDIS_URL is set, as in CI; its in-process buffer
otherwise), so the event stream goes through a real server, real sockets and real
disconnections. The tests talk to it with httpx, or point a browser at it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.worker_process import ROOT, free_port, wait_until
from worker import push


def read(cursor: push.Cursor, *, timeout: float = 0.3) -> list[push.PushEvent]:
    """What a stream at `cursor` receives within `timeout` (one read, its own connection)."""

    async def once() -> list[push.PushEvent]:
        reader = push.reader()
        try:
            return await reader.read(cursor, timeout=timeout)
        finally:
            await reader.close()

    return asyncio.run(once())


def start(*topics: str) -> push.Cursor:
    async def now() -> push.Cursor:
        reader = push.reader()
        try:
            return await reader.start(list(topics))
        finally:
            await reader.close()

    return asyncio.run(now())


def payloads(events: list[push.PushEvent]) -> list[dict[str, str]]:
    return [event.public_payload for event in push.in_order(events)]


@dataclass
class PushServer:
    env: dict[str, str]
    log_path: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def is_up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self) -> None:
        self.port = free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "config.asgi:application",
                    "--host=127.0.0.1",
                    f"--port={self.port}",
                    "--no-access-log",
                    "--timeout-graceful-shutdown=2",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if not wait_until(self.is_up, timeout=60, interval=0.2):
            self.stop()
            pytest.fail(f"uvicorn did not start:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture(scope="session")
def push_server(worker_env: dict[str, str]) -> Iterator[PushServer]:
    """One uvicorn process for the session, serving the whole site (pages, API, stream)."""
    env = dict(worker_env)
    # Short keep-alives and streams: the tests see them without waiting minutes.
    env.update(PUSH_KEEPALIVE_SECONDS="1", PUSH_MAX_STREAM_SECONDS="30")
    # The pages' fallback polling, when the stream is down, within a test's patience.
    env.update(MESSAGING_POLL_SECONDS="2")
    server = PushServer(env=env, log_path=ROOT / "var" / f"test-push-{env['CELERY_QUEUE']}.log")
    server.start()
    yield server
    server.stop()
