"""Secure messaging under load, on a real stack: gunicorn + PostgreSQL + Redis.

    python bench/messaging.py [--pairs 3] [--messages 600] [--seconds 40] [--poll-ms 50]
                              [--large 10000] [--port 8771] [--write]
    python bench/messaging.py --smoke          # seconds, in-process: prints, writes nothing
    python bench/messaging.py --profile 200    # cProfile of 200 sends, in-process

1. Creates a fresh database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
   cpts_bench_messaging), migrates it, loads the demo CPTS, starts gunicorn on 127.0.0.1.
2. Load: --pairs conversations between two demo members each; every member has a sender
   thread (POST a message with an Idempotency-Key, as fast as answers come) and a reader
   thread (polls `GET .../messages/?since=<last seen>` every --poll-ms, marks what it saw
   read, and looks at its inbox now and then). Bounded by --messages and --seconds.
   Prints sends per second, p50/p99 of each operation, and p50/p99 of the delivery latency:
   from the moment the sender starts its POST to the moment the recipient's poll returns
   the message (so it includes up to one poll interval). The baseline is the same
   concurrency on /healthz, a bare endpoint of the same server.
3. Scale: the first page (50 messages) of a conversation of 50 messages and of --large.
4. CPU: the gunicorn workers' CPU time (utime + stime from /proc/<pid>/stat) over the load,
   divided by the messages sent (the whole workload's cost per message: sends, polls, reads,
   inboxes), then over --cpu-requests back-to-back sends, empty polls and /healthz calls by
   one client (each request's own cost).

--smoke and --profile run in this process (Django's test client, a throwaway database, no
Redis), so they need no server and leave nothing behind: --smoke on SQLite in memory always,
--profile beside DATABASE_URL's database on PostgreSQL (SQLite in memory without one).
--smoke uses tiny sizes and checks that the script works; its figures mean nothing.
--profile N measures the CPU of N sends and prints where it went.
Traffic goes to 127.0.0.1 only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import stack  # noqa: E402
from bench.report import machine, percentile, write_section  # noqa: E402
from bench.stack import ms  # noqa: E402

PORT = 8771  # its own port: other benchmarks may run at the same time
PAIRS = [("dr.martin", "pharma.durand"), ("ide.petit", "dr.leroy"), ("as.moreau", "dr.bernard"),
         ("hop.cardio", "hop.urgences"), ("coord", "hop.cardio2")]  # fmt: skip


Client: Any = partial(stack.Client, PORT)
cpu_seconds: Callable[[], float] = time.process_time  # the server's CPU time so far


def token_for(username: str) -> str:
    status, body, _ = Client().call(
        "POST", "/api/v1/auth/token/", {"username": username, "password": "demo"}
    )
    assert status == 200, body
    return str(body["token"])


class InProcessClient:
    """stack.Client's interface over Django's test client: the smoke and profile runs."""

    def __init__(self, token: str = "") -> None:
        from django.test import Client as DjangoClient  # noqa: PLC0415

        self.client = DjangoClient()
        self.headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}

    def call(
        self, method: str, path: str, body: Any = None, **headers: str
    ) -> tuple[int, Any, float]:
        extra = {f"HTTP_{name.upper().replace('-', '_')}": v for name, v in headers.items()}
        started = time.perf_counter()
        response = self.client.generic(
            method,
            path,
            json.dumps(body) if body is not None else "",
            content_type="application/json",
            **self.headers,
            **extra,
        )
        elapsed = time.perf_counter() - started
        is_json = response.get("Content-Type", "").startswith("application/json")
        return response.status_code, response.json() if is_json else None, elapsed


def workers_cpu_seconds(master: int) -> Callable[[], float]:
    """CPU time (user + system) of the children of `master`: the gunicorn workers."""
    tick = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # gone meanwhile
            if int(fields[1]) == master:  # ppid; then utime and stime are the 12th and 13th
                total += int(fields[11]) + int(fields[12])
        return total / tick

    return read


def member_id(token: str) -> str:
    status, body, _ = Client(token).call("GET", "/api/v1/me/")
    assert status == 200, body
    return str(body["id"])


def run_load(args: argparse.Namespace) -> dict[str, list[float]]:
    names = ("send", "delivery", "poll", "read", "inbox", "healthz")
    timings: dict[str, list[float]] = {name: [] for name in names}
    lock = threading.Lock()
    pairs = PAIRS[: args.pairs]
    members = [name for pair in pairs for name in pair]
    tokens = {name: token_for(name) for name in members}
    ids = {name: member_id(tokens[name]) for name in members}
    conversations: dict[str, str] = {}
    for first, second in pairs:
        status, body, _ = Client(tokens[first]).call(
            "POST",
            "/api/v1/conversations/",
            {"subject": f"Bench {first} / {second}", "participants": [ids[second]]},
        )
        assert status == 201, body
        conversations[first] = conversations[second] = body["id"]
    sent_at: dict[str, float] = {}  # message marker -> when its POST started
    budget = iter(range(args.messages))
    deadline = time.monotonic() + args.seconds
    senders_done = threading.Event()
    remaining = [len(members)]

    def record(name: str, value: float) -> None:
        with lock:
            timings[name].append(value)

    def sender(name: str) -> None:
        client = Client(tokens[name])
        url = f"/api/v1/conversations/{conversations[name]}/messages/"
        try:
            while time.monotonic() < deadline:
                with lock:
                    index = next(budget, None)
                if index is None:
                    return
                marker = uuid.uuid4().hex
                with lock:
                    sent_at[marker] = time.perf_counter()
                status, body, elapsed = client.call(
                    "POST",
                    url,
                    {"body": f"Message {index} [{marker}]"},
                    **{"Idempotency-Key": marker},
                )
                assert status == 201, body
                record("send", elapsed)
        finally:
            with lock:
                remaining[0] -= 1
                if remaining[0] == 0:
                    timings["_senders_done"] = [time.perf_counter()]
                    senders_done.set()

    def reader(name: str) -> None:
        client = Client(tokens[name])
        base = f"/api/v1/conversations/{conversations[name]}/"
        since = ""
        polls = 0
        idle_after_senders = 0
        while time.monotonic() < deadline + 5 and idle_after_senders < 3:
            query = f"?since={since}&page_size=200" if since else "?page_size=200"
            status, body, elapsed = client.call("GET", f"{base}messages/{query}")
            seen = time.perf_counter()
            assert status == 200, body
            record("poll", elapsed)
            fresh = [
                m
                for m in body["results"]
                if m["author"]["id"] != ids[name] and m["kind"] == "message"
            ]
            if body["results"]:
                since = body["results"][0]["id"]  # newest first
            for message in fresh:
                marker = message["body"].rsplit("[", 1)[-1].rstrip("]")
                with lock:
                    started = sent_at.get(marker)
                if started is not None:
                    record("delivery", seen - started)
            if fresh:
                status, _body, elapsed = client.call("POST", f"{base}read/", {})
                record("read", elapsed)
            polls += 1
            if polls % 10 == 0:
                status, _body, elapsed = client.call("GET", "/api/v1/conversations/?unread=true")
                record("inbox", elapsed)
            if senders_done.is_set() and not fresh:
                idle_after_senders += 1
            time.sleep(args.poll_ms / 1000)

    started = time.perf_counter()
    cpu_before = cpu_seconds()
    if args.in_process:  # one thread: every sender, then every reader
        for name in members:
            sender(name)
        for name in members:
            reader(name)
    else:
        with ThreadPoolExecutor(2 * len(members)) as pool:
            futures = [pool.submit(sender, name) for name in members]
            futures += [pool.submit(reader, name) for name in members]
            for future in futures:
                future.result()
    timings["_load_cpu"] = [cpu_seconds() - cpu_before]
    timings["_load_seconds"] = [timings["_senders_done"][0] - started]

    # Baseline: the same concurrency and a comparable request count on a bare endpoint.
    requests_made = sum(len(timings[name]) for name in ("send", "poll", "read", "inbox"))
    threads = 2 * len(members)
    per_thread = max(1, requests_made // threads)

    def bare(_: int) -> None:
        client = Client()
        for _i in range(per_thread):
            status, _body, elapsed = client.call("GET", "/healthz")
            assert status == 200
            record("healthz", elapsed)

    if args.in_process:
        bare(0)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(bare, range(threads)))
    return timings


def cpu_per_request(args: argparse.Namespace) -> dict[str, float]:
    """Server CPU per request, one client back to back: a send, an empty poll, /healthz."""
    first, second = PAIRS[-1]  # a pair of its own, not one of the load's
    token, other = token_for(first), token_for(second)
    client = Client(token)
    status, body, _ = client.call(
        "POST",
        "/api/v1/conversations/",
        {"subject": "Bench CPU", "participants": [member_id(other)], "body": "Bonjour"},
    )
    assert status == 201, body
    base = f"/api/v1/conversations/{body['id']}/messages/"
    count = args.cpu_requests

    def send(index: int) -> None:
        key = uuid.uuid4().hex
        status, body, _ = client.call(
            "POST", base, {"body": f"CPU {index}"}, **{"Idempotency-Key": key}
        )
        assert status == 201, body

    reader = Client(other)
    since = ""

    def poll(_: int) -> None:
        status, body, _elapsed = reader.call("GET", f"{base}?since={since}")
        assert status == 200, body
        assert body["results"] == [], body

    def healthz(_: int) -> None:
        assert Client().call("GET", "/healthz")[0] == 200

    figures = {}
    for name, request in (("send", send), ("healthz", healthz), ("poll", poll)):
        if name == "poll":  # after the sends: polls that find nothing new
            since = reader.call("GET", f"{base}?page_size=1")[1]["results"][0]["id"]
        request(-1)  # warm: the first request of a kind loads code
        before = cpu_seconds()
        for index in range(count):
            request(index)
        figures[name] = (cpu_seconds() - before) / count
    return figures


def fill(subject: str, count: int) -> str:
    """A conversation between dr.martin and pharma.durand with `count` messages (bulk INSERT)."""
    from datetime import timedelta  # noqa: PLC0415

    from django.db import connection  # noqa: PLC0415
    from django.utils.timezone import now  # noqa: PLC0415

    from directory.models import Member  # noqa: PLC0415
    from messaging.models import Message, MessageReceipt  # noqa: PLC0415
    from messaging.services.conversations import start_conversation  # noqa: PLC0415

    gp = Member.objects.get(user__username="dr.martin")
    pharmacist = Member.objects.get(user__username="pharma.durand")
    conversation = start_conversation(actor=gp, subject=subject, participants=[pharmacist])
    start = now() - timedelta(days=30)
    rows = [
        Message(
            conversation=conversation,
            author=gp if i % 2 else pharmacist,
            body=f"message {i}",
            created_at=start + timedelta(seconds=i),
        )
        for i in range(count)
    ]
    Message.objects.bulk_create(rows, batch_size=5000)
    other = {gp.pk: pharmacist, pharmacist.pk: gp}
    MessageReceipt.objects.bulk_create(
        [
            MessageReceipt(message=m, conversation=conversation, member=other[m.author_id])
            for m in rows
        ],
        batch_size=5000,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh statistics, as autovacuum would have them
            cursor.execute("ANALYZE messaging_message")
            cursor.execute("ANALYZE messaging_messagereceipt")
    return str(conversation.code)


def fill_conversation(env: dict[str, str] | None, subject: str, count: int) -> str:
    """`fill` in this process (in-process runs) or in one with the server's settings."""
    if env is None:
        return fill(subject, count)
    done = subprocess.run(
        [sys.executable, __file__, "--fill", subject, str(count)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


def time_page(token: str, conversation: str, repeat: int = 20) -> tuple[float, float]:
    client = Client(token)
    samples = []
    for _ in range(repeat):
        status, body, elapsed = client.call(
            "GET", f"/api/v1/conversations/{conversation}/messages/?page_size=50"
        )
        assert status == 200, body
        samples.append(elapsed)
    return percentile(samples, 50), percentile(samples, 99)


@contextmanager
def in_process(*, smoke: bool) -> Iterator[None]:
    """Django in this process, on a throwaway database with the demo members (see the doc)."""
    global Client, cpu_seconds
    import django  # noqa: PLC0415

    if smoke:  # SQLite in memory whatever DATABASE_URL says: seconds, and no server touched
        os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)  # no shared Redis: the broker spools to a temp dir
    var_dir = Path(tempfile.mkdtemp(prefix="bench-messaging-"))
    for folder in ("queue", "processed", "control"):  # kombu's filesystem transport
        (var_dir / "celery-spool" / folder).mkdir(parents=True)
    os.environ["VAR_DIR"] = str(var_dir)
    os.environ["DEBUG"] = "False"  # as served: no query log
    # The test settings carry fixed, public keys: the run needs a database, not secrets.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    from django.conf import settings  # noqa: PLC0415

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database["TEST"] = {"NAME": None, "MIGRATE": False}  # in memory, tables from models
    else:
        database["TEST"] = {"NAME": f"{database['NAME']}_bench_messaging", "MIGRATE": False}
    django.setup()

    from django.test.utils import setup_databases, teardown_databases  # noqa: PLC0415

    from directory.demo import load_directory  # noqa: PLC0415

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        load_directory(password="demo")  # the personas; not the other apps' demo data
        Client, cpu_seconds = InProcessClient, time.process_time
        yield
    finally:
        teardown_databases(old_config, verbosity=0)


def profile(args: argparse.Namespace) -> int:
    """CPU per send over `args.profile` sends, and the functions it went to (cProfile)."""
    gp, pharmacist = token_for("dr.martin"), token_for("pharma.durand")
    client = Client(gp)
    status, body, _ = client.call(
        "POST",
        "/api/v1/conversations/",
        {"subject": "Profil", "participants": [member_id(pharmacist)], "body": "Bonjour"},
    )
    assert status == 201, body
    url = f"/api/v1/conversations/{body['id']}/messages/"
    for index in range(10):  # warm: code loaded, caches filled
        client.call("POST", url, {"body": f"warm {index}"}, **{"Idempotency-Key": uuid.uuid4().hex})
    keys = [uuid.uuid4().hex for _ in range(args.profile)]
    before = time.process_time()
    for key in keys:
        assert client.call("POST", url, {"body": "Bonjour"}, **{"Idempotency-Key": key})[0] == 201
    plain = (time.process_time() - before) / args.profile
    profiler = cProfile.Profile(time.process_time)  # CPU, not the waits on the database
    profiler.enable()
    for _ in keys:
        key = uuid.uuid4().hex
        assert client.call("POST", url, {"body": "Bonjour"}, **{"Idempotency-Key": key})[0] == 201
    profiler.disable()
    print(f"CPU per send (in-process, without the profiler): {plain * 1000:.2f} ms")
    if args.profile_dump:
        profiler.dump_stats(args.profile_dump)
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(args.profile_lines)
    stats.sort_stats("tottime").print_stats(args.profile_lines)

    # The reader's side: a poll that finds one new message (half of all requests under load).
    reader = Client(pharmacist)
    status, page, _ = reader.call("GET", f"{url}?page_size=2")
    assert status == 200, page
    since = page["results"][-1]["id"]  # the one before the last: each poll returns the last
    poll = f"{url}?since={since}"
    for _ in range(10):
        assert reader.call("GET", poll)[0] == 200
    before = time.process_time()
    for _ in keys:
        status, found, _ = reader.call("GET", poll)
        assert status == 200, found
        assert len(found["results"]) == 1, found
    per_poll = (time.process_time() - before) / len(keys)
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in keys:
        reader.call("GET", poll)
    profiler.disable()
    print(
        f"CPU per poll that finds a message (in-process, without the profiler): "
        f"{per_poll * 1000:.2f} ms"
    )
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile_lines)

    # The first page of 50 (opening the conversation): the same read without `since`.
    first = f"{url}?page_size=50"
    for _ in range(5):
        assert reader.call("GET", first)[0] == 200
    pages = max(args.profile // 4, 1)
    before = time.process_time()
    for _ in range(pages):
        status, found, _ = reader.call("GET", first)
        assert status == 200, found
        assert len(found["results"]) == 50, found
    print(
        f"CPU per first page of 50 messages (in-process, without the profiler): "
        f"{(time.process_time() - before) / pages * 1000:.2f} ms"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    global Client, cpu_seconds
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/cpts_bench_messaging"
    )
    parser.add_argument("--pairs", type=int, default=3, choices=range(1, len(PAIRS)))
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--poll-ms", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--page-repeat", type=int, default=20, help="reads of each first page")
    parser.add_argument(
        "--cpu-requests", type=int, default=100, help="back-to-back requests per CPU figure"
    )
    parser.add_argument(
        "--write", action="store_true", help="write the figures to docs/benchmarks.md"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, in-process, print, write nothing (CI)"
    )
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile N sends")
    parser.add_argument("--profile-lines", type=int, default=25)
    parser.add_argument("--profile-dump", type=Path, help="save the profile (pstats) there")
    parser.add_argument("--fill", nargs=2, metavar=("SUBJECT", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fill:  # the server's side of fill_conversation
        import django  # noqa: PLC0415

        django.setup()
        print(fill(args.fill[0], int(args.fill[1])))
        return 0
    args.in_process = bool(args.smoke or args.profile)
    if args.in_process and args.write:
        parser.error("--smoke and --profile write nothing: drop --write")
    if args.smoke:
        args.pairs, args.messages, args.seconds, args.poll_ms = 1, 6, 20, 1
        args.large, args.cpu_requests, args.page_repeat = 60, 3, 2

    wall = time.monotonic()
    load_at_start = os.getloadavg()[0]
    if args.in_process:
        with in_process(smoke=args.smoke):
            if args.profile:
                return profile(args)
            timings = run_load(args)
            cpu = cpu_per_request(args)
            sizes = [(n, fill_conversation(None, f"Taille {n}", n)) for n in (50, args.large)]
            token = token_for("pharma.durand")
            pages = [(size, *time_page(token, code, args.page_repeat)) for size, code in sizes]
    else:
        Client = partial(stack.Client, args.port)
        var_dir = tempfile.mkdtemp(prefix="bench-messaging-")
        env = stack.bench_env(args.database_url, queue="bench-messaging", var_dir=var_dir)
        stack.prepare(env, args.database_url)
        with stack.gunicorn(env, args.port, args.workers) as server:
            cpu_seconds = workers_cpu_seconds(server.pid)
            timings = run_load(args)
            cpu = cpu_per_request(args)
            sizes = [(n, fill_conversation(env, f"Taille {n}", n)) for n in (50, args.large)]
            token = token_for("pharma.durand")
            pages = [(size, *time_page(token, code, args.page_repeat)) for size, code in sizes]

    stack_text = (
        "in-process (Django's test client, one thread), throwaway database: figures mean nothing"
        if args.in_process
        else f"gunicorn ({args.workers} sync workers) + PostgreSQL + Redis on the same machine"
    )
    sends = len(timings["send"])
    load_seconds = timings["_load_seconds"][0]
    members = 2 * args.pairs
    lines = [
        "## Secure messaging under load (`bench/messaging.py`)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()} (load "
        f"{load_at_start:.1f} at the start); {stack_text}; {members} "
        f"members in {args.pairs} conversations, each with a sender thread (messages back to "
        f"back) and a reader thread (polling every {args.poll_ms} ms, marking read, opening its "
        "inbox every tenth poll). Each message is encrypted and gets a receipt, an audit entry "
        "and (once per unread stretch) an in-app notification; each poll that returns messages "
        "is audited.",
        "",
        f"Sent {sends} messages in {load_seconds:.1f} s: "
        f"**{sends / load_seconds:.1f} messages/s**; delivery (sender starts its POST → "
        f"recipient's poll returns the message, poll interval "
        f"included) p50 **{ms(percentile(timings['delivery'], 50))}**, p99 "
        f"**{ms(percentile(timings['delivery'], 99))}** over {len(timings['delivery'])} messages.",
        "",
        "| Operation | Requests | p50 | p99 |",
        "|---|---:|---:|---:|",
    ]
    labels = {
        "send": "send (`POST …/messages/`)",
        "poll": "poll (`GET …/messages/?since=`)",
        "read": "mark read (`POST …/read/`)",
        "inbox": "inbox (`GET /conversations/?unread=true`)",
        "healthz": "Baseline: `GET /healthz` (bare endpoint, same server, same concurrency)",
    }
    for name, label in labels.items():
        values = timings[name]
        p50, p99 = ms(percentile(values, 50)), ms(percentile(values, 99))
        lines.append(f"| {label} | {len(values)} | {p50} | {p99} |")
    lines += [
        "",
        "The same page of 50 messages read from a short and from a long conversation (sequential "
        "requests after the load): its cost does not grow with the conversation (the query count "
        "is pinned in `tests/messaging/test_queries.py`).",
        "",
        "| Messages in the conversation | First page (50), p50 | p99 |",
        "|---:|---:|---:|",
    ]
    lines += [f"| {size:,} | {ms(p50)} | {ms(p99)} |" for size, p50, p99 in pages]
    where = (
        "this process (time.process_time)"
        if args.in_process
        else "the gunicorn workers (user + system, from /proc/<pid>/stat)"
    )
    lines += [
        "",
        f"CPU time of {where}: over the load, "
        f"**{ms(timings['_load_cpu'][0] / max(sends, 1))} per message sent** (the whole "
        "workload: its sends, polls, reads and inboxes); then one client back to back, "
        f"{args.cpu_requests} requests each:",
        "",
        "| Request | CPU per request | × `/healthz` |",
        "|---|---:|---:|",
    ]
    for name, label in (
        ("send", "send (`POST …/messages/`, with an Idempotency-Key)"),
        ("poll", "empty poll (`GET …/messages/?since=`)"),
        ("healthz", "`GET /healthz`"),
    ):
        ratio = cpu[name] / cpu["healthz"] if cpu["healthz"] else 0.0
        lines.append(f"| {label} | {ms(cpu[name])} | {ratio:.1f} |")
    command = (
        "python bench/messaging.py --smoke"
        if args.smoke
        else f"python bench/messaging.py --pairs {args.pairs} --messages {args.messages} "
        f"--seconds {args.seconds:g} --poll-ms {args.poll_ms} --large {args.large} "
        f"--cpu-requests {args.cpu_requests} --write"
    )
    lines += [
        "",
        f"Reproduce: `{command}` (this run took {time.monotonic() - wall:.0f} s).",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_section("messaging", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
