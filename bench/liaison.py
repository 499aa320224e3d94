"""Liaison sheets under load, on a real stack: gunicorn + PostgreSQL + Redis.

    python bench/liaison.py [--sheets 320] [--clients 16] [--workers 3]
                            [--inbox-sizes 10000,1000000] [--write]
    python bench/liaison.py --profile [--repeat 30] [--write]    # queries and CPU, no server
    python bench/liaison.py --smoke                               # seconds, SQLite, no write

1. Creates a fresh database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
   cpts_bench), migrates it, loads the demo CPTS, starts gunicorn on 127.0.0.1.
2. Load: each hot path in turn at --clients concurrent clients, --sheets requests each: GPs
   create complete referrals and send them, hospital staff list their inbox, take
   (receive) and accept them. Prints p50/p99 and throughput per operation beside the bare
   probe `GET /api/v1/ping/` (token authentication and one row read, same server, same
   concurrency), and their ratios.
3. Scale: fills the database with synthetic sheets (encrypted like real ones, spread over 50
   hospital services) up to each --inbox-sizes total, and times the cardiology inbox (first
   page) at each size.
--profile measures queries and CPU per operation in one process (bench/liaison_cpu.py);
--smoke is that at tiny sizes, on SQLite, for `make test`.
Traffic goes to 127.0.0.1 only; every loop is bounded in count.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine_cpu, stack  # noqa: E402
from bench.report import machine, percentile, write_section  # noqa: E402
from bench.stack import ms  # noqa: E402

DEFAULT_PORT = 8765
PORT = DEFAULT_PORT  # --port


def Client(token: str = "") -> stack.Client:  # noqa: N802 (reads as the class it makes)
    return stack.Client(PORT, token)


def token_for(username: str) -> str:
    return stack.token_for(PORT, username)


def referral_body(service: str, index: int) -> dict[str, Any]:
    return {
        "kind": "referral",
        "patient": {"birth_family_name": f"Patient{index}", "given_names": "Test",
                    "birth_date": "1950-01-01", "sex": "F"},
        "recipient_organisation": service, "urgency": "routine", "reason": "Bilan",
        "medications_none": True, "allergies_none_known": True,
    }  # fmt: skip


# The operations measured at `--clients` concurrent clients, in this order, each on the
# sheets the one before left; the bare probe runs before and after them (see `run_load`).
PHASES = ("create", "send", "inbox", "receive", "accept")
BASELINE = "ping"


def run_phase(
    clients: list[Any], work: list[list[Any]], call: Any
) -> tuple[list[float], float, list[list[Any]]]:
    """Run `call(client, job)` for each client's own jobs, one thread (and one keep-alive
    connection) per client, all at once; the latencies, the wall time, and each client's
    results in its jobs' order."""
    timings: list[float] = []
    lock = threading.Lock()

    def worker(client: Any, jobs: list[Any]) -> list[Any]:
        done = []
        for job in jobs:
            result, elapsed = call(client, job)
            done.append(result)
            with lock:
                timings.append(elapsed)
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        futures = [
            pool.submit(worker, client, jobs) for client, jobs in zip(clients, work, strict=True)
        ]
        results = [future.result() for future in futures]
    return timings, time.perf_counter() - started, results


def spread(jobs: list[Any], clients: int) -> list[list[Any]]:
    """`jobs` dealt round-robin to `clients` threads."""
    return [jobs[n::clients] for n in range(clients)]


PhaseResult = tuple[list[float], float, dict[str, float]]


