"""The coordinator's indicators page with a million sheets, on PostgreSQL behind gunicorn.

    python bench/indicators.py [--sizes 10000,100000,1000000] [--repeat 10] [--write]
    python bench/indicators.py --smoke     # seconds: in memory (SQLite), nothing written

1. Creates a fresh database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
   cpts_bench_indicators), migrates it, loads the demo CPTS, starts gunicorn on 127.0.0.1.
2. Fills the database with synthetic sheets up to each size with COPY (encrypted like real
   ones, with an in-memory keyring, as bench/liaison.py does): 85 % referrals in every state
   of the loop with receipt and acceptance times, 15 % discharge letters answering them, sent
   over the last 24 months. COPY bypasses the services, so `rebuild_indicators` then
   recomputes the aggregates the services keep (its time is reported too).
3. Times, as the coordinator: the indicators page over the 24 months (/indicateurs/, session
   login), the same table from the API, and its CSV; beside two baselines: `GET /healthz` (a
   bare endpoint of the same server) and `SELECT COUNT(*)` on the sheets table (psycopg, no
   Django), the least any figure over every sheet can cost.
Traffic goes to 127.0.0.1 only; every loop is bounded.

`--smoke` checks the script still runs, in seconds, without PostgreSQL, Redis or a server
(DATABASE_URL and REDIS_URL are ignored): an in-memory SQLite database built from the models,
the demo directory, two tiny sizes, the table from the aggregates (checked equal to the one
computed from the sheets) beside `SELECT COUNT(*)`, printed, never written.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import machine, percentile, write_section  # noqa: E402
from bench.stack import bench_env, manage, prepare  # noqa: E402

PORT = 8160  # this benchmark's port (8160-8169)


def fill(total: int) -> int:
    """Add synthetic sent sheets up to `total` (runs in a child process set up for Django)."""
    import collections  # noqa: PLC0415
    import random  # noqa: PLC0415
    import uuid  # noqa: PLC0415

    import django  # noqa: PLC0415

    django.setup()
    from django.conf import settings  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415
    from django.utils.timezone import now  # noqa: PLC0415

    from directory.models import Member, Organisation  # noqa: PLC0415
    from liaison.models import LiaisonSheet  # noqa: PLC0415
    from security.crypto import Keyring, associated_data, encrypt, parse_keyring  # noqa: PLC0415

    missing = total - LiaisonSheet.objects.count()
    if missing <= 0:
        return LiaisonSheet.objects.count()
    random.seed(total)
    hospital = Organisation.objects.get(kind="hospital")
    services = list(Organisation.objects.filter(kind="hospital_service"))
    services += [
        Organisation.objects.create(name=f"Service {n}", kind="hospital_service", parent=hospital)
        for n in range(20 - len(services))
    ]
    gp = Member.objects.get(user__username="dr.martin")
    cardio = Member.objects.get(user__username="hop.cardio")
    practices = list(
        Organisation.objects.filter(kind__in=["msp", "cabinet"]).values_list("pk", flat=True)
    )
    # An in-memory nonce counter: the database counter would need the connection COPY holds.
    keyring = Keyring(parse_keyring(",".join(settings.ENCRYPTION_KEYS)))
    table = LiaisonSheet._meta.db_table
    identity = {"birth_family_name": "Synthétique", "given_names": "Test",
                "birth_date": "1950-01-01", "sex": "F"}  # fmt: skip
    request = {"urgency": "routine", "reason": "Bilan", "medications_none": True,
               "allergies_none_known": True}  # fmt: skip
    patient, content = json.dumps(identity).encode(), json.dumps(request).encode()
    columns = ["id", "code", "kind", "status", "version", "author_id", "sender_organisation_id",
               "recipient_organisation_id", "referral_id", "set_id", "document_version",
               "patient", "content", "ins_index", "birth_name_index", "used_name_index",
               "urgency", "document_status", "discharge_date", "sent_at",
               "received_at", "accepted_at", "closed_at", "created_at", "updated_at",
               "creation_key"]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 (our table)
        base = cursor.fetchone()[0] + 1
    start = now() - timedelta(days=730)
    step = timedelta(days=730) / missing
    awaiting: collections.deque[int] = collections.deque(maxlen=5000)  # closed, letter to come
    statuses = [(0.1, "sent"), (0.2, "received"), (0.28, "declined"), (0.3, "cancelled"),
                (0.6, "accepted"), (1.0, "closed")]  # fmt: skip
    copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.connection.cursor().copy(copy_sql) as copy:
        for i in range(missing):
            row_id, code = base + i, uuid.uuid4()
            sent = start + step * i
            service = services[i % len(services)].pk
            received = accepted = closed = referral = discharge = None
            document_status = urgency = ""
            if i % 20 in (3, 11, 17) and awaiting:  # 15 %: a discharge letter
                kind, status, author, sender, recipient = (
                    "discharge",
                    "sent",
                    cardio.pk,
                    service,
                    None,
                )
                referral = awaiting.popleft()
                late = 0 if random.random() < 0.6 else random.randint(1, 6)
                discharge = (sent - timedelta(days=late)).date()
                document_status = "final"
            else:
                kind, author, urgency = "referral", gp.pk, "routine"
                sender, recipient = practices[i % len(practices)], service
                roll = random.random()
                status = next(name for bound, name in statuses if roll < bound)
                if status not in ("sent", "cancelled"):
                    received = sent + timedelta(hours=random.lognormvariate(1.8, 1.0))
                if status in ("accepted", "closed"):
                    accepted = received + timedelta(hours=random.lognormvariate(2.5, 1.0))
                if status == "closed":
                    closed = accepted + timedelta(days=random.randint(2, 20))
                    awaiting.append(row_id)
            copy.write_row([
                row_id, code, kind, status, 1, author, sender, recipient, referral, uuid.uuid4(), 1,
                encrypt(patient, aad=associated_data(table, "patient", str(code)), keyring=keyring),
                encrypt(content, aad=associated_data(table, "content", str(code)), keyring=keyring),
                "", "", "", urgency, document_status, discharge,
                sent, received, accepted, closed, sent, sent, "",
            ])  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608
        )
        cursor.execute(f"ANALYZE {table}")
    return LiaisonSheet.objects.count()


def fill_database(env: dict[str, str], total: int) -> float:
    """Fill up to `total` sheets, then rebuild the aggregates; returns the rebuild's seconds."""
    subprocess.run([sys.executable, __file__, "--fill", str(total)], cwd=ROOT, env=env, check=True)
    started = time.perf_counter()
    manage(env, "rebuild_indicators")
    return time.perf_counter() - started


