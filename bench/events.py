"""The agenda: registration throughput and the indicators' time, against a raw SQL COUNT in the
same run.

    python bench/events.py [--sizes 1000,10000,100000] [--repeat 20] [--write]
    python bench/events.py --smoke   # tiny sizes, prints the table, writes nothing

Why: a registration is one click that locks the event's row to count its places (the waiting
list must never overbook), and the coordinator's indicators page reads the agenda's figures
in five queries (events.indicators) that must stay flat as the seasons accumulate. The
baseline is the cheapest possible answer to the period: `SELECT COUNT(*)` of the presences
of the period's events, timed in the same run.

1. Creates a fresh database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
   cpts_events), migrates it and loads the demo CPTS (its agenda included).
2. Times --registrations one-click registrations through the service (events.services.
   register, audit entry included), one member after the other, on events of 8 places (the
   rest go to the waiting list).
3. Adds past events with registrations (bulk INSERT, 20 per event, 3 in 4 present, both
   sectors) up to each of --sizes registrations, and times each measure --repeat times.
   Everything runs on 127.0.0.1; every loop is bounded.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import stack  # noqa: E402
from bench.report import machine, percentile, timed, write_section  # noqa: E402
from bench.stack import ms  # noqa: E402

PER_EVENT = 20


def add_registrations(target: int) -> None:
    """Past meetings with PER_EVENT registrations each, up to `target` registrations."""
    from django.utils.timezone import now  # noqa: PLC0415

    from directory.models import Member  # noqa: PLC0415
    from events.models import Event, Registration  # noqa: PLC0415

    coord = Member.objects.get(user__username="coord")
    members = list(Member.objects.order_by("pk"))
    existing = Registration.objects.count()
    start = now() - timedelta(days=360)
    events = Event.objects.bulk_create(
        [
            Event(
                kind="meeting",
                title=f"Réunion {i}",
                organiser=coord,
                place="MSP",
                starts_at=start + timedelta(hours=7 * i % (360 * 24)),
                ends_at=start + timedelta(hours=7 * i % (360 * 24) + 2),
            )
            for i in range(max(0, (target - existing + PER_EVENT - 1) // PER_EVENT))
        ],
        batch_size=1000,
    )
    rows = []
    for n, event in enumerate(events):
        for k in range(PER_EVENT):
            member = members[(n + k) % len(members)]
            rows.append(Registration(
                event=event, member=None, external_email=f"p{n}-{k}@bench.test",
                external_name=member.display_name, status="registered",
                profession=member.profession, sector="social" if k % 5 == 0 else "medical",
                attended_at=event.starts_at if k % 4 else None,
            ))  # fmt: skip
    Registration.objects.bulk_create(rows[: max(0, target - existing)], batch_size=2000)
    from django.db import connection  # noqa: PLC0415

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh statistics, as autovacuum would have them
            cursor.execute("ANALYZE events_event")
            cursor.execute("ANALYZE events_registration")


def registration_throughput(count: int) -> tuple[float, int]:
    """Seconds per registration through the service, and how many went to a waiting list."""
    from django.utils.timezone import now  # noqa: PLC0415

    from directory.models import Member  # noqa: PLC0415
    from events import services  # noqa: PLC0415
    from events.models import Registration  # noqa: PLC0415

    coord = Member.objects.get(user__username="coord")
    members = list(Member.objects.order_by("pk"))
    moment = now() + timedelta(days=30)
    done = waiting = 0
    started = time.perf_counter()
    while done < count:
        event = services.create_event(
            actor=coord, kind="meeting", title="Bench", place="MSP", capacity=8,
            starts_at=moment, ends_at=moment + timedelta(hours=2),
        )  # fmt: skip
        for member in members:
            if done >= count:
                break
            registration = services.register(actor=member, event=event)
            waiting += registration.status == Registration.Status.WAITLISTED
            done += 1
    return (time.perf_counter() - started) / max(done, 1), waiting


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/cpts_events")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--registrations", type=int, default=200)
    parser.add_argument(
        "--write", action="store_true", help="write the figures to docs/benchmarks.md"
    )
    parser.add_argument(
        "--smoke", action="store_true",
        help="tiny sizes, print the table, write nothing (CI): on the PostgreSQL server of "
        "DATABASE_URL when set (a database of its own), else on a temporary SQLite file",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.smoke:
        if args.write:
            parser.error("--smoke writes nothing: drop --write")
        args.sizes, args.repeat, args.registrations = "100", 2, 20
        args.database_url = stack.smoke_database_url("cpts_events_smoke")
    sizes = sorted(int(size) for size in args.sizes.split(","))

    wall = time.monotonic()
    load_at_start = os.getloadavg()[0]
    stack.demo_in_process(args.database_url, queue="bench-events")
    from django.db import connection  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415
    from django.utils.timezone import localdate  # noqa: PLC0415

    from events.indicators import _bounds, event_indicators  # noqa: PLC0415

    per_registration, waitlisted = registration_throughput(args.registrations)
    print(f"registration: {ms(per_registration)} each, {waitlisted} on a waiting list")

    end: date = localdate()
    start = end - timedelta(days=365)
    since, until = _bounds(start, end)

    def raw_count() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM events_registration r JOIN events_event e "
                "ON e.id = r.event_id WHERE e.starts_at >= %s AND e.starts_at < %s "
                "AND r.attended_at IS NOT NULL",
                [since, until],
            )
            return int(cursor.fetchone()[0])

    results = []
    for size in sizes:
        add_registrations(size)
        with CaptureQueriesContext(connection) as queries:
            event_indicators(start, end)
        timed(raw_count, 3)  # warm-up
        base = timed(raw_count, args.repeat)
        figures = timed(lambda: event_indicators(start, end), args.repeat)
        results.append((size, raw_count(), base, figures, len(queries.captured_queries)))
        print(size, *(ms(percentile(t, 50)) for t in (base, figures)))

    vendor = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    lines = [
        "## The agenda (`bench/events.py`)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()} (load "
        f"{load_at_start:.1f} at the start); {vendor} on the same machine, in-process.",
        "",
        f"- One-click registration through the service (row lock, places counted, audit "
        f"entry): {ms(per_registration)} each over {args.registrations} sequential "
        f"registrations ({waitlisted} sent to a waiting list of events of 8 places).",
        f"- Indicators of a year ({args.repeat} sequential calls each) against a raw "
        "`SELECT COUNT(*)` of the period's presences, in the same run:",
        "",
        "| Registrations (N) | Present | Baseline: SQL COUNT, p50 | p95 "
        "| Indicators (queries), p50 | p95 | Ratio p50 |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, present, base, figures, query_count in results:
        ratio = percentile(figures, 50) / max(percentile(base, 50), 1e-9)
        lines.append(
            f"| {size:,} | {present:,} | {ms(percentile(base, 50))} | {ms(percentile(base, 95))} "
            f"| {ms(percentile(figures, 50))} ({query_count}) | {ms(percentile(figures, 95))} "
            f"| {ratio:.1f}× |"
        )
    lines += [
        "",
        f"Reproduce: `python bench/events.py --sizes {','.join(map(str, sizes))} "
        f"--repeat {args.repeat} --registrations {args.registrations} --write` (this run "
        f"took {time.monotonic() - wall:.0f} s).",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_section("events", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