def run_load(
    args: argparse.Namespace, read_cpu: Callable[[], dict[str, float]]
) -> dict[str, PhaseResult]:
    """Each hot path at `--clients` concurrent clients, against the bare probe: latencies,
    wall time, and the machine's CPU per request by part (`read_cpu`: bench.machine_cpu).

    The probe (`GET /api/v1/ping/`: token authentication and one row read, on the same
    gunicorn) runs the same number of requests at the same concurrency before and after the
    liaison phases, so both see the same machine; its two rounds are pooled. A smaller
    round of every phase runs first, unmeasured, to warm the workers up.
    """
    gps = ["dr.martin", "dr.leroy", "dr.bernard"]
    staff = ["hop.cardio", "hop.cardio2"]
    gp_clients = [Client(token_for(gps[n % len(gps)])) for n in range(args.clients)]
    staff_clients = [Client(token_for(staff[n % len(staff)])) for n in range(args.clients)]
    services = staff_clients[0].call("GET", "/api/v1/organisations/?search=cardiologie")[1]
    service = services["results"][0]["id"]
    count = args.sheets
    results: dict[str, PhaseResult] = {}

    def expect(status: int, wanted: int, body: Any) -> None:
        assert status == wanted, (status, body)

    def ping(client: Any, _job: int) -> tuple[None, float]:
        status, body, elapsed = client.call("GET", "/api/v1/ping/")
        expect(status, 200, body)
        return None, elapsed

    def create(client: Any, index: int) -> tuple[str, float]:
        key = {"Idempotency-Key": uuid.uuid4().hex}
        status, body, elapsed = client.call(
            "POST", "/api/v1/liaison-sheets/", referral_body(service, index), **key
        )
        expect(status, 201, body)
        return body["id"], elapsed

    def send(client: Any, code: str) -> tuple[None, float]:
        status, body, elapsed = client.call("POST", f"/api/v1/liaison-sheets/{code}/send/")
        expect(status, 200, body)
        return None, elapsed

    def inbox(client: Any, _job: int) -> tuple[None, float]:
        status, body, elapsed = client.call(
            "GET", "/api/v1/liaison-sheets/?box=inbox&status=sent&page_size=20"
        )
        expect(status, 200, body)
        return None, elapsed

    def transition(action: str, body: dict[str, Any]) -> Any:
        def call(client: Any, code: str) -> tuple[None, float]:
            status, answer, elapsed = client.call(
                "POST", f"/api/v1/liaison-sheets/{code}/{action}/", body
            )
            expect(status, 200, answer)
            return None, elapsed

        return call

    n = args.clients

    def measured(
        name: str, client_list: list[Any], work: list[list[Any]], call: Any, *, warm_up: bool
    ) -> Any:
        if warm_up:
            return run_phase(client_list, work, call)[2]
        before = read_cpu()
        timings, seconds, done = run_phase(client_list, work, call)
        spent = machine_cpu.per_request(before, read_cpu(), len(timings))
        if name in results:  # the probe's second round: pooled with its first
            first_timings, first_seconds, first_spent = results[name]
            spent = {g: (spent[g] + first_spent[g]) / 2 for g in spent}
            timings, seconds = first_timings + timings, first_seconds + seconds
        results[name] = (timings, seconds, spent)
        return done

    def every_phase(count: int, *, warm_up: bool) -> None:
        jobs = spread(list(range(count)), n)
        created = measured("create", gp_clients, jobs, create, warm_up=warm_up)
        # Each GP thread sends what it created (its member is the author).
        measured("send", gp_clients, created, send, warm_up=warm_up)
        measured("inbox", staff_clients, jobs, inbox, warm_up=warm_up)
        codes = spread([code for codes in created for code in codes], n)
        measured("receive", staff_clients, codes, transition("receive", {}), warm_up=warm_up)
        accept = transition("accept", {"planned_date": "2026-12-01"})
        measured("accept", staff_clients, codes, accept, warm_up=warm_up)

    # Not measured: each gunicorn worker's first requests import and build what later ones
    # reuse (about a second of CPU per worker), which landed in whichever phase came first
    # and made the probe cost 1.5 ms of a worker's CPU in one run and 4 ms in the next.
    measured(BASELINE, gp_clients, spread(list(range(3 * n)), n), ping, warm_up=True)
    every_phase(2 * n, warm_up=True)
    measured(BASELINE, gp_clients, spread(list(range(count)), n), ping, warm_up=False)
    every_phase(count, warm_up=False)
    measured(BASELINE, gp_clients, spread(list(range(count)), n), ping, warm_up=False)
    return results


