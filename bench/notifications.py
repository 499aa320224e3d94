"""Benchmark notification delivery: from the commit to the e-mail in the mailbox.

Why: a notification crosses a transaction, the on-commit publish, Redis, a worker, its claim
and state updates in the database, and SMTP. This script shows what all of that costs next
to the floor set by the broker itself (a no-op Celery task's round trip on the same Redis),
and checks on the way that every notification arrives exactly once.

It starts its own Celery worker (one process, solo pool, like the test suite's) sending to a
local SMTP sink (aiosmtpd), uses Redis from REDIS_URL (or starts a private redis-server with
--private-redis), and a database of its own (SQLite under VAR_DIR/bench, or --database-url).
Then it commits N notifications at a steady rate, each in its own transaction as a web
request would, and prints delivered count, duplicates, and p50/p95 latency from commit to
e-mail received.

Usage::

    python bench/notifications.py [--count 500] [--rate 25] [--private-redis]
        [--database-url postgres://...] [--write docs/benchmarks.md]
    python bench/notifications.py --smoke   # a few notifications, prints the table, no write
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

START_MARKER = "<!-- bench:notifications:start -->"
END_MARKER = "<!-- bench:notifications:end -->"
MESSAGE_ID = re.compile(r"<notification\.([0-9a-f-]{36})@")


@dataclass(frozen=True)
class Latencies:
    label: str
    samples: list[float]  # seconds

    def percentile(self, q: int) -> float:
        if len(self.samples) < 2:
            return self.samples[0] if self.samples else float("nan")
        return statistics.quantiles(self.samples, n=100, method="inclusive")[q - 1]

    def row(self) -> str:
        p50, p95 = self.percentile(50) * 1000, self.percentile(95) * 1000
        return f"| {self.label} | {len(self.samples)} | {p50:.1f} ms | {p95:.1f} ms |"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500, help="notifications to commit")
    parser.add_argument("--rate", type=float, default=25.0, help="notifications per second")
    parser.add_argument("--baseline", type=int, default=500, help="no-op task round trips")
    parser.add_argument("--burst", type=int, default=300, help="notifications committed at once")
    parser.add_argument("--private-redis", action="store_true", help="start a redis-server")
    parser.add_argument("--database-url", default="", help="default: SQLite under VAR_DIR")
    parser.add_argument("--write", type=Path, help="update this file between the markers")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a few notifications, print the table, write nothing (CI); SQLite in a "
        "temporary directory unless --database-url",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        if args.write:
            parser.error("--smoke writes nothing: drop --write")
        args.count, args.rate, args.baseline, args.burst = 5, 50.0, 5, 5
    return args


def configure(args: argparse.Namespace) -> dict[str, str]:
    """Environment of the bench process and of its worker, set before Django loads."""
    var_dir = Path(os.environ.get("VAR_DIR") or ROOT / "var") / "bench"
    if args.smoke:
        var_dir = Path(tempfile.mkdtemp(prefix="bench-notifications-"))
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.settings",  # production settings, fixed test keys
        "VAR_DIR": str(var_dir),
        "DATABASE_URL": args.database_url or f"sqlite:///{var_dir / 'bench.sqlite3'}",
        "CELERY_QUEUE": f"bench-{os.getpid()}",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }
    os.environ.update(env)
    return env


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    env = configure(args)

    from tests.worker_process import RedisServer, SmtpSink, WorkerProcess, wait_until  # noqa: PLC0415

    redis_server = None
    if args.private_redis or not os.environ.get("REDIS_URL"):
        redis_server = RedisServer()
        redis_server.start()
        os.environ["REDIS_URL"] = redis_server.url
    # The no-op baseline needs its result back: a result backend for this run only.
    os.environ["CELERY_RESULT_BACKEND"] = os.environ["REDIS_URL"]

    import django  # noqa: PLC0415

    django.setup()
    from django.core.management import call_command  # noqa: PLC0415
    from django.db import connection, transaction  # noqa: PLC0415
    from django.db.models import Count  # noqa: PLC0415

    from config.celery import app  # noqa: PLC0415
    from directory.demo import load_directory  # noqa: PLC0415
    from worker.models import Notification, NotificationPreference, NotificationSettings  # noqa: PLC0415
    from worker.services import enqueue_notification  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    members = load_directory(password="bench")
    recipient, actor = members["dr.martin"], members["coord"]
    Notification.objects.all().delete()
    NotificationPreference.objects.filter(member=recipient).delete()  # the default: e-mail
    NotificationSettings.objects.filter(member=recipient).delete()  # no quiet hours

    sink = SmtpSink()
    sink.start()
    worker_env = {
        **os.environ,
        **env,
        "REDIS_URL": os.environ["REDIS_URL"],
        "EMAIL_URL": sink.url,
        "PYTHONUNBUFFERED": "1",
    }
    log_path = Path(env["VAR_DIR"]) / "bench-worker.log"
    log_path.unlink(missing_ok=True)
    worker = WorkerProcess(env=worker_env, log_path=log_path)
    worker.start()
    try:
        # Warm up: the worker is consuming once a no-op comes back.
        app.send_task("celery.accumulate", args=(0,), ignore_result=False).get(timeout=60)

        baseline = []
        for i in range(args.baseline):
            started = time.perf_counter()
            app.send_task("celery.accumulate", args=(i,), ignore_result=False).get(timeout=30)
            baseline.append(time.perf_counter() - started)

        commit_clock: list[float] = []

        def commit(count: int, rate: float | None) -> dict[str, float]:
            """Commit `count` notifications, one per transaction, at `rate` (None: at once)."""
            committed: dict[str, float] = {}
            first = time.perf_counter()
            for i in range(count):
                pause = first + i / rate - time.perf_counter() if rate else 0
                if pause > 0:
                    time.sleep(pause)
                with transaction.atomic():
                    # On-commit callbacks run in order: this one reads the clock right after
                    # COMMIT, before enqueue_notification's publish.
                    transaction.on_commit(lambda: commit_clock.append(time.time()))
                    notification = enqueue_notification(
                        recipient=recipient, event="notifications.test", actor=actor
                    )
                committed[str(notification.code)] = commit_clock.pop()
            return committed

        def wait_for(codes: dict[str, float]) -> None:
            wait_until(lambda: set(codes) <= delivered_codes(sink), timeout=180, interval=0.1)

        started = time.perf_counter()
        committed_at = commit(args.count, args.rate)
        sending_took = time.perf_counter() - started
        wait_for(committed_at)

        # Capacity: a burst committed as fast as possible, drained by the one worker.
        burst = commit(args.burst, None)
        wait_for(burst)
        received = received_times(sink)
        drained = max(received[code][0] for code in burst) - min(burst.values())
        throughput = args.burst / drained if drained > 0 else float("nan")

        time.sleep(2)  # let a late duplicate show up, if any
        received = received_times(sink)
        latencies = [
            received[code][0] - committed
            for code, committed in committed_at.items()
            if code in received
        ]
        everything = {**committed_at, **burst}
        delivered = sum(1 for code in everything if code in received)
        duplicates = sum(len(times) - 1 for times in received.values())
        states = dict(Notification.objects.order_by().values_list("status").annotate(n=Count("id")))
    finally:
        worker.stop()
        sink.stop()
        if redis_server:
            redis_server.stop()

    report = render(
        args=args,
        engine=connection.vendor,
        broker="private redis-server" if redis_server else "Redis (REDIS_URL)",
        baseline=Latencies("No-op Celery task, publish → result (baseline)", baseline),
        notifications=Latencies("Notification, commit → e-mail received", latencies),
        delivered=delivered,
        duplicates=duplicates,
        states=states,
        sending_took=sending_took,
        throughput=throughput,
    )
    print(report)
    if args.write:
        write_between_markers(args.write, report)
    return 0 if delivered == args.count + args.burst and duplicates == 0 else 1


def received_times(sink: object) -> dict[str, list[float]]:
    """Arrival times of each notification's e-mails, by notification code."""
    times: dict[str, list[float]] = {}
    for mail in list(sink.accepted):  # type: ignore[attr-defined]
        if match := MESSAGE_ID.search(mail.message_id):
            times.setdefault(match.group(1), []).append(mail.received_at)
    return times