def smoke() -> int:
    """A few seconds: the same code paths on tiny sizes, in memory; prints, writes nothing."""
    import random  # noqa: PLC0415

    os.environ["DATABASE_URL"] = "sqlite:///:memory:"
    os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django  # noqa: PLC0415

    django.setup()
    from django.conf import settings  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415
    from django.utils.timezone import localdate, now  # noqa: PLC0415

    from directory.demo import load_directory  # noqa: PLC0415
    from directory.models import Organisation  # noqa: PLC0415
    from liaison.models import LiaisonSheet  # noqa: PLC0415
    from liaison.outputs import aggregates  # noqa: PLC0415
    from liaison.outputs.indicators import liaison_indicators  # noqa: PLC0415

    # Tables straight from the models: migrating takes longer than the whole smoke run.
    settings.MIGRATION_MODULES = {app.label: None for app in django.apps.apps.get_app_configs()}
    call_command("migrate", run_syncdb=True, verbosity=0)
    demo = load_directory(password="demo")
    gp, cardio = demo["dr.martin"], demo["hop.cardio"]
    services = list(Organisation.objects.filter(kind="hospital_service"))
    practice = Organisation.objects.filter(memberships__member=gp).first()
    rng = random.Random(17)
    today = localdate()
    first = (today.replace(day=1) - timedelta(days=365)).replace(day=1)
    rows = []
    for size in (60, 240):
        sheets = []
        for i in range(size - LiaisonSheet.objects.count()):
            sent = now() - timedelta(days=360) * rng.random()
            received = sent + timedelta(hours=rng.lognormvariate(1.8, 1.0))
            sheets.append(
                LiaisonSheet(
                    kind="referral" if i % 7 else "discharge",
                    status=rng.choice(["sent", "received", "accepted", "declined", "closed"]),
                    author=gp if i % 7 else cardio,
                    sender_organisation=practice,
                    recipient_organisation=services[i % len(services)],
                    patient={"birth_family_name": "Synthétique", "given_names": "Test",
                             "birth_date": "1950-01-01", "sex": "F"},
                    content={},
                    sent_at=sent,
                    received_at=received,
                    accepted_at=received + timedelta(hours=rng.random() * 48),
                    discharge_date=(sent - timedelta(days=rng.randint(0, 3))).date(),
                )
            )  # fmt: skip
        LiaisonSheet.objects.bulk_create(sheets)
        started = time.perf_counter()
        aggregates.rebuild()
        rebuilt = time.perf_counter() - started
        period = {"start": first, "end": today, "counters": {}}
        page = []
        for _ in range(3):
            started = time.perf_counter()
            table = liaison_indicators(**period, source="aggregates")
            page.append(time.perf_counter() - started)
        assert table == liaison_indicators(**period, source="direct"), "aggregates differ"
        count = []
        with connection.cursor() as cursor:
            for _ in range(3):
                started = time.perf_counter()
                cursor.execute("SELECT COUNT(*) FROM liaison_liaisonsheet")
                cursor.fetchone()
                count.append(time.perf_counter() - started)
        rows.append((size, percentile(page, 50), percentile(count, 50), rebuilt))
    print("| Sheets | Table from the aggregates p50 | SELECT COUNT(*) p50 | Rebuild |")
    print("|---:|---:|---:|---:|")
    for size, table_p50, count_p50, rebuilt in rows:
        print(f"| {size:,} | {ms(table_p50)} | {ms(count_p50)} | {ms(rebuilt)} |")
    print(f"smoke: OK ({today.isoformat()}, SQLite in memory, nothing written)")
    return 0