def fill_database(env: dict[str, str], total: int) -> None:
    """Synthetic sent referrals up to `total` sheets, in a Django subprocess (see `_fill`)."""
    code = f"import django; django.setup(); from bench.liaison import _fill; _fill({total})"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def _fill(total: int) -> None:
    """Add sent referrals, encrypted like real ones, spread over 50 services (COPY)."""
    from django.conf import settings  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415
    from django.utils.timezone import now  # noqa: PLC0415

    from directory.models import Member, Organisation  # noqa: PLC0415
    from liaison.models import LiaisonSheet  # noqa: PLC0415
    from security.crypto import Keyring, associated_data, encrypt, parse_keyring  # noqa: PLC0415

    missing = total - LiaisonSheet.objects.count()
    if missing <= 0:
        return
    hospital = Organisation.objects.get(kind="hospital")
    services = list(Organisation.objects.filter(kind="hospital_service"))
    services += [
        Organisation.objects.create(name=f"Service {n}", kind="hospital_service", parent=hospital)
        for n in range(50 - len(services))
    ]
    cardio = Organisation.objects.get(name="Cardiologie")
    gp = Member.objects.get(user__username="dr.martin")
    sender = gp.memberships.first().organisation_id
    # An in-memory nonce counter: the database counter would need the connection COPY holds.
    keyring = Keyring(parse_keyring(",".join(settings.ENCRYPTION_KEYS)))
    table = LiaisonSheet._meta.db_table
    patient = json.dumps(
        {
            "birth_family_name": "Synthétique",
            "given_names": "Test",
            "birth_date": "1950-01-01",
            "sex": "F",
        }
    ).encode()
    content = json.dumps(
        {
            "urgency": "routine",
            "reason": "Bilan",
            "medications_none": True,
            "allergies_none_known": True,
        }
    ).encode()
    columns = [
        "code", "kind", "status", "version", "author_id", "sender_organisation_id",
        "recipient_organisation_id", "set_id", "document_version", "patient", "content",
        "ins_index", "birth_name_index", "used_name_index", "urgency", "document_status",
        "sent_at", "created_at", "updated_at", "creation_key",
    ]  # fmt: skip
    start = now() - timedelta(days=400)
    raw = connection.cursor().connection
    copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for i in range(missing):
            row = str(uuid.uuid4())
            service = cardio.pk if i % 50 == 0 else services[i % len(services)].pk
            at = start + timedelta(seconds=i * 30)
            copy.write_row([
                row, "referral", "sent", 1, gp.pk, sender, service, uuid.uuid4(), 1,
                encrypt(patient, aad=associated_data(table, "patient", row), keyring=keyring),
                encrypt(content, aad=associated_data(table, "content", row), keyring=keyring),
                "", "", "", "routine", "", at, at, at, "",
            ])  # fmt: skip
    raw.commit()
    raw.autocommit = True  # VACUUM cannot run in a transaction; it fills the visibility map
    raw.execute(f"VACUUM ANALYZE {table}")


def time_inbox(token: str, repeat: int = 20) -> tuple[float, float]:
    client = Client(token)
    samples = []
    for _ in range(repeat):
        status, body, elapsed = client.call("GET", "/api/v1/liaison-sheets/?box=inbox&page_size=50")
        assert status == 200, body
        samples.append(elapsed)
    return percentile(samples, 50), percentile(samples, 99)


