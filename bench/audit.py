"""Benchmark audited writes against the same writes without audit, at 1 to 64 writers.

Why: every audited write (and every audited read of a clinical object) appends to a hash
chain, and appending locks that chain's head until the caller commits. With one chain the
audit would serialise every audited write of the service; with AUDIT_SHARDS chains it
should not (goal: audited writes at 4, 16 and 64 concurrent writers reach at least 0.8x
the throughput of the same writes without audit). A write here is the least a service does:
insert a row and bump a version, in its own transaction; the audited one also calls
`record()` in that transaction, last, as services do.

Usage::

    python bench/audit.py [--entries 2000] [--writers 4,16,64] [--repeat 3]
                          [--write docs/benchmarks.md]
    python bench/audit.py --smoke     # seconds: tiny sizes, prints the table, writes nothing

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
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
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


def throwaway_database(*, smoke: bool = False) -> None:
    """Point the test-database machinery at a name of our own, then create it."""
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        if smoke:  # in memory: the smoke run checks that the script works, not its timings
            database.setdefault("TEST", {})["NAME"] = None
            database["TEST"]["MIGRATE"] = False  # tables straight from the models: faster
            return
        # A file, not memory: commits must cost what they cost in the demo.
        name = str(Path(tempfile.mkdtemp(prefix="bench-audit-")) / "bench.sqlite3")
    else:
        name = f"{database['NAME']}_bench_audit"
    database.setdefault("TEST", {})["NAME"] = name


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def in_processes(
    writers: int, count: int, work: Callable[[int], None], *, shards: int | None = None
) -> Callable[[], float]:
    """A run of ``writers`` forked processes doing ``work(count // writers)`` each, on their
    own connections, as gunicorn workers would (threads would share one GIL and measure it).

    The run returns its duration: from the moment every writer is ready to the last one's
    end, so that forking is not counted. ``shards`` overrides AUDIT_SHARDS in the writers.
    """

    def run() -> float:
        import multiprocessing  # noqa: PLC0415

        from django.db import connections  # noqa: PLC0415

        if writers == 1 and shards is None:  # no process to fork (and SQLite in memory works)
            return timed(lambda: work(count))

        context = multiprocessing.get_context("fork")
        start = context.Barrier(writers + 1)
        times = context.Queue()

        def writer() -> None:
            connections.close_all()  # never the parent's connection: a fresh one
            if shards is not None:
                settings.AUDIT_SHARDS = shards
            start.wait()
            began = time.perf_counter()
            work(count // writers)
            times.put((began, time.perf_counter()))
            connections.close_all()

        connections.close_all()
        processes = [context.Process(target=writer) for _ in range(writers)]
        for process in processes:
            process.start()
        start.wait()
        spans = [times.get(timeout=600) for _ in processes]
        for process in processes:
            process.join()
        if any(process.exitcode for process in processes):
            raise SystemExit("a writer process failed")
        return max(end for _, end in spans) - min(began for began, _ in spans)

    return run


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """Return the shortest of ``repeat`` timings: the least disturbed by other processes."""
    return min(timed(run) for _ in range(repeat))


WRITE_TABLE = "bench_audit_write"


def create_write_table() -> None:
    """The table the benchmark's writes change: a row per write, a version row per writer."""
    from django.db import connection  # noqa: PLC0415

    serial = "bigserial" if connection.vendor == "postgresql" else "integer"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {WRITE_TABLE} (id {serial} PRIMARY KEY, writer integer NOT NULL, "
            "step integer NOT NULL, label varchar(64) NOT NULL)"
        )
        cursor.execute(
            f"CREATE TABLE {WRITE_TABLE}_version (writer integer PRIMARY KEY, version integer)"
        )


def measure(entries: int, writers: list[int], repeat: int) -> tuple[list[Row], str]:
    """Run every measurement in the throwaway database; return the rows and a note."""
    from django.db import connection, transaction  # noqa: PLC0415

    from security.actions import register_action  # noqa: PLC0415
    from security.audit import record, verify_chain  # noqa: PLC0415

    # The benchmark's own action, declared like any app's (AUDIT_STRICT_ACTIONS is on here).
    bench_append = register_action("bench.append", "Écriture du banc d'essai")
    create_write_table()

    def change(writer: int, step: int) -> None:
        # What a service's write does at the least: insert a row, bump a version (its own
        # row per writer, so that the plain writes never wait for each other).
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_audit_write (writer, step, label) VALUES (%s, %s, %s)",
                [writer, step, "bench"],
            )
            cursor.execute(
                "UPDATE bench_audit_write_version SET version = version + 1 WHERE writer = %s",
                [writer],
            )

    def writes(*, audited: bool) -> Callable[[int], None]:
        def work(count: int) -> None:
            writer = os.getpid()  # its own version row, kept across rounds
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO bench_audit_write_version (writer, version) VALUES (%s, 0) "
                    "ON CONFLICT DO NOTHING",
                    [writer],
                )
            for step in range(count):
                # An audited write records in the transaction of its change, last.
                with transaction.atomic():
                    change(writer, step)
                    if audited:
                        record(actor=None, action=bench_append, extra={"step": step})

        return work

    # The walk is timed first, on a trail of `entries` entries spread over the chains.
    trail_writers = max(writers) if connection.vendor == "postgresql" else 1
    in_processes(trail_writers, entries, writes(audited=True))()
    verify = Row("`verify_chain()` walk", entries, best_of(repeat, verify_chain))
    from django.db import connections  # noqa: PLC0415

    connections.close_all()
    if not verify_chain().ok:
        raise SystemExit("the benchmark's own chain does not verify")

    runs: dict[str, Callable[[], float]] = {}
    counts = [1] + [count for count in writers if count > 1]
    if connection.vendor != "postgresql":
        counts = [1]  # SQLite has one writer at a time: see render_vendor
    for count in counts:
        label = "1 writer" if count == 1 else f"{count} concurrent writers"
        runs[f"audited write, {label}"] = in_processes(count, entries, writes(audited=True))
        runs[f"plain write, {label}"] = in_processes(count, entries, writes(audited=False))
    if len(counts) > 1:
        # What the shards buy: the same run with a single chain, every append on one head.
        most = counts[-1]
        label = f"{most} concurrent writers, AUDIT_SHARDS=1 (one chain)"
        runs[f"audited write, {label}"] = in_processes(
            most, entries, writes(audited=True), shards=1
        )
        runs[f"plain write, {label}"] = runs[f"plain write, {most} concurrent writers"]

    # Interleaved rounds, best of each: the load of other processes hits both sides alike.
    best = dict.fromkeys(runs, math.inf)
    for _ in range(repeat):
        for name, run in runs.items():
            if name.startswith("plain") and "AUDIT_SHARDS=1" in name:
                continue  # the same run as the row above it
            best[name] = min(best[name], run())
    for name in runs:
        if name.startswith("plain") and "AUDIT_SHARDS=1" in name:
            best[name] = best[name.split(", AUDIT_SHARDS=1")[0]]
    rows: list[Row] = []
    names = list(runs)
    for audited_name, plain_name in zip(names[::2], names[1::2], strict=True):
        baseline = Row(plain_name, entries, best[plain_name])
        rows += [Row(audited_name, entries, best[audited_name], baseline), baseline]
    rows.append(verify)
    shards = settings.AUDIT_SHARDS
    return rows, (
        f"AUDIT_SHARDS={shards}; `verify_chain()` timed on a trail of {entries:,} entries "
        f"written by {trail_writers} writer(s)"
    )


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
        "| Writes | Transactions | Per second | Audited vs plain |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        ratio = f"{row.rate / row.baseline.rate:.0%}" if row.baseline else ""
        lines.append(f"| {row.operation} | {row.entries:,} | {row.rate:,.0f} | {ratio} |")
    if vendor == "sqlite":
        lines += [
            "",
            "No concurrent rows: SQLite lets one writer at a time into the whole database, so "
            "concurrent writers would measure SQLite's lock, not the chains'.",
        ]
    lines.append(f"<!-- bench:audit:{vendor}:end -->")
    return "\n".join(lines)