def delivered_codes(sink: object) -> set[str]:
    return set(received_times(sink))


def render(
    *,
    args: argparse.Namespace,
    engine: str,
    broker: str,
    baseline: Latencies,
    notifications: Latencies,
    delivered: int,
    duplicates: int,
    states: dict[str, int],
    sending_took: float,
    throughput: float,
) -> str:
    import celery  # noqa: PLC0415
    import django  # noqa: PLC0415
    import redis  # noqa: PLC0415

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rate = args.count / sending_took if sending_took else float("nan")
    database = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(engine, engine)
    lines = [
        START_MARKER,
        "## Notifications (`worker.dispatch`)",
        "",
        f"Measured {when} on {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs "
        f"(load average {os.getloadavg()[1]:.1f} over the last 5 minutes: other work shares "
        "the machine and shows in the tail); "
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"Celery {celery.__version__}, redis-py {redis.__version__}. {database} database, "
        f"{broker} on localhost, one Celery worker (solo pool), SMTP to a local aiosmtpd sink.",
        "",
        f"{args.count} notifications committed one per transaction at {args.rate:g}/s "
        f"(achieved {rate:.1f}/s); each is claimed, sent by SMTP and marked delivered.",
        "",
        "| Path | Samples | p50 | p95 |",
        "|---|---:|---:|---:|",
        notifications.row(),
        baseline.row(),
        "",
        f"Capacity: a burst of {args.burst} notifications committed as fast as possible was "
        f"delivered at **{throughput:.0f} e-mails/s** by the one worker process (each delivery "
        "runs the claim with the read, then the mark: two statements on PostgreSQL, three on "
        "SQLite, on the worker's kept database connection, `WORKER_DB_CONN_MAX_AGE`, and "
        "sends on its kept SMTP session); latency "
        "grows once the rate nears it, and more worker processes add to it.",
        "",
        f"Delivered: **{delivered}/{args.count + args.burst}**, duplicates: **{duplicates}**; "
        f"rows by status after the run: "
        f"{', '.join(f'{k} {v}' for k, v in sorted(states.items()))}.",
        "",
        "The baseline is the floor the broker sets: publish a no-op task (`celery.accumulate`) "
        "and wait for its result through Redis, one at a time. A notification adds the "
        "worker's claim, preference lookup and state updates in the database, rendering, and "
        "an SMTP conversation. Commit time is read in an on-commit callback that runs right "
        "after COMMIT; reception time when the sink answers 250 (both wall clocks of this "
        "machine).",
        "",
        f"Reproduce: `python bench/notifications.py --count {args.count} --rate {args.rate:g} "
        f"--burst {args.burst}` "
        "(with `REDIS_URL` set, or `--private-redis`; `--database-url` for PostgreSQL).",
        END_MARKER,
    ]
    return "\n".join(lines)


def write_between_markers(path: Path, report: str) -> None:
    """Replace this benchmark's section of the file, or append it; other sections stay."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if START_MARKER in text and END_MARKER in text:
        before, rest = text.split(START_MARKER, 1)
        _old, after = rest.split(END_MARKER, 1)
        text = before + report + after
    else:
        text = text.rstrip("\n") + "\n\n" + report + "\n"
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