def time_orders(env: dict[str, str], repeat: int = 20) -> dict[str, float]:
    """p50 of cardiology's inbox read in the database (count + the 50 rows of the first page,
    decrypted), triaged as the pages and the API read it, and newest first (the order before
    triage) as the baseline, in a Django subprocess (see `_time_orders`)."""
    code = (
        "import django; django.setup(); from bench.liaison import _time_orders; "
        f"_time_orders({repeat})"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _time_orders(repeat: int) -> None:
    from directory.models import Member  # noqa: PLC0415
    from liaison import selectors  # noqa: PLC0415

    member = Member.objects.get(user__username="hop.cardio")

    def triaged() -> None:
        page = selectors.TriagedList(selectors.matching_sheets(member, box="inbox"), member)
        page.count()
        [sheet.patient for sheet in page[0:50]]

    def newest_first() -> None:
        queryset = selectors.sheet_list(member, box="inbox").order_by("-created_at", "-pk")
        queryset.count()
        [sheet.patient for sheet in queryset[0:50]]

    samples: dict[str, list[float]] = {"triaged": [], "newest_first": []}
    for _ in range(repeat):  # interleaved, so both see the same load
        for name, read in (("newest_first", newest_first), ("triaged", triaged)):
            started = time.perf_counter()
            read()
            samples[name].append(time.perf_counter() - started)
    print(json.dumps({name: percentile(values, 50) for name, values in samples.items()}))


def profile_table(result: dict[str, Any], repeat: int) -> str:
    """Queries and CPU per operation, in one process (bench/liaison_cpu.py)."""
    ping = result["cpu_ms"][BASELINE]
    lines = [
        f"In one process through the test client ({result['vendor']}, median of {repeat}):",
        "",
        "| Operation | Queries | CPU per request | Ratio to the probe |",
        "|---|---:|---:|---:|",
    ]
    for name in ("ping", "create", "patch", "send", "inbox", "receive", "accept"):
        cpu = result["cpu_ms"][name]
        lines.append(f"| {name} | {result['queries'][name]} | {cpu:.1f} ms | {cpu / ping:.1f}x |")
    return "\n".join(lines)


def load_table(results: dict[str, PhaseResult], clients: int) -> list[str]:
    base_timings, base_seconds, _ = results[BASELINE]
    base_rate = len(base_timings) / base_seconds
    base_p99 = percentile(base_timings, 99)
    lines = [
        f"| Operation at {clients} clients | Requests | p50 | p99 | Throughput "
        "| p99 vs probe | Throughput vs probe | CPU per request: web + PostgreSQL + Redis "
        "+ clients = total |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in (BASELINE, *PHASES):
        timings, seconds, spent = results[name]
        rate = len(timings) / seconds
        p99 = percentile(timings, 99)
        label = (
            "Baseline: `GET /api/v1/ping/` (token + one row, same gunicorn)"
            if name == BASELINE
            else name
        )
        parts = " + ".join(f"{spent[group]:.1f}" for group in machine_cpu.GROUPS)
        lines.append(
            f"| {label} | {len(timings)} | {ms(percentile(timings, 50))} | {ms(p99)} "
            f"| {rate:.0f}/s | {p99 / base_p99:.1f}x | {rate / base_rate:.2f}x "
            f"| {parts} = {sum(spent.values()):.1f} ms |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/cpts_bench")
    parser.add_argument("--sheets", type=int, default=320, help="sheets per phase")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="gunicorn's, on 127.0.0.1")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument(
        "--workers", type=int, default=3, help="gunicorn workers (the Dockerfile's 3)"
    )
    parser.add_argument("--inbox-sizes", default="10000,1000000")
    parser.add_argument("--repeat", type=int, default=30, help="--profile: calls per operation")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="only the queries and CPU per operation, in one process (no server)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="a few seconds: --profile at tiny sizes, no write"
    )
    parser.add_argument(
        "--write", action="store_true", help="write the figures to docs/benchmarks.md"
    )
    args = parser.parse_args(argv)
    global PORT  # the clients and the server share it
    PORT = args.port

    if args.smoke or args.profile:
        from bench import liaison_cpu  # noqa: PLC0415

        repeat = 1 if args.smoke else args.repeat
        # The smoke run stays on SQLite in a temporary directory whatever DATABASE_URL says:
        # it must neither need nor touch a server.
        database_url = "" if args.smoke else os.environ.get("DATABASE_URL", "")
        result = liaison_cpu.run(repeat=repeat, database_url=database_url)
        report = profile_table(result, repeat)
        print(report)
        if args.write and not args.smoke:
            write_section("liaison-profile", f"{report}\n\nReproduce: `python bench/liaison.py "
                          f"--profile --repeat {repeat} --write`.")  # fmt: skip
        return 0

    env = stack.bench_env(args.database_url, queue="bench-liaison")
    stack.prepare(env, args.database_url)
    with stack.gunicorn(env, PORT, args.workers) as server:
        results = run_load(args, machine_cpu.meter(server.pid))
        for line in load_table(results, args.clients):
            print(line)
        inbox_rows = []
        cardio_token = token_for("hop.cardio")
        for size in [int(s) for s in args.inbox_sizes.split(",") if s]:
            fill_database(env, size)
            p50, p99 = time_inbox(cardio_token)
            orders = time_orders(env)
            inbox_rows.append((size, p50, p99, orders["triaged"], orders["newest_first"]))
            print(
                f"inbox with {size:>9,} sheets: p50 {ms(p50)}, p99 {ms(p99)}; in the database: "
                f"triaged {ms(orders['triaged'])}, newest first {ms(orders['newest_first'])}"
            )

    lines = [
        "## Liaison sheets under load (`bench/liaison.py`)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()}; gunicorn "
        f"({args.workers} sync workers, as the Dockerfile runs it) + PostgreSQL + Redis on the "
        f"same machine; {args.clients} concurrent clients, each phase {args.sheets} requests "
        "(create, then send, list, take and accept those sheets); the probe runs the same "
        "count at the same concurrency before and after the phases, pooled. Load average "
        f"{os.getloadavg()[0]:.1f} when the run ended (the benchmark's own processes count in "
        "it): read the ratios rather than the times.",
        "",
        *load_table(results, args.clients),
        "",
        f"Reproduce: `python bench/liaison.py --sheets {args.sheets} --clients {args.clients} "
        f"--inbox-sizes '{args.inbox_sizes}' --write`.",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_section("liaison", report)
    if args.write and inbox_rows:
        write_section("liaison-scale", scale_report(inbox_rows, args.inbox_sizes))
    return 0


def scale_report(rows: list[tuple[int, float, float, float, float]], sizes: str) -> str:
    lines = [
        "### The cardiology inbox as the database grows (`bench/liaison.py`)",
        "",
        "| Sheets in the database | Cardiology inbox, first page (50): p50 | p99 "
        "| In the database (count + 50 rows), triaged: p50 "
        "| Baseline: same, newest first (the order before triage): p50 | Ratio |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {size:,} | {ms(p50)} | {ms(p99)} | {ms(triaged)} | {ms(newest)} "
        f"| {triaged / newest:.2f}x |"
        for size, p50, p99, triaged, newest in rows
    ]
    lines += ["", f"Reproduce: `python bench/liaison.py --inbox-sizes {sizes} --write`."]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
