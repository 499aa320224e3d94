"""Searching encrypted conversation subjects, against the same list without the search.

    python bench/subject_search.py [--sizes 500,2000,10000] [--repeat 20] [--write]
    python bench/subject_search.py --smoke   # tiny sizes, prints the tables, writes nothing

Why: subjects are encrypted (people type patient names in them), so `?subject=` cannot be a
SQL filter; messaging.selectors decrypts the subjects of the member's most recent
conversations, at most MESSAGING_SUBJECT_SEARCH_LIMIT of them, and matches them in Python.
This measures what that costs for one member who has N conversations, through the API
(`GET /api/v1/conversations/`, in-process, with the database on PostgreSQL), next to the
baseline of the same request without `subject` in the same run:

- baseline: the first page (50) of the list, no filter (decrypts the 50 subjects it shows);
- search, a word in about 1 % of the subjects (the page shows the matches);
- search, a word in none (the worst case: the whole window is decrypted for nothing);
- and, inside the selector, the window alone: its rows fetched by SQL (ids and ciphertexts,
  the baseline), then fetched, decrypted and matched (what the search adds to a request).

1. Creates a fresh database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
   cpts_bench_subjects), migrates it and loads the demo CPTS.
2. Gives dr.martin conversations with pharma.durand (bulk INSERT, subjects encrypted as the
   application does), up to each of --sizes in turn, and times each request --repeat times.
Everything runs on 127.0.0.1; every loop is bounded.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import stack  # noqa: E402
from bench.report import machine, percentile, write_section  # noqa: E402
from bench.stack import ms  # noqa: E402

HIT, MISS = "lefevre", "introuvable"


def add_conversations(target: int) -> None:
    """dr.martin's conversations with pharma.durand, up to `target`; one in 100 names Lefèvre."""
    from django.utils.timezone import now  # noqa: PLC0415

    from directory.models import Member  # noqa: PLC0415
    from messaging.models import Conversation, Participant  # noqa: PLC0415

    gp = Member.objects.get(user__username="dr.martin")
    pharmacist = Member.objects.get(user__username="pharma.durand")
    existing = Conversation.objects.filter(created_by=gp).count()
    start = now() - timedelta(days=365)
    rows = []
    for i in range(existing, target):
        at = start + timedelta(minutes=30 * i)
        name = "Mme Lefèvre" if i % 100 == 7 else f"patient n°{i}"
        rows.append(
            Conversation(
                created_by=gp,
                subject=f"Question {i} : traitement de sortie de {name}",
                created_at=at,
                last_message_at=at,
                retention_days=365,
                retain_until=at + timedelta(days=365),
            )
        )
    Conversation.objects.bulk_create(rows, batch_size=2000)
    created = Conversation.objects.filter(created_by=gp).order_by("pk")[existing:]
    Participant.objects.bulk_create(
        [Participant(conversation=c, member=m) for c in created for m in (gp, pharmacist)],
        batch_size=5000,
    )
    from django.db import connection  # noqa: PLC0415

    with connection.cursor() as cursor:  # fresh statistics, as autovacuum would have them
        cursor.execute("ANALYZE messaging_conversation")
        cursor.execute("ANALYZE messaging_participant")


def time_requests(client: Any, query: str, repeat: int) -> tuple[list[float], int]:
    samples, count = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(f"/api/v1/conversations/{query}", HTTP_HOST="127.0.0.1")
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content
        count = response.json()["count"]
    return samples, count


def time_window(repeat: int) -> tuple[list[float], list[float]]:
    """The search window of dr.martin's inbox: SQL fetch only, and fetch + decrypt + match."""
    from django.conf import settings  # noqa: PLC0415

    from directory.models import Member  # noqa: PLC0415
    from messaging import selectors  # noqa: PLC0415

    gp = Member.objects.get(user__username="dr.martin")
    window = selectors.conversations_visible_to(gp).annotate(activity=selectors.ACTIVITY)
    fetched, searched = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        rows = window.order_by("-activity", "-pk").values_list("pk", "code", "subject")
        assert list(rows[: settings.MESSAGING_SUBJECT_SEARCH_LIMIT])
        fetched.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert not selectors._subject_matches(window, MISS)
        searched.append(time.perf_counter() - started)
    return fetched, searched


