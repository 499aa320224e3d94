"""The coordinator's indicators page with a million sheets, on PostgreSQL behind gunicorn.

    python bench/indicators.py [--sizes 100000,1000000] [--repeat 10] [--write]

1. Creates a fresh database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
   cpts_bench_indicators), migrates it, loads the demo CPTS, starts gunicorn on 127.0.0.1.
2. Fills the database with synthetic sheets up to each size with COPY (encrypted like real
   ones, with an in-memory keyring, as bench/liaison.py does): 85 % referrals in every state
   of the loop with receipt and acceptance times, 15 % discharge letters answering them, sent
   over the last 24 months.
3. Times, as the coordinator: the indicators page over the 24 months (/indicateurs/, session
   login), the same table from the API, and its CSV; beside two baselines: `GET /healthz` (a
   bare endpoint of the same server) and `SELECT COUNT(*)` on the sheets table (psycopg, no
   Django), the least any figure over every sheet can cost.
Traffic goes to 127.0.0.1 only; every loop is bounded. The whole run takes 2 to 4 minutes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import subprocess
import sys
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import machine, percentile, write_section  # noqa: E402
from bench.stack import bench_env, manage, recreate_database  # noqa: E402

PORT = 8766


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


def fill_database(env: dict[str, str], total: int) -> None:
    subprocess.run([sys.executable, __file__, "--fill", str(total)], cwd=ROOT, env=env, check=True)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/cpts_bench_indicators"
    )
    parser.add_argument("--sizes", default="100000,1000000")
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

    env = bench_env(args.database_url, queue="bench-indicators")
    recreate_database(args.database_url)
    manage(env, "migrate", "--no-input")
    manage(env, "load_demo")
    manage(env, "collectstatic", "--no-input")
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
            fill_database(env, size)
            filled = time.perf_counter() - started
            timed(coordinator, f"/indicateurs/?{query}", 1)  # warm the worker and the cache
            page = timed(coordinator, f"/indicateurs/?{query}", args.repeat)
            json_api = timed(api, f"/api/v1/indicators/liaison/?{query}", args.repeat, **token)
            csv_api = timed(api, f"/api/v1/indicators/liaison/csv/?{query}", args.repeat, **token)
            healthz = timed(Browser(), "/healthz", args.repeat)
            count = count_baseline(args.database_url, args.repeat)
            rows.append((size, page, json_api, csv_api, healthz, count))
            print(
                f"{size:>9,} sheets (filled in {filled:.0f} s): "
                f"page p50 {ms(percentile(page, 50))}, COUNT(*) p50 {ms(percentile(count, 50))}"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)

    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "## Coordinator's indicators (`bench/indicators.py`)",
        "",
        f"{when}, {machine()}; gunicorn ({args.workers} sync workers) + PostgreSQL on the same "
        "machine. Synthetic sheets sent over 24 months (85 % referrals in every state of the "
        "loop, 15 % discharge letters answering them), encrypted like real ones; each figure over "
        f"{args.repeat} sequential requests by the coordinator, for the whole 24 months (25 rows).",
        "",
        "| Sheets | Page `/indicateurs/` p50 | p95 | API JSON p50 | API CSV p50 "
        "| Baseline `GET /healthz` p50 | Baseline `SELECT COUNT(*)` p50 |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, page, json_api, csv_api, healthz, count in rows:
        cells = [
            f"{size:,}", ms(percentile(page, 50)), ms(percentile(page, 95)),
            ms(percentile(json_api, 50)), ms(percentile(csv_api, 50)),
            ms(percentile(healthz, 50)), ms(percentile(count, 50)),
        ]  # fmt: skip
        lines.append(f"| {' | '.join(cells)} |")
    lines += [
        "",
        "The table is two aggregate queries (referrals, discharge letters) grouped by month, "
        "with `percentile_cont` for the medians and 90th percentiles. `COUNT(*)` is one "
        "parallel scan of the same table and bounds any figure over every sheet from below; "
        "what the page adds is CPU: grouping the rows by month and sorting each month's "
        "durations for the exact percentiles. The time grows with the number of sheets in the "
        "period (ten times the sheets, about ten times the time), not with the months shown.",
        "",
        f"Reproduce: `python bench/indicators.py --sizes {args.sizes} --repeat {args.repeat} "
        "--write`.",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_section("indicators", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
