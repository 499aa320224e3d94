"""Benchmark audited writes against the same writes without audit, at 1 to 64 writers.

Why: every audited write (and every audited read of a clinical object) appends to a hash
chain, and appending locks that chain's head until the caller commits. With one chain the
audit would serialise every audited write of the service; with AUDIT_SHARDS chains it
should not (goal: audited writes at 4, 16 and 64 concurrent writers reach at least 0.8x
the throughput of the same writes without audit). Two kinds of write are
measured. The minimal one is the least a service does: insert a row and bump a version, in
its own transaction; the audited one also calls `record()` in that transaction, last, as
services do (a lower bound of the ratio). The real one is a message posted through
messaging's service (`post_message`), each writer in its own conversation, once audited and
once with `record()` replaced by a no-op (`audit_switched_off`, the bench's own switch).
`--waits` samples what the database backends wait for during the concurrent runs.

Usage::

    python bench/audit.py [--entries 2000] [--writers 4,16,64] [--repeat 3] [--waits]
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
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
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
    cpu: tuple[float, float] | None = None  # writer and backend CPU seconds per transaction

    @property
    def rate(self) -> float:
        return self.entries / self.seconds


def private_var_dir() -> None:
    """A VAR_DIR of the run's own, and no shared Redis: the message posts' notifications go
    to a Celery spool in it (kombu's filesystem transport) and their push events to the
    in-process buffer, as in bench/messaging.py. Before Django reads its settings."""
    os.environ.pop("REDIS_URL", None)
    var_dir = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    for folder in ("queue", "processed", "control"):
        (var_dir / "celery-spool" / folder).mkdir(parents=True)
    os.environ["VAR_DIR"] = str(var_dir)


def throwaway_database(*, smoke: bool = False) -> None:
    """Point the test-database machinery at a name of our own, then create it."""
    database = settings.DATABASES["default"]
    if smoke:
        # The smoke run checks that the script works, not its timings: tables straight from
        # the models (faster than the migrations, without their indexes and triggers).
        database.setdefault("TEST", {})["MIGRATE"] = False
    if database["ENGINE"].endswith("sqlite3"):
        if smoke:  # in memory
            database["TEST"]["NAME"] = None
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


# The CPU time of the last run: (writers' own, their database backends'), in seconds.
LAST_CPU: list[tuple[float, float]] = [(0.0, 0.0)]


def backend_pid() -> int | None:
    """The process id of this connection's PostgreSQL backend (None on SQLite)."""
    from django.db import connection  # noqa: PLC0415

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return int(pid)


def cpu_seconds(backend: int | None) -> tuple[float, float]:
    """CPU time so far of this process and of its database backend: a measure that other
    processes on a shared machine disturb far less than rates. The backend's is read from
    /proc/<pid>/stat (in clock ticks, 10 ms), so only for a server on this machine (0
    otherwise)."""
    spent = 0.0
    if backend is not None:
        try:
            fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
            spent = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            spent = 0.0
    return time.process_time(), spent


def in_processes(
    writers: int,
    count: int,
    work: Callable[[int, int], None],
    *,
    shards: int | None = None,
    warm_up: Callable[[], None] | None = None,
) -> Callable[[], float]:
    """A run of ``writers`` forked processes doing ``work(count // writers, index)`` each
    (``index`` from 0: which writer it is), on their own connections, as gunicorn workers
    would (threads would share one GIL and measure it).

    The run returns its duration: from the moment every writer is ready to the last one's
    end, so that forking is not counted; LAST_CPU then holds the CPU the writers and their
    backends spent in that span. ``shards`` overrides AUDIT_SHARDS in the writers;
    ``warm_up`` runs in each writer before that moment (what a long-lived worker has done
    long before: a new process is not a new request).
    """

    def run() -> float:
        import multiprocessing  # noqa: PLC0415

        from django.db import connections  # noqa: PLC0415

        if writers == 1 and shards is None:  # no process to fork (and SQLite in memory works)
            backend = backend_pid()
            before = cpu_seconds(backend)
            seconds = timed(lambda: work(count, 0))
            after = cpu_seconds(backend)
            LAST_CPU[0] = (after[0] - before[0], after[1] - before[1])
            return seconds

        context = multiprocessing.get_context("fork")
        start = context.Barrier(writers + 1)
        times = context.Queue()

        def writer(index: int) -> None:
            connections.close_all()  # never the parent's connection: a fresh one
            if shards is not None:
                settings.AUDIT_SHARDS = shards
            if warm_up is not None:
                warm_up()
            backend = backend_pid()
            start.wait()
            began, before = time.perf_counter(), cpu_seconds(backend)
            work(count // writers, index)
            ended, after = time.perf_counter(), cpu_seconds(backend)
            times.put((began, ended, after[0] - before[0], after[1] - before[1]))
            connections.close_all()

        connections.close_all()
        processes = [context.Process(target=writer, args=(index,)) for index in range(writers)]
        for process in processes:
            process.start()
        start.wait()
        spans = [times.get(timeout=600) for _ in processes]
        for process in processes:
            process.join()
        if any(process.exitcode for process in processes):
            raise SystemExit("a writer process failed")
        LAST_CPU[0] = (sum(span[2] for span in spans), sum(span[3] for span in spans))
        return max(span[1] for span in spans) - min(span[0] for span in spans)

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


@contextmanager
def audit_switched_off() -> Iterator[None]:
    """`record()` as a no-op: the baseline of the service rows, the same writes unaudited.

    The benchmark's own switch, not production code's: services call it as `audit.record`
    through the module, so replacing the module's attribute reaches every call site.
    """
    from security import audit  # noqa: PLC0415

    original = audit.record
    audit.record = lambda **kwargs: None  # type: ignore[assignment,return-value]
    try:
        yield
    finally:
        audit.record = original


def create_conversations(count: int) -> tuple[int, list[int]]:
    """One conversation per writer (so that no writer waits for another's conversation row,
    audited or not) between two demo members: the author's id and the conversations' ids."""
    from directory.demo import load_directory  # noqa: PLC0415
    from messaging.services.conversations import start_conversation  # noqa: PLC0415

    members = load_directory(password="demo")
    author, reader = members["dr.martin"], members["pharma.durand"]
    conversations = [
        start_conversation(
            actor=author, subject=f"Banc d'essai {index}", participants=[reader], body="Début"
        )
        for index in range(count)
    ]
    return author.pk, [conversation.pk for conversation in conversations]


def reserve_encryptions() -> None:
    """Reserve this process's first block of encryptions (security.keys), on its own."""
    from security.crypto import keyring_from_settings  # noqa: PLC0415

    keyring_from_settings().reserve(1)


def message_posts(
    author: int, conversations: list[int], *, audited: bool
) -> Callable[[int, int], None]:
    """Writers that post messages through messaging's service (`post_message`: the
    conversation's dates, the message, its receipt, the notification check, the push event
    and, audited, the entry), writer `index` in conversation `index`."""

    def work(count: int, index: int) -> None:
        from django.db import transaction  # noqa: PLC0415

        from directory.models import Member  # noqa: PLC0415
        from messaging.models import Conversation  # noqa: PLC0415
        from messaging.services.messages import post_message  # noqa: PLC0415

        actor = Member.objects.get(pk=author)
        conversation = Conversation.objects.get(pk=conversations[index])
        with nullcontext() if audited else audit_switched_off():
            for step in range(count):
                with transaction.atomic():  # the writer's transaction, as a view's
                    post_message(
                        actor=actor, conversation=conversation, body=f"Message {step} du banc"
                    )

    return work


@dataclass
class WaitSamples:
    """What the bench database's backends were doing, sampled every few milliseconds."""

    samples: int = 0
    states: Counter[str] = field(default_factory=Counter)
    lock_waits: Counter[str] = field(default_factory=Counter)

    def merge(self, other: WaitSamples) -> None:
        self.samples += other.samples
        self.states.update(other.states)
        self.lock_waits.update(other.lock_waits)

    def share(self, state: str) -> float:
        total = sum(self.states.values())
        return self.states[state] / total if total else 0.0


@contextmanager
def sampling_waits(enabled: bool, every: float = 0.02) -> Iterator[WaitSamples]:
    """Sample pg_stat_activity (each busy backend of the bench database: running, waiting
    for what, or idle in its transaction) and pg_locks (ungranted locks, by relation) from
    a thread on its own connection, while the block runs. Nothing when not `enabled`."""
    found = WaitSamples()
    if not enabled:
        yield found
        return
    import psycopg  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415

    params = connection.get_connection_params()
    conninfo = {
        k: params[k] for k in ("dbname", "user", "host", "port", "password") if params.get(k)
    }
    stop = threading.Event()

    def sample() -> None:
        with psycopg.connect(**conninfo, autocommit=True) as probe:
            while not stop.is_set():
                rows = probe.execute(
                    "SELECT state, coalesce(wait_event_type || ':' || wait_event, 'CPU'), "
                    "left(regexp_replace(query, '\\s+', ' ', 'g'), 60) "
                    "FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state <> 'idle'"
                ).fetchall()
                for state, wait, query in rows:
                    found.states[wait if state == "active" else state] += 1
                    if wait.startswith("Lock:"):
                        found.lock_waits[f"{wait} in `{query}`"] += 1
                found.samples += 1
                stop.wait(every)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join()


def measure(
    entries: int, writers: list[int], repeat: int, *, waits: bool = False, only: str | None = None
) -> tuple[list[Row], dict[str, WaitSamples], str]:
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

    def writes(*, audited: bool) -> Callable[[int, int], None]:
        def work(count: int, index: int) -> None:
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
    pairs: list[tuple[str, str]] = []  # (audited, its baseline)
    same_run: dict[str, str] = {}  # a baseline that is another row's run

    def pair(
        audited: str, run: Callable[[], float], baseline: str, base: str | Callable[[], float]
    ) -> None:
        runs[audited] = run
        if isinstance(base, str):
            same_run[baseline] = base
        else:
            runs[baseline] = base
        pairs.append((audited, baseline))

    counts = [1] + [count for count in writers if count > 1]
    if connection.vendor != "postgresql":
        counts = [1]  # SQLite has one writer at a time: see render_vendor
    most = counts[-1]
    for count in counts if only != "posts" else []:
        label = "1 writer" if count == 1 else f"{count} concurrent writers"
        pair(
            f"audited write, {label}",
            in_processes(count, entries, writes(audited=True)),
            f"plain write, {label}",
            in_processes(count, entries, writes(audited=False)),
        )
    if len(counts) > 1 and only != "posts":
        # What the shards buy: the same run with a single chain, every append on one head.
        label = f"{most} concurrent writers, AUDIT_SHARDS=1 (one chain)"
        pair(
            f"audited write, {label}",
            in_processes(most, entries, writes(audited=True), shards=1),
            f"plain write, {label}",
            f"plain write, {most} concurrent writers",
        )
    # The same comparison with a write of this project: a message posted through messaging's
    # service, once audited and once with record() a no-op. Each writer has reserved its
    # block of encryptions (security.keys) before the clock starts, as a long-lived worker
    # has: a new process's first reservation locks the shared KeyUsage row until it commits.
    author, conversations = create_conversations(max(counts))
    connections.close_all()
    for count in counts if only != "minimal" else []:
        label = "1 writer" if count == 1 else f"{count} concurrent writers"
        pair(
            f"audited message post, {label}",
            in_processes(
                count,
                entries,
                message_posts(author, conversations, audited=True),
                warm_up=reserve_encryptions,
            ),
            f"message post, `record()` a no-op, {label}",
            in_processes(
                count,
                entries,
                message_posts(author, conversations, audited=False),
                warm_up=reserve_encryptions,
            ),
        )
    if most > settings.AUDIT_SHARDS and only != "minimal":
        # As many chains as writers: no writer ever finds every head held.
        label = f"{most} concurrent writers, AUDIT_SHARDS={most}"
        pair(
            f"audited message post, {label}",
            in_processes(
                most,
                entries,
                message_posts(author, conversations, audited=True),
                shards=most,
                warm_up=reserve_encryptions,
            ),
            f"message post, `record()` a no-op, {label}",
            f"message post, `record()` a no-op, {most} concurrent writers",
        )

    # Interleaved rounds, best of each: the load of other processes hits both sides alike.
    best = dict.fromkeys(runs, math.inf)
    cpu: dict[str, tuple[float, float]] = {}  # the round with the least CPU per transaction
    waited: dict[str, WaitSamples] = {}
    for round_ in range(repeat):
        for name, run in runs.items():
            with sampling_waits(waits and " 1 writer" not in name) as samples:
                seconds = run()
            best[name] = min(best[name], seconds)
            spent = (LAST_CPU[0][0] / entries, LAST_CPU[0][1] / entries)
            if name not in cpu or sum(spent) < sum(cpu[name]):
                cpu[name] = spent
            print(
                f"round {round_ + 1}: {name}: {entries / seconds:,.0f}/s, CPU per transaction "
                f"{spent[0] * 1000:.2f} ms writer + {spent[1] * 1000:.2f} ms backend",
                file=sys.stderr,
            )
            if samples.samples:
                waited.setdefault(name, WaitSamples()).merge(samples)
    for baseline, measured in same_run.items():
        best[baseline] = best[measured]
        cpu[baseline] = cpu[measured]
    rows: list[Row] = []
    for audited_name, plain_name in pairs:
        baseline = Row(plain_name, entries, best[plain_name], cpu=cpu[plain_name])
        rows += [Row(audited_name, entries, best[audited_name], baseline, cpu[audited_name])]
        rows.append(baseline)
    rows.append(verify)
    shards = settings.AUDIT_SHARDS
    return (
        rows,
        waited,
        (
            f"AUDIT_SHARDS={shards}; `verify_chain()` timed on a trail of {entries:,} entries "
            f"written by {trail_writers} writer(s)"
        ),
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


WAIT_COLUMNS = ["CPU", "Lock", "LWLock", "IO", "Client", "IPC", "idle in transaction"]


def render_waits(waited: dict[str, WaitSamples]) -> list[str]:
    """What the busy backends were doing during each concurrent run, in shares of samples."""
    if not waited:
        return []
    lines = [
        "",
        "Where the database backends were, sampled every 20 ms during the runs above "
        "(`--waits`; pg_stat_activity of the bench database; shares of busy-backend samples; "
        '"Lock" is a heavyweight lock wait, e.g. on a row another transaction holds, the '
        'statements that waited most named in the last column; "idle in transaction" a '
        "backend waiting for its Python process, i.e. the writers' own CPU):",
        "",
        "| Run | Busy backends (mean) | "
        + " | ".join(WAIT_COLUMNS)
        + " | Lock waits, by statement |",
        "|---|---:|" + "---:|" * len(WAIT_COLUMNS) + "---|",
    ]
    for name, found in waited.items():
        grouped: Counter[str] = Counter()
        for state, samples in found.states.items():
            grouped[state.split(":")[0]] += samples
        total = sum(grouped.values()) or 1
        shares = " | ".join(f"{grouped[column] / total:.0%}" for column in WAIT_COLUMNS)
        locks = "; ".join(
            f"{count / total:.0%} {where}" for where, count in found.lock_waits.most_common(2)
        )
        lines.append(f"| {name} | {total / found.samples:.1f} | {shares} | {locks or 'none'} |")
    return lines


def render_vendor(
    rows: list[Row],
    note: str,
    args: argparse.Namespace,
    vendor: str,
    waited: dict[str, WaitSamples] | None = None,
) -> str:
    """The sub-section of one database vendor, with its own markers."""
    measured = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]  # other processes on the machine make the figures noisier
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs (load {load:.1f})"
    lines = [
        f"<!-- bench:audit:{vendor}:start -->",
        f"### {database_description()}",
        "",
        f"Measured {measured} on {machine}, Python {platform.python_version()}; "
        f"each figure the best of {args.repeat} interleaved rounds; {note}. CPU: the "
        "writers' own (time.process_time) and their backends' (/proc/<pid>/stat; 0 on SQLite), "
        "from the start of the clock to each writer's end, divided by the transactions; "
        "the plain run's over the audited run's is the ratio a saturated machine would "
        "give, far less disturbed by other processes than the rates.",
        "",
        "| Writes | Transactions | Per second | Audited vs plain | CPU per transaction, "
        "writer + backend | Plain vs audited CPU |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        ratio = f"{row.rate / row.baseline.rate:.0%}" if row.baseline else ""
        spent = f"{row.cpu[0] * 1000:.2f} + {row.cpu[1] * 1000:.2f} ms" if row.cpu else ""
        cpu_ratio = (
            f"{sum(row.baseline.cpu) / sum(row.cpu):.0%}"
            if row.cpu and row.baseline and row.baseline.cpu and sum(row.cpu)
            else ""
        )
        lines.append(
            f"| {row.operation} | {row.entries:,} | {row.rate:,.0f} | {ratio} | {spent} "
            f"| {cpu_ratio} |"
        )
    lines += render_waits(waited or {})
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
        "plain write is the cheapest a service can make (two raw statements), so its "
        "ratio is a lower bound. The message post is a write of this project: "
        "`messaging.services.messages.post_message` in the writer's transaction (the "
        "conversation's dates, the encrypted message, its receipt, the notification check, "
        "the push event and the audit entry), each writer in its own conversation, once "
        "audited and once with `record()` replaced by a no-op in the bench (not in the "
        "service); the two runs of a pair write the same rows but the entry.",
        "",
        *[subsections[vendor] + "\n" for vendor in sorted(subsections)],
        f"Reproduce: `python bench/audit.py --entries {args.entries} --writers "
        f"{','.join(map(str, args.writers))} "
        f"--repeat {args.repeat}{' --waits' if args.waits else ''}"
        f"{f' --only {args.only}' if args.only else ''} --write docs/benchmarks.md`, "
        "once with `DATABASE_URL` unset (SQLite) and once with "
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
        "--only",
        choices=["minimal", "posts"],
        help="only the minimal writes or only the message posts (the verify walk is kept)",
    )
    parser.add_argument(
        "--waits",
        action="store_true",
        help="PostgreSQL: sample the backends' wait events during the concurrent runs",
    )
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

    private_var_dir()
    throwaway_database(smoke=args.smoke)
    django.setup()
    from django.db import connection  # noqa: PLC0415
    from django.test.utils import setup_databases, teardown_databases  # noqa: PLC0415

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        vendor = connection.vendor
        rows, waited, note = measure(
            args.entries,
            args.writers,
            args.repeat,
            waits=args.waits and vendor == "postgresql",
            only=args.only,
        )
        subsection = render_vendor(rows, note, args, vendor, waited)
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