def database_name(connection: Any) -> str:
    if connection.vendor == "postgresql":
        return f"PostgreSQL {connection.pg_version // 10000}"
    return "SQLite"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/cpts_bench_subjects"
    )
    parser.add_argument("--sizes", default="500,2000,10000")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--write", action="store_true", help="write the figures to docs/benchmarks.md"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, print the tables, write nothing (CI): on the PostgreSQL server of "
        "DATABASE_URL when set (a database of its own), else on a temporary SQLite file",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        if args.write:
            parser.error("--smoke writes nothing: drop --write")
        args.sizes, args.repeat = "30", 2
        args.database_url = stack.smoke_database_url("cpts_bench_subjects_smoke")
    sizes = sorted(int(size) for size in args.sizes.split(","))

    wall = time.monotonic()
    load_at_start = os.getloadavg()[0]
    stack.demo_in_process(args.database_url, queue="bench-subjects")
    from django.conf import settings  # noqa: PLC0415
    from rest_framework.test import APIClient  # noqa: PLC0415

    from directory.models import Member  # noqa: PLC0415

    limit = settings.MESSAGING_SUBJECT_SEARCH_LIMIT
    client = APIClient()
    client.force_authenticate(Member.objects.get(user__username="dr.martin").user)
    results = []
    for size in sizes:
        add_conversations(size)
        time_requests(client, "", 3)  # warm-up: connection, caches, code paths
        base, total = time_requests(client, "", args.repeat)
        hit, found = time_requests(client, f"?subject={HIT}", args.repeat)
        miss, none = time_requests(client, f"?subject={MISS}", args.repeat)
        assert none == 0
        fetched, searched = time_window(args.repeat)
        results.append((size, total, base, hit, found, miss, fetched, searched))
        print(size, *(ms(percentile(t, 50)) for t in (base, hit, miss, fetched, searched)))

    from django.db import connection  # noqa: PLC0415

    lines = [
        "## Searching encrypted subjects (`bench/subject_search.py`)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()} (load "
        f"{load_at_start:.1f} at the start); {database_name(connection)} on "
        "the same machine, requests in-process through Django's test client (no HTTP server), "
        f"{args.repeat} sequential requests each. One member (dr.martin) with N conversations; "
        f"`MESSAGING_SUBJECT_SEARCH_LIMIT` = {limit:,}: a subject search decrypts at most that "
        "many subjects (the most recent), so beyond it the cost stops growing and older "
        "conversations are not searched (narrow by date to reach them; docs/security.md).",
        "",
        "The whole request (`GET /api/v1/conversations/`, count and first page of 50):",
        "",
        "| Conversations (N) | Baseline: no filter, p50 | p95 | `?subject=`, word in ~1 % "
        "(found) p50 | p95 | `?subject=`, word in none, p50 | p95 |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _size, total, base, hit, found, miss, _fetched, _searched in results:
        lines.append(
            f"| {total:,} | {ms(percentile(base, 50))} | {ms(percentile(base, 95))} | "
            f"{ms(percentile(hit, 50))} ({found}) | {ms(percentile(hit, 95))} | "
            f"{ms(percentile(miss, 50))} | {ms(percentile(miss, 95))} |"
        )
    lines += [
        "",
        "The search window alone (`messaging.selectors._subject_matches`, word in none):",
        "",
        "| Conversations (N) | Subjects in the window | Baseline: SQL fetch only, p50 | p95 "
        "| Fetch + decrypt + match, p50 | p95 |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for _size, total, _base, _hit, _found, _miss, fetched, searched in results:
        lines.append(
            f"| {total:,} | {min(total, limit):,} | {ms(percentile(fetched, 50))} | "
            f"{ms(percentile(fetched, 95))} | {ms(percentile(searched, 50))} | "
            f"{ms(percentile(searched, 95))} |"
        )
    lines += [
        "",
        f"Reproduce: `python bench/subject_search.py --sizes {','.join(map(str, sizes))} "
        f"--repeat {args.repeat} --write` (this run took {time.monotonic() - wall:.0f} s).",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_section("subject-search", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