class Browser:
    """One keep-alive connection with a cookie jar: enough to log in and read pages."""

    def __init__(self) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
        self.cookies: dict[str, str] = {}
        self.headers: dict[str, str] = {"Host": "127.0.0.1"}

    def call(
        self, method: str, path: str, body: str | None = None, **headers: str
    ) -> tuple[int, bytes, float]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        all_headers = {**self.headers, **({"Cookie": cookie} if cookie else {}), **headers}
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=all_headers)
        response = self.conn.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - started
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, payload, elapsed

    def login(self, username: str, password: str) -> None:
        status, page, _ = self.call("GET", "/connexion/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert status == 200, status
        assert token, "no CSRF token on the login page"
        form = urllib.parse.urlencode({"username": username, "password": password,
                                       "csrfmiddlewaretoken": token.group(1).decode()})  # fmt: skip
        status, _, _ = self.call(
            "POST",
            "/connexion/",
            form,
            **{
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://127.0.0.1:{PORT}/connexion/",
            },
        )
        assert status == 302, f"login failed: {status}"


def api_token(username: str) -> str:
    client = Browser()
    body = json.dumps({"username": username, "password": "demo"})
    status, payload, _ = client.call(
        "POST", "/api/v1/auth/token/", body, **{"Content-Type": "application/json"}
    )
    assert status == 200, payload
    return str(json.loads(payload)["token"])


def timed(client: Browser, path: str, repeat: int, **headers: str) -> list[float]:
    samples = []
    for _ in range(repeat):
        status, payload, elapsed = client.call("GET", path, **headers)
        assert status == 200, (path, status, payload[:300])
        samples.append(elapsed)
    return samples


def count_baseline(database_url: str, repeat: int) -> list[float]:
    import psycopg  # noqa: PLC0415

    samples = []
    with psycopg.connect(database_url) as conn:
        for _ in range(repeat):
            started = time.perf_counter()
            conn.execute("SELECT COUNT(*) FROM liaison_liaisonsheet").fetchone()
            samples.append(time.perf_counter() - started)
    return samples


def ms(value: float) -> str:
    return f"{value * 1000:,.0f} ms" if value >= 0.1 else f"{value * 1000:.1f} ms"


def write_report(rows: list[Any], args: argparse.Namespace) -> None:
    """Print the table so far, and write it to docs/benchmarks.md with --write (after each
    size: a long run that is stopped keeps the sizes it measured)."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0]
    lines = [
        "## Coordinator's indicators (`bench/indicators.py`)",
        "",
        f"{when}, {machine()}, load average {load:.1f} at the end (a shared, loaded machine: "
        "read the ratios, not the absolute times); gunicorn "
        f"({args.workers} sync workers) + PostgreSQL on the same machine. Synthetic sheets sent "
        "over 24 months (85 % referrals in every state of the loop, 15 % discharge letters "
        "answering them), encrypted like real ones, then `rebuild_indicators`; each figure "
        f"over {args.repeat} sequential requests by the coordinator, for the whole 24 months "
        "(25 rows); `SELECT COUNT(*)` measured in the same run, right after the page's requests.",
        "",
        "| Sheets | Page `/indicateurs/` p50 | p95 | API JSON p50 | API CSV p50 "
        "| Baseline `GET /healthz` p50 | Baseline `SELECT COUNT(*)` p50 "
        "| Page ÷ `COUNT(*)` | `rebuild_indicators` |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, page, json_api, csv_api, healthz, count, rebuilt in rows:
        ratio = percentile(page, 50) / percentile(count, 50)
        cells = [
            f"{size:,}", ms(percentile(page, 50)), ms(percentile(page, 95)),
            ms(percentile(json_api, 50)), ms(percentile(csv_api, 50)),
            ms(percentile(healthz, 50)), ms(percentile(count, 50)), f"{ratio:.2f}",
            f"{rebuilt:.0f} s",
        ]  # fmt: skip
        lines.append(f"| {' | '.join(cells)} |")
    lines += [
        "",
        'The page reads the monthly aggregates (docs/outputs.md, "Aggregates"): three '
        "queries for the liaison figures whose rows depend on the months and the spread of "
        "the durations, not on the number of sheets, plus one per column of the other apps "
        "(messages, protocols), and the page's own (session, member, organisations). "
        "`COUNT(*)` is one parallel scan of the sheets table: it grows with the sheets, the "
        "page does not, so the ratio falls as the table grows. Before the aggregates (the "
        "table computed from the sheets with `percentile_cont`), the page was 15 × `COUNT(*)` "
        "at 100k sheets and grew with them (about ten times the time for ten times the "
        "sheets). What the page costs beyond the liaison figures (its rendering, the session, "
        "the other apps' columns) is the same at every size: the ratio is that fixed cost "
        "over a `COUNT(*)` that grows.",
        "",
        f"Reproduce: `python bench/indicators.py --sizes {args.sizes} --repeat {args.repeat} "
        "--write` (DATABASE_URL: the benchmark's own database, recreated).",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_section("indicators", report)


def main(argv: list[str] | None = None) -> int:
    global PORT  # --port: Browser and gunicorn read it
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/cpts_bench_indicators"
    )
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument(
        "--smoke", action="store_true", help="seconds, in memory, nothing written (make test)"
    )
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--write", action="store_true", help="write the figures to docs/benchmarks.md"
    )
    parser.add_argument("--fill", type=int, help=argparse.SUPPRESS)  # the child process's job
    args = parser.parse_args(argv)
    if args.fill:
        print(f"{fill(args.fill):,} sheets")
        return 0
    if args.smoke:
        return smoke()
    PORT = args.port

    env = bench_env(args.database_url, queue="bench-indicators")
    prepare(env, args.database_url)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{PORT}",
         "--workers", str(args.workers), "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    today = datetime.now(tz=UTC).date()
    first = (today.replace(day=1) - timedelta(days=730)).replace(day=1)
    query = f"from={first.isoformat()}&to={today.isoformat()}"
    rows = []
    try:
        for _ in range(100):
            try:
                if Browser().call("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        coordinator = Browser()
        coordinator.login("coord", "demo")
        token = {"Authorization": f"Token {api_token('coord')}"}
        api = Browser()
        for size in [int(s) for s in args.sizes.split(",") if s]:
            started = time.perf_counter()
            rebuilt = fill_database(env, size)
            filled = time.perf_counter() - started - rebuilt
            timed(coordinator, f"/indicateurs/?{query}", 1)  # warm the worker and the cache
            page = timed(coordinator, f"/indicateurs/?{query}", args.repeat)
            json_api = timed(api, f"/api/v1/indicators/liaison/?{query}", args.repeat, **token)
            csv_api = timed(api, f"/api/v1/indicators/liaison/csv/?{query}", args.repeat, **token)
            healthz = timed(Browser(), "/healthz", args.repeat)
            count = count_baseline(args.database_url, args.repeat)
            rows.append((size, page, json_api, csv_api, healthz, count, rebuilt))
            write_report(rows, args)
            print(
                f"{size:>9,} sheets (filled in {filled:.0f} s, rebuilt in {rebuilt:.0f} s): "
                f"page p50 {ms(percentile(page, 50))}, COUNT(*) p50 {ms(percentile(count, 50))}"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
