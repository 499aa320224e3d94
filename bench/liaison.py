"""Liaison sheets under load, on a real stack: gunicorn + PostgreSQL + Redis.

    python bench/liaison.py [--sheets 300] [--gps 6] [--staff 3] [--seconds 60]
                            [--inbox-sizes 10000,1000000] [--write]

1. Creates a fresh database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
   cpts_bench), migrates it, loads the demo CPTS, starts gunicorn on 127.0.0.1.
2. Load: concurrent GPs create and send complete referrals while hospital staff poll their
   inbox, take and accept them. Bounded by --sheets and --seconds. Prints throughput and
   p50/p99 latency per operation, beside the same concurrency on /healthz (a bare endpoint
   of the same server) as the baseline.
3. Scale: fills the database with synthetic sheets (encrypted like real ones, spread over 50
   hospital services) up to each --inbox-sizes total, and times the cardiology inbox (first
   page) at each size.
Traffic goes to 127.0.0.1 only; every loop is bounded in count and time.
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
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import stack  # noqa: E402
from bench.report import machine, percentile, write_section  # noqa: E402
from bench.stack import ms  # noqa: E402

PORT = 8765


Client = partial(stack.Client, PORT)


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


def run_load(args: argparse.Namespace) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"create": [], "send": [], "inbox": [], "receive": [],
                                       "accept": [], "healthz": []}  # fmt: skip
    lock = threading.Lock()
    deadline = time.monotonic() + args.seconds
    gps = ["dr.martin", "dr.leroy", "dr.bernard"]
    staff = ["hop.cardio", "hop.cardio2"]
    tokens = {name: token_for(name) for name in gps + staff}
    cardio = Client(tokens["hop.cardio"])
    services = cardio.call("GET", "/api/v1/organisations/?search=cardiologie")[1]["results"]
    service = services[0]["id"]
    counter = iter(range(args.sheets))
    sent_total = [0]
    accepted: set[str] = set()

    def record(name: str, elapsed: float) -> None:
        with lock:
            timings[name].append(elapsed)

    def gp_worker(n: int) -> None:
        client = Client(tokens[gps[n % len(gps)]])
        while time.monotonic() < deadline:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            key = {"Idempotency-Key": uuid.uuid4().hex}
            status, body, elapsed = client.call(
                "POST", "/api/v1/liaison-sheets/", referral_body(service, index), **key
            )
            assert status == 201, body
            record("create", elapsed)
            status, body, elapsed = client.call(
                "POST", f"/api/v1/liaison-sheets/{body['id']}/send/"
            )
            assert status == 200, body
            record("send", elapsed)
            with lock:
                sent_total[0] += 1

    def staff_worker(n: int) -> None:
        client = Client(tokens[staff[n % len(staff)]])
        while time.monotonic() < deadline:
            status, body, elapsed = client.call(
                "GET", "/api/v1/liaison-sheets/?box=inbox&status=sent&page_size=20"
            )
            record("inbox", elapsed)
            rows = body["results"] if status == 200 else []
            if not rows:
                with lock:
                    if len(accepted) >= args.sheets or (sent_total[0] >= args.sheets and not rows):
                        return
                time.sleep(0.05)
                continue
            for row in rows:
                status, _, elapsed = client.call(
                    "POST", f"/api/v1/liaison-sheets/{row['id']}/receive/", {}
                )
                if status != 200:
                    continue  # a colleague took it first: 409, as designed
                record("receive", elapsed)
                accept = f"/api/v1/liaison-sheets/{row['id']}/accept/"
                status, _, elapsed = client.call("POST", accept, {"planned_date": "2026-12-01"})
                if status == 200:
                    record("accept", elapsed)
                    with lock:
                        accepted.add(row["id"])

    started = time.perf_counter()
    with ThreadPoolExecutor(args.gps + args.staff) as pool:
        futures = [pool.submit(gp_worker, n) for n in range(args.gps)]
        futures += [pool.submit(staff_worker, n) for n in range(args.staff)]
        for future in futures:
            future.result()
    load_seconds = time.perf_counter() - started
    timings["_load_seconds"] = [load_seconds]
    timings["_accepted"] = [float(len(accepted))]

    # Baseline: the same concurrency and a comparable request count on a bare endpoint.
    requests_made = sum(
        len(v) for k, v in timings.items() if not k.startswith("_") and k != "healthz"
    )
    per_thread = max(1, requests_made // (args.gps + args.staff))
    started = time.perf_counter()

    def bare(_: int) -> None:
        client = Client()
        for _i in range(per_thread):
            status, _body, elapsed = client.call("GET", "/healthz")
            assert status == 200
            record("healthz", elapsed)

    with ThreadPoolExecutor(args.gps + args.staff) as pool:
        list(pool.map(bare, range(args.gps + args.staff)))
    timings["_healthz_seconds"] = [time.perf_counter() - started]
    return timings


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
        page = selectors.TriagedList(selectors.sheet_list(member, box="inbox"), member)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/cpts_bench")
    parser.add_argument("--sheets", type=int, default=300)
    parser.add_argument("--gps", type=int, default=6)
    parser.add_argument("--staff", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--inbox-sizes", default="10000,1000000")
    parser.add_argument(
        "--write", action="store_true", help="write the figures to docs/benchmarks.md"
    )
    args = parser.parse_args(argv)

    env = stack.bench_env(args.database_url, queue="bench-liaison")
    stack.prepare(env, args.database_url)
    with stack.gunicorn(env, PORT, args.workers):
        timings = run_load(args)
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

    sent = len(timings["send"])
    load_seconds = timings["_load_seconds"][0]
    lines = [
        "## Liaison sheets under load (`bench/liaison.py`)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()}; gunicorn "
        f"({args.workers} sync workers) + PostgreSQL + Redis on the same machine; {args.gps} GP "
        f"threads sending, {args.staff} hospital threads receiving and accepting; load average "
        f"{os.getloadavg()[0]:.1f} when the run ended (other work shares the 2 cores).",
        "",
        f"Sent {sent} referrals and accepted {int(timings['_accepted'][0])} in "
        f"{load_seconds:.1f} s: **{sent / load_seconds:.1f} referrals sent/s** end to end "
        "(create + send + receive + accept).",
        "",
        "| Operation | Requests | p50 | p99 |",
        "|---|---:|---:|---:|",
    ]
    for name in ("create", "send", "inbox", "receive", "accept", "healthz"):
        values = timings[name]
        label = (
            "Baseline: `GET /healthz` (bare endpoint, same server)" if name == "healthz" else name
        )
        p50, p99 = ms(percentile(values, 50)), ms(percentile(values, 99))
        lines.append(f"| {label} | {len(values)} | {p50} | {p99} |")
    lines += [
        "",
        "| Sheets in the database | Cardiology inbox, first page (50): p50 | p99 "
        "| In the database (count + 50 rows), triaged: p50 "
        "| Baseline: same, newest first (the order before triage): p50 | Ratio |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {size:,} | {ms(p50)} | {ms(p99)} | {ms(triaged)} | {ms(newest)} "
        f"| {triaged / newest:.2f}x |"
        for size, p50, p99, triaged, newest in inbox_rows
    ]
    lines += [
        "",
        f"Reproduce: `python bench/liaison.py --sheets {args.sheets} "
        f"--inbox-sizes {args.inbox_sizes} --write`.",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_section("liaison", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
