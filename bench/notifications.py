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
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
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


# Steps of the path, each from one timestamp to the next (None: not on that path).
STEPS = (
    ("On-commit publish (commit → message in Redis)", "commit", "published", True),
    ("Broker hop (in Redis → the worker has it)", "published", "received", True),
    ("Celery before the task (received → task starts)", "received", "start", True),
    ("Claim with the read (task start → claimed)", "start", "claimed", False),
    ("Channel, text, template, .ics lookup (→ rendered)", "claimed", "rendered", False),
    ("MIME message (rendered → built)", "rendered", "built", False),
    ("SMTP session (built → the sink answers 250)", "built", "accepted", False),
    ("Whole path (commit → e-mail accepted, or result back)", "commit", "accepted", True),
    ("Off the path: mark delivered (SMTP done → marked)", "smtp_done", "marked", False),
    ("Worker busy per task (task start → end)", "start", "end", True),
    ("No-op: task end → result back to the caller", "end", "back", True),
)


@dataclass(frozen=True)
class Breakdown:
    """Where one delivery's time goes: the bench's and the worker's timestamps joined."""

    notifications: list[dict[str, float]]
    noops: list[dict[str, float]]

    @classmethod
    def read(
        cls,
        path: Path,
        *,
        notifications: dict[int, dict[str, float]],
        noops: dict[str, dict[str, float]],
    ) -> Breakdown:
        records = []
        if path.exists():
            records = [json.loads(line) for line in path.read_text().splitlines() if line]
        for record in records:
            if record["task"] == "celery.accumulate":
                steps = noops.get(record["task_id"])
            else:
                steps = notifications.get(record["args"][0]) if record["args"] else None
            if steps is not None:
                steps.update({k: v for k, v in record.items() if isinstance(v, int | float)})
        return cls(
            notifications=[s for s in notifications.values() if "start" in s],
            noops=[s for s in noops.values() if "start" in s],
        )

    @staticmethod
    def _cell(rows: list[dict[str, float]], begin: str, end: str) -> str:
        samples = [row[end] - row[begin] for row in rows if begin in row and end in row]
        if not samples:
            return "| — | — "
        spread = Latencies("", samples)
        return f"| {spread.percentile(50) * 1000:.1f} | {spread.percentile(95) * 1000:.1f} "

    def rows(self) -> list[str]:
        lines = [
            "| Step (ms) | Notification p50 | p95 | No-op p50 | p95 |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, begin, end, both in STEPS:
            noop_end = "back" if end == "accepted" else end
            noop = self._cell(self.noops, begin, noop_end) if both else "| — | — "
            mine = self._cell(self.notifications, begin, end) if end != "back" else "| — | — "
            lines.append(f"| {label} {mine}{noop}|")
        for label, key, scale in (
            ("Worker CPU per task (ms)", "cpu", 1000),
            ("Database connections opened per task", "connections", 1),
        ):
            cells = []
            for rows in (self.notifications, self.noops):
                values = [row.get(key, 0.0) * scale for row in rows]
                cells.append(f"{statistics.mean(values):.1f}" if values else "—")
            lines.append(f"| {label} | {cells[0]} (mean) | | {cells[1]} (mean) | |")
        return lines


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
        "--profile-worker", type=Path, help="run the worker under cProfile, stats to this file"
    )
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

    if args.smoke and connection.vendor == "sqlite":
        # The smoke run checks that the script works, not its timings: tables straight from
        # the models (the 34 migrations were half of its time), in its own temporary file.
        from django.conf import settings  # noqa: PLC0415
        from django.test.utils import setup_databases  # noqa: PLC0415

        database = settings.DATABASES["default"]
        database["TEST"].update(NAME=database["NAME"], MIGRATE=False)
        setup_databases(verbosity=0, interactive=False, serialized_aliases=[])
    else:
        call_command("migrate", verbosity=0)
    members = load_directory(password="bench")
    recipient, actor = members["dr.martin"], members["coord"]
    Notification.objects.all().delete()
    NotificationPreference.objects.filter(member=recipient).delete()  # the default: e-mail
    NotificationSettings.objects.filter(member=recipient).delete()  # no quiet hours

    from worker import services as worker_services  # noqa: PLC0415

    published_clock: list[float] = []
    publish = worker_services.publish_notifications

    def timed_publish(notification_ids: Sequence[int]) -> None:
        publish(notification_ids)
        published_clock.append(time.time())

    # The on-commit publish, timed: the services call it through their module's global.
    worker_services.publish_notifications = timed_publish

    sink = SmtpSink()
    sink.start()
    probe_path = Path(env["VAR_DIR"]) / "bench-probe.jsonl"
    probe_path.unlink(missing_ok=True)
    worker_env = {
        **os.environ,
        **env,
        "REDIS_URL": os.environ["REDIS_URL"],
        "EMAIL_URL": sink.url,
        "PYTHONUNBUFFERED": "1",
        "BENCH_PROBE_FILE": str(probe_path),
        "BENCH_PROFILE_FILE": str(args.profile_worker or ""),
    }
    log_path = Path(env["VAR_DIR"]) / "bench-worker.log"
    log_path.unlink(missing_ok=True)
    worker = WorkerProcess(
        env=worker_env, log_path=log_path, extra_args=["--include", "bench.notification_probe"]
    )
    worker.start()
    try:
        # Warm up: the worker is consuming once a no-op comes back; then a few deliveries.
        app.send_task("celery.accumulate", args=(0,), ignore_result=False).get(timeout=60)

        commit_clock: list[float] = []

        def commit_one() -> tuple[str, int, float, float]:
            """One notification in its own transaction: code, id, commit and publish times."""
            with transaction.atomic():
                # On-commit callbacks run in order: this one reads the clock right after
                # COMMIT, before enqueue_notification's publish.
                transaction.on_commit(lambda: commit_clock.append(time.time()))
                notification = enqueue_notification(
                    recipient=recipient, event="notifications.test", actor=actor
                )
            return (
                str(notification.code),
                notification.pk,
                commit_clock.pop(),
                published_clock.pop(),
            )

        def wait_for(codes: Iterable[str]) -> None:
            wanted = set(codes)
            wait_until(lambda: wanted <= delivered_codes(sink), timeout=180, interval=0.1)

        warm = [commit_one()[0] for _ in range(3)]
        wait_for(warm)

        # The two paths interleaved on one schedule over the same period, on the same worker:
        # notifications at `rate`, no-ops evenly between them (each waits for its result)
        period = args.count / args.rate
        schedule = sorted(
            [(i / args.rate, "notification") for i in range(args.count)]
            + [((j + 0.5) * period / args.baseline, "no-op") for j in range(args.baseline)]
        )
        committed_at: dict[str, float] = {}
        notification_steps: dict[int, dict[str, float]] = {}
        baseline: list[float] = []
        noop_steps: dict[str, dict[str, float]] = {}
        first = time.perf_counter()
        for offset, kind in schedule:
            pause = first + offset - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            if kind == "notification":
                code, pk, committed, published = commit_one()
                committed_at[code] = committed
                notification_steps[pk] = {"commit": committed, "published": published}
            else:
                # Neither path queues behind the other on the one worker: a no-op goes once
                # the e-mails committed before it arrived (at once, unless the worker lags).
                expected = len(warm) + len(committed_at)
                wait_until(lambda: len(sink.accepted) >= expected, timeout=30, interval=0.001)  # noqa: B023
                started, clock = time.perf_counter(), time.time()
                result = app.send_task(
                    "celery.accumulate", args=(len(baseline),), ignore_result=False
                )
                sent = time.time()
                result.get(timeout=30)
                baseline.append(time.perf_counter() - started)
                noop_steps[result.id] = {"commit": clock, "published": sent, "back": time.time()}
        sending_took = time.perf_counter() - first
        wait_for(committed_at)

        # Capacity: a burst committed as fast as possible, drained by the one worker.
        burst = dict(commit_one()[::2] for _ in range(args.burst))
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

    accepted = {code: times[0] for code, times in received.items()}
    codes = dict(Notification.objects.filter(pk__in=notification_steps).values_list("pk", "code"))
    for pk, steps in notification_steps.items():
        if (at := accepted.get(str(codes.get(pk)))) is not None:
            steps["accepted"] = at
    breakdown = Breakdown.read(probe_path, notifications=notification_steps, noops=noop_steps)

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
        breakdown=breakdown,
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
    breakdown: Breakdown,
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
        "Where the time goes, step by step (the bench's clock at commit and publish, the "
        "worker's around each step, `bench/notification_probe.py`; each step's own "
        "percentiles, so they do not add up to the whole path's):",
        "",
        *breakdown.rows(),
        "",
        f"Capacity: a burst of {args.burst} notifications committed as fast as possible was "
        f"delivered at **{throughput:.0f} e-mails/s** by the one worker process (each delivery "
        "runs the claim with the read, one prepared statement on PostgreSQL, then the SMTP "
        "conversation on its kept session, then the mark, on the worker's kept database "
        "connection); latency "
        "grows once the rate nears it, and more worker processes add to it.",
        "",
        f"Delivered: **{delivered}/{args.count + args.burst}**, duplicates: **{duplicates}**; "
        f"rows by status after the run: "
        f"{', '.join(f'{k} {v}' for k, v in sorted(states.items()))}.",
        "",
        "The baseline is the floor the broker sets: publish a no-op task (`celery.accumulate`) "
        "to the same worker and wait for its result through Redis. The two paths are "
        f"interleaved on one schedule over the same {args.count / args.rate:g} s: a "
        "notification committed every 1/rate s, a no-op half-way between two of them, sent once "
        "the e-mails committed before it arrived, so neither waits behind the other. A "
        "notification adds the worker's claim, preference lookup and state updates in the "
        "database, rendering, and an SMTP conversation. Commit time is read in an on-commit "
        "callback that runs right after COMMIT; reception time when the sink answers 250 "
        "(both wall clocks of this machine).",
        "",
        f"Reproduce: `python bench/notifications.py --count {args.count} --rate {args.rate:g} "
        f"--baseline {args.baseline} --burst {args.burst} --write docs/benchmarks.md` "
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
