"""Benchmark the audit trail's append against plain INSERTs into the same table.

Why: every audited write (and every audited read of a clinical object) appends to one hash
chain, and appending locks the chain head until the caller commits, so audited writes are
serialised. This script shows what an append costs next to a plain INSERT of the same row,
with one writer and with several (PostgreSQL), so the trade-off stays a measured one.

Usage::

    python bench/audit.py [--entries 2000] [--writers 4] [--repeat 3] [--write docs/benchmarks.md]

It runs against the database of DATABASE_URL (SQLite when unset) but in a throwaway database
created and dropped for the run, never in the real one. Each database vendor keeps its own
sub-section in the Markdown file, so running it once per vendor fills both.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The test settings carry fixed, public keys: the benchmark needs a database, not secrets.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402
from django.conf import settings  # noqa: E402

START_MARKER = "<!-- bench:audit:start -->"
END_MARKER = "<!-- bench:audit:end -->"


@dataclass
class Row:
    """One line of the results table."""

    operation: str
    entries: int
    seconds: float
    baseline: Row | None = None

    @property
    def rate(self) -> float:
        return self.entries / self.seconds


def throwaway_database() -> None:
    """Point the test-database machinery at a name of our own, then create it."""
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        # A file, not memory: commits must cost what they cost in the demo.
        name = str(Path(tempfile.mkdtemp(prefix="bench-audit-")) / "bench.sqlite3")
    else:
        name = f"{database['NAME']}_bench_audit"
    database.setdefault("TEST", {})["NAME"] = name


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """Return the shortest of ``repeat`` timings: the least disturbed by other processes."""
    return min(timed(run) for _ in range(repeat))


def in_threads(writers: int, count: int, work: Callable[[int], None]) -> Callable[[], None]:
    """A run of ``writers`` threads doing ``work(count // writers)`` each, on own connections."""

    def run() -> None:
        from django.db import connection  # noqa: PLC0415

        start = threading.Barrier(writers)
        errors: list[BaseException] = []

        def writer() -> None:
            try:
                start.wait()
                work(count // writers)
            except Exception as error:  # noqa: BLE001  re-raised in the main thread below
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=writer) for _ in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    return run


def measure(entries: int, writers: int, repeat: int) -> tuple[list[Row], str]:
    """Run every measurement in the throwaway database; return the rows and a note."""
    from django.db import connection, transaction  # noqa: PLC0415

    from security.actions import register_action  # noqa: PLC0415
    from security.audit import record, verify_chain  # noqa: PLC0415
    from security.models import AuditEntry  # noqa: PLC0415

    # The benchmark's own action, declared like any app's (AUDIT_STRICT_ACTIONS is on here).
    bench_append = register_action("bench.append", "Écriture du banc d'essai")

    def append_one(index: int) -> None:
        record(actor=None, action=bench_append, extra={"index": index})

    def insert_one(index: int) -> None:
        # The same row as record() writes, with unique random hashes and no chain.
        AuditEntry(
            action="bench.insert",
            extra={"index": index},
            prev_hash=uuid.uuid4().hex * 2,
            hash=uuid.uuid4().hex * 2,
        ).save()

    # Both sides run in explicit transactions: an audited write always shares the
    # transaction of the change it records, so the framing is not what is being measured.
    def one_transaction_each(write: Callable[[int], None]) -> Callable[[int], None]:
        def work(count: int) -> None:
            for index in range(count):
                with transaction.atomic():
                    write(index)

        return work

    def all_in_one_transaction(write: Callable[[int], None]) -> Callable[[int], None]:
        def work(count: int) -> None:
            with transaction.atomic():
                for index in range(count):
                    write(index)

        return work

    # The walk is timed first, on a table holding only the chain: the baseline's rows are
    # not chained and would (rightly) fail verification.
    one_transaction_each(append_one)(entries)
    verify = Row("`verify_chain()` walk", entries, best_of(repeat, verify_chain))
    if not verify_chain().ok:
        raise SystemExit("the benchmark's own chain does not verify")

    runs: dict[str, Callable[[], None]] = {}
    for label, shape in (
        ("one transaction each", one_transaction_each),
        ("all in one transaction", all_in_one_transaction),
    ):
        runs[f"`record()`, {label}"] = partial(shape(append_one), entries)
        runs[f"plain INSERT, {label}"] = partial(shape(insert_one), entries)
    if connection.vendor == "postgresql" and writers > 1:
        label = f"{writers} concurrent writers, one transaction each"
        runs[f"`record()`, {label}"] = in_threads(
            writers, entries, one_transaction_each(append_one)
        )
        runs[f"plain INSERT, {label}"] = in_threads(
            writers, entries, one_transaction_each(insert_one)
        )

    # Interleaved rounds, best of each: the load of other processes hits both sides alike.
    best = dict.fromkeys(runs, math.inf)
    for _ in range(repeat):
        for name, run in runs.items():
            best[name] = min(best[name], timed(run))
    rows: list[Row] = []
    names = list(runs)
    for append_name, insert_name in zip(names[::2], names[1::2], strict=True):
        baseline = Row(insert_name, entries, best[insert_name])
        rows += [Row(append_name, entries, best[append_name], baseline), baseline]
    rows.append(verify)
    return rows, f"`verify_chain()` timed on a chain of {entries:,} entries"


def database_description() -> str:
    from django.db import connection  # noqa: PLC0415

    if connection.vendor == "postgresql":
        version = connection.pg_version
        return f"PostgreSQL {version // 10000}.{version % 10000}"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        (journal,) = cursor.fetchone()
    return f"SQLite {sqlite3.sqlite_version} (a file, journal_mode={journal})"


def render_vendor(rows: list[Row], note: str, args: argparse.Namespace, vendor: str) -> str:
    """The sub-section of one database vendor, with its own markers."""
    measured = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]  # other processes on the machine make the figures noisier
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs (load {load:.1f})"
    lines = [
        f"<!-- bench:audit:{vendor}:start -->",
        f"### {database_description()}",
        "",
        f"Measured {measured} on {machine}, Python {platform.python_version()}; "
        f"each figure the best of {args.repeat} interleaved rounds; {note}.",
        "",
        "| Operation | Entries | Entries/s | vs plain INSERT |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        ratio = f"{row.rate / row.baseline.rate:.0%}" if row.baseline else ""
        lines.append(f"| {row.operation} | {row.entries:,} | {row.rate:,.0f} | {ratio} |")
    if vendor == "sqlite":
        lines += [
            "",
            "No concurrent rows: SQLite lets one writer at a time into the whole database, so "
            "concurrent writers would measure SQLite's lock, not the chain's.",
        ]
    lines.append(f"<!-- bench:audit:{vendor}:end -->")
    return "\n".join(lines)


def render(subsections: dict[str, str], args: argparse.Namespace) -> str:
    """The whole audit section, markers included, one sub-section per vendor."""
    lines = [
        START_MARKER,
        "## Audit trail (`security.audit.record`)",
        "",
        "An append locks the chain head, seals the entry (HMAC-SHA256 over canonical JSON), "
        "inserts it and moves the head: three queries where a plain INSERT needs one, and "
        "appends from concurrent transactions wait for each other. The baseline is the same "
        "row written with a plain ORM INSERT into the same table.",
        "",
        *[subsections[vendor] + "\n" for vendor in sorted(subsections)],
        f"Reproduce: `python bench/audit.py --entries {args.entries} --writers {args.writers} "
        f"--repeat {args.repeat}`, once with `DATABASE_URL` unset (SQLite) and once with "
        "`DATABASE_URL=postgres://...`; it creates and drops its own database.",
        END_MARKER,
    ]
    return "\n".join(lines)


def existing_subsections(path: Path) -> dict[str, str]:
    """Sub-sections already in the file, by vendor, so one run does not erase the other's."""
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    found = {}
    for vendor in ("postgresql", "sqlite"):
        start = text.find(f"<!-- bench:audit:{vendor}:start -->")
        end_marker = f"<!-- bench:audit:{vendor}:end -->"
        end = text.find(end_marker)
        if start != -1 and end > start:
            found[vendor] = text[start : end + len(end_marker)]
    return found


def write_section(path: Path, section: str) -> None:
    """Replace the marked section of ``path`` (or append it), leaving the rest untouched."""
    if path.exists():
        text = path.read_text(encoding="utf-8")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "# Benchmarks\n"
    start, end = text.find(START_MARKER), text.find(END_MARKER)
    if start != -1 and end > start:
        text = text[:start] + section + text[end + len(END_MARKER) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
    """Create a throwaway database, measure, print the table and optionally write it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000, help="entries per measurement")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writers (PostgreSQL)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure, best kept")
    parser.add_argument("--write", type=Path, help="Markdown file to update")
    args = parser.parse_args(argv)
    if args.entries < 1 or args.repeat < 1 or args.writers < 1:
        parser.error("--entries, --writers and --repeat must be positive")

    throwaway_database()
    django.setup()
    from django.db import connection  # noqa: PLC0415
    from django.test.utils import setup_databases, teardown_databases  # noqa: PLC0415

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        rows, note = measure(args.entries, args.writers, args.repeat)
        vendor = connection.vendor
        subsection = render_vendor(rows, note, args, vendor)
    finally:
        teardown_databases(old_config, verbosity=0)

    subsections = existing_subsections(args.write) if args.write else {}
    subsections[vendor] = subsection
    section = render(subsections, args)
    print(section)
    if args.write:
        write_section(args.write, section)
        print(f"\nWrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
