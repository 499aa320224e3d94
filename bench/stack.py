"""The real stack the HTTP benchmarks drive: a fresh database, gunicorn, a keep-alive client.

Shared by bench/liaison.py and bench/messaging.py. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from security.audit_keys import generate_audit_key_spec, generate_checkpoint_key_spec

ROOT = Path(__file__).resolve().parent.parent
# A database URL (PostgreSQL or SQLite) holding a migrated demo CPTS, made with the keys of the
# environment: `demo_in_process` copies it instead of migrating and loading the demo again
# (about 15 s a script). tests/test_bench_smoke.py builds one per test run for the smoke runs.
DEMO_TEMPLATE = "BENCH_DEMO_TEMPLATE"
# The keys the template's rows are encrypted and sealed with, kept from the environment then.
KEYS = ("ENCRYPTION_KEYS", "BLIND_INDEX_KEY", "AUDIT_KEYS", "AUDIT_CHECKPOINT_SIGNING_KEY")


def bench_env(database_url: str, *, queue: str, var_dir: str | None = None) -> dict[str, str]:
    """Production-like settings (DEBUG off) with throwaway keys and no throttling."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"),
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="False",
        REQUIRE_2FA="False",
        TOKEN_THROTTLE_RATE="100000/min",
        WRITE_THROTTLE_RATE="1000000/min",
        ENCRYPTION_KEYS="bench1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        BLIND_INDEX_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        AUDIT_KEYS=generate_audit_key_spec("bench1"),
        AUDIT_CHECKPOINT_SIGNING_KEY=generate_checkpoint_key_spec("benchcp1")[0],
        CELERY_QUEUE=queue,
        LOG_LEVEL="ERROR",
        DB_CONN_MAX_AGE="60",  # as in production: a connection per worker, not per request
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    if os.environ.get(DEMO_TEMPLATE):
        env.update({key: os.environ[key] for key in KEYS})
    if var_dir:
        env["VAR_DIR"] = var_dir  # its own media and static files, away from the demo's var/
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


# `manage.py migrate` then `manage.py load_demo`, in one process.
MIGRATE_AND_LOAD_DEMO = (
    "import django; django.setup(); from django.core.management import call_command; "
    "call_command('migrate', interactive=False); call_command('load_demo')"
)


def migrate_and_load_demo(env: dict[str, str]) -> None:
    """A migrated demo CPTS in `env`'s database: Django starts once for both commands, not
    twice (a second of CPU in every smoke run of `make test` that builds one)."""
    subprocess.run(
        [sys.executable, "-c", MIGRATE_AND_LOAD_DEMO],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def recreate_database(url: str) -> None:
    """Drop and create the benchmark's own database (never the application's)."""
    import psycopg  # noqa: PLC0415

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def prepare(env: dict[str, str], database_url: str) -> None:
    """A fresh database with the demo CPTS and collected static files."""
    recreate_database(database_url)
    migrate_and_load_demo(env)
    manage(env, "collectstatic", "--no-input")


def smoke_database_url(name: str) -> str:
    """A smoke run's database: `name` on DATABASE_URL's PostgreSQL server, else a temporary
    SQLite file (a script's --smoke mode in `make test`, tests/test_bench_smoke.py)."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        return url.rsplit("/", 1)[0] + f"/{name}"
    return f"sqlite:///{Path(tempfile.mkdtemp(prefix=f'{name}-')) / 'smoke.sqlite3'}"


def demo_in_process(database_url: str, *, queue: str) -> None:
    """A fresh database with the demo CPTS, then Django set up on it in this process: for the
    benchmarks that call the services and selectors directly, without a web server."""
    env = bench_env(database_url, queue=queue, var_dir=tempfile.mkdtemp(prefix=f"{queue}-"))
    template = os.environ.get(DEMO_TEMPLATE, "")
    if template:
        copy_database(template, database_url)
    else:
        if database_url.startswith("postgres"):
            recreate_database(database_url)
        migrate_and_load_demo(env)
    os.environ.update(env)

    import django  # noqa: PLC0415

    django.setup()


def build_demo_template(url: str) -> dict[str, str]:
    """Make `url` a migrated demo CPTS for DEMO_TEMPLATE; the keys its rows need."""
    env = bench_env(url, queue="bench-template", var_dir=tempfile.mkdtemp(prefix="template-"))
    if url.startswith("postgres"):
        recreate_database(url)
    migrate_and_load_demo(env)
    return {key: env[key] for key in KEYS}


def copy_database(source: str, target: str) -> None:
    """`target` made a copy of `source`: both PostgreSQL (CREATE DATABASE ... TEMPLATE, which
    needs nobody connected to the source) or both SQLite files."""
    if source.startswith("postgres") != target.startswith("postgres"):
        raise ValueError("a template is copied to a database of the same kind")
    if source.startswith("postgres"):
        import psycopg  # noqa: PLC0415

        name, template = target.rsplit("/", 1)[1], source.rsplit("/", 1)[1]
        admin = target.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return
    import shutil  # noqa: PLC0415

    shutil.copyfile(source.removeprefix("sqlite:///"), target.removeprefix("sqlite:///"))


class Client:
    """One keep-alive HTTP connection (one per thread), timing each request."""

    def __init__(self, port: int, token: str = "") -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Content-Type": "application/json", "Host": "127.0.0.1"}
        if token:
            self.headers["Authorization"] = f"Token {token}"

    def call(
        self, method: str, path: str, body: Any = None, **headers: str
    ) -> tuple[int, Any, float]:
        data = json.dumps(body) if body is not None else None
        started = time.perf_counter()
        self.conn.request(method, path, body=data, headers={**self.headers, **headers})
        response = self.conn.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - started
        is_json = response.getheader("Content-Type", "").startswith("application/json")
        return response.status, json.loads(payload) if payload and is_json else None, elapsed


def token_for(port: int, username: str) -> str:
    status, body, _ = Client(port).call(
        "POST", "/api/v1/auth/token/", {"username": username, "password": "demo"}
    )
    assert status == 200, body
    return str(body["token"])


@contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int) -> Iterator[subprocess.Popen[bytes]]:
    """gunicorn on 127.0.0.1:port until the block ends; waits (bounded) for /healthz.

    Yields the master process (its children are the workers: bench/messaging.py reads their
    CPU time)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                if Client(port).call("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)
        drop_queue(env)


def drop_queue(env: dict[str, str]) -> None:
    """Empty the Celery queue the run's notifications were published to: no worker takes
    them in a benchmark, and they would pile up in the machine's Redis from run to run."""
    queue, url = env["CELERY_QUEUE"], env.get("REDIS_URL", "")
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return
    client = redis.Redis.from_url(url)
    try:
        client.delete(queue, *client.keys(f"{queue}\x06*"))
    except redis.RedisError:
        pass  # Redis already gone: nothing piled up there either
    finally:
        client.close()


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"