def render(subsections: dict[str, str], args: argparse.Namespace) -> str:
    """The whole audit section, markers included, one sub-section per vendor."""
    lines = [
        START_MARKER,
        "## Audit trail (`security.audit.record`)",
        "",
        "Each write is one transaction that inserts a row and bumps a version row (its "
        "writer's own, so plain writes never wait for each other); the audited write also "
        "calls `record()` last in the transaction: it takes a free chain head (SELECT ... "
        "FOR UPDATE SKIP LOCKED), seals the entry (HMAC-SHA256 over canonical JSON), inserts "
        "it and moves the head. Goal: audited writes at 4, 16 and 64 concurrent writers at "
        "least 0.8x the plain ones, i.e. the audit is not a global serialisation point. "
        "Writers are forked processes, each on its own connection, as gunicorn workers "
        "are; the time runs from the moment all are ready to the last one's end. The "
        "plain write is the cheapest a service can make (two raw statements), so the "
        "ratio is a lower bound: real services write more per audited transaction.",
        "",
        *[subsections[vendor] + "\n" for vendor in sorted(subsections)],
        f"Reproduce: `python bench/audit.py --entries {args.entries} --writers "
        f"{','.join(map(str, args.writers))} "
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


def writer_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("positive counts, e.g. 4,16,64")
    return counts


def main(argv: list[str] | None = None) -> int:
    """Create a throwaway database, measure, print the table and optionally write it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000, help="writes per measurement")
    parser.add_argument(
        "--writers",
        type=writer_counts,
        default=[4, 16, 64],
        help="comma-separated concurrent writer counts (PostgreSQL; 1 writer is always run)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure, best kept")
    parser.add_argument("--write", type=Path, help="Markdown file to update")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, print the table, write nothing (CI)"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        if args.write:
            parser.error("--smoke writes nothing: drop --write")
        args.entries, args.writers, args.repeat = 16, [4], 1
    if args.entries < 1 or args.repeat < 1:
        parser.error("--entries and --repeat must be positive")
    if args.entries < max(args.writers):
        parser.error("--entries must be at least the largest writer count")

    throwaway_database(smoke=args.smoke)
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
