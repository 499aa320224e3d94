"""Tele-expertise indicators and billing counts, against a raw SQL COUNT in the same run.

    python bench/teleexpertise.py [--sizes 1000,10000,50000] [--repeat 20] [--write]
    python bench/teleexpertise.py --smoke   # tiny sizes, prints the table, writes nothing

Why: the coordinator's page shows the tele-expertise figures (liaison.expertise.indicators:
two queries, clear columns only) and every request shows its yearly billing counts
(liaison.expertise.selectors.yearly_counts: two COUNTs on the patient's blind index). Both
must stay flat as requests accumulate. The baseline is the cheapest possible answer to the
same period: `SELECT COUNT(*)` of the requests first sent in it, timed in the same run.

1. Creates a fresh database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
   cpts_expertise), migrates it and loads the demo CPTS (its requests in every state).
2. Adds answered requests to dermatology (bulk INSERT of sheets and their details, spread
   over a year, 1 patient in 50 seen 5 times) up to each of --sizes, and times each
   measure --repeat times. Everything runs on 127.0.0.1; every loop is bounded.
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


def add_requests(target: int) -> None:
    """Answered dermatology requests from dr.martin, up to `target` (bulk INSERT)."""
    from django.utils.timezone import now  # noqa: PLC0415

    from directory.models import Member, Organisation  # noqa: PLC0415
    from liaison.models import ExpertiseRequest, LiaisonSheet  # noqa: PLC0415
    from security.fields import compute_blind_index  # noqa: PLC0415

    gp = Member.objects.get(user__username="dr.martin")
    derm = Member.objects.get(user__username="dr.derm")
    service = Organisation.objects.get(name="Dermatologie")
    existing = ExpertiseRequest.objects.count()
    membership = gp.memberships.first()
    assert membership is not None
    practice = membership.organisation_id
    start = now() - timedelta(days=360)
    sheets = []
    for i in range(existing, target):
        at = start + timedelta(minutes=(i * 37) % (360 * 24 * 60))
        sheets.append(LiaisonSheet(
            kind="expertise", status="answered", author=gp, sender_organisation_id=practice,
            recipient_organisation=service, urgency="routine", sent_at=at,
            content={"specialty": "dermatology"},
        ))  # fmt: skip
    created = LiaisonSheet.objects.bulk_create(sheets, batch_size=1000)
    details = []
    for i, sheet in enumerate(created, start=existing):
        assert sheet.sent_at is not None
        patient = compute_blind_index("bench-patient", f"p-{i // 5 if i % 50 == 0 else i}")
        details.append(ExpertiseRequest(
            sheet=sheet, specialty="dermatology", patient_key=patient,
            first_sent_at=sheet.sent_at, consent_by=gp, consent_at=sheet.sent_at,
            due_at=sheet.sent_at + timedelta(days=7), taken_by=derm,
            answered_by=derm, answered_at=sheet.sent_at + timedelta(hours=1 + i % 200),
            consultation="not_needed" if i % 3 else "routine",
        ))  # fmt: skip
    ExpertiseRequest.objects.bulk_create(details, batch_size=1000)
    from django.db import connection  # noqa: PLC0415

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh statistics, as autovacuum would have them
            cursor.execute("ANALYZE liaison_expertiserequest")
            cursor.execute("ANALYZE liaison_liaisonsheet")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/cpts_expertise"
    )
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--repeat", type=int, default=20)
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
        args.sizes, args.repeat = "50", 2
        args.database_url = stack.smoke_database_url("cpts_expertise_smoke")
    sizes = sorted(int(size) for size in args.sizes.split(","))

    wall = time.monotonic()
    load_at_start = os.getloadavg()[0]
    stack.demo_in_process(args.database_url, queue="bench-expertise")
    from django.db import connection  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415
    from django.utils.timezone import localdate  # noqa: PLC0415

    from liaison.expertise.indicators import _bounds, expertise_indicators  # noqa: PLC0415
    from liaison.expertise.selectors import yearly_counts  # noqa: PLC0415
    from liaison.models import ExpertiseRequest  # noqa: PLC0415

    end: date = localdate()
    start = end - timedelta(days=365)
    since, until = _bounds(start, end)

    def raw_count() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM liaison_expertiserequest "
                "WHERE first_sent_at >= %s AND first_sent_at < %s",
                [since, until],
            )
            return cursor.fetchone()[0]

    results = []
    for size in sizes:
        add_requests(size)
        detail = ExpertiseRequest.objects.select_related("sheet").order_by("pk").last()
        assert detail is not None
        with CaptureQueriesContext(connection) as queries:
            expertise_indicators(start, end)
        timed(raw_count, 3)  # warm-up
        base = timed(raw_count, args.repeat)
        figures = timed(lambda: expertise_indicators(start, end), args.repeat)
        counts = timed(lambda last=detail: yearly_counts(last), args.repeat)
        results.append((raw_count(), base, figures, counts, len(queries.captured_queries)))
        print(size, *(ms(percentile(t, 50)) for t in (base, figures, counts)))

    vendor = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    lines = [
        "## Tele-expertise figures (`bench/teleexpertise.py`)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()} (load "
        f"{load_at_start:.1f} at the start); {vendor} on the same machine, in-process, "
        f"{args.repeat} sequential calls each. N answered requests over a year; the baseline "
        "is a raw `SELECT COUNT(*)` of the requests of the period, in the same run.",
        "",
        "| Requests (N) | Baseline: SQL COUNT, p50 | p95 | Indicators (queries), p50 | p95 "
        "| Yearly billing counts, p50 | p95 |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for total, base, figures, counts, query_count in results:
        lines.append(
            f"| {total:,} | {ms(percentile(base, 50))} | {ms(percentile(base, 95))} | "
            f"{ms(percentile(figures, 50))} ({query_count}) | {ms(percentile(figures, 95))} | "
            f"{ms(percentile(counts, 50))} | {ms(percentile(counts, 95))} |"
        )
    lines += [
        "",
        f"Reproduce: `python bench/teleexpertise.py --sizes {','.join(map(str, sizes))} "
        f"--repeat {args.repeat} --write` (this run took {time.monotonic() - wall:.0f} s).",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_section("teleexpertise", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
