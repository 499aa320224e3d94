"""Secure messaging under load, on a real stack: gunicorn + PostgreSQL + Redis.

    python bench/messaging.py [--pairs 3] [--messages 600] [--seconds 40] [--poll-ms 50]
                              [--large 10000] [--write]

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
Traffic goes to 127.0.0.1 only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import stack  # noqa: E402
from bench.report import machine, percentile, write_section  # noqa: E402
from bench.stack import ms  # noqa: E402

PORT = 8771  # its own port: other benchmarks may run at the same time
PAIRS = [("dr.martin", "pharma.durand"), ("ide.petit", "dr.leroy"), ("as.moreau", "dr.bernard"),
         ("hop.cardio", "hop.urgences"), ("coord", "hop.cardio2")]  # fmt: skip


Client = partial(stack.Client, PORT)


def token_for(username: str) -> str:
    return stack.token_for(PORT, username)


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
    with ThreadPoolExecutor(2 * len(members)) as pool:
        futures = [pool.submit(sender, name) for name in members]
        futures += [pool.submit(reader, name) for name in members]
        for future in futures:
            future.result()
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

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(bare, range(threads)))
    return timings


def fill_conversation(env: dict[str, str], subject: str, count: int) -> str:
    """A conversation between dr.martin and pharma.durand with `count` messages (bulk INSERT)."""
    code = f"""
import django
django.setup()
from datetime import timedelta
from django.utils.timezone import now
from directory.models import Member
from messaging.models import Message, MessageReceipt
from messaging.services.conversations import start_conversation
gp = Member.objects.get(user__username="dr.martin")
pharmacist = Member.objects.get(user__username="pharma.durand")
conversation = start_conversation(actor=gp, subject={subject!r}, participants=[pharmacist])
start = now() - timedelta(days=30)
rows = [Message(conversation=conversation, author=gp if i % 2 else pharmacist,
                body=f"message {{i}}", created_at=start + timedelta(seconds=i))
        for i in range({count})]
Message.objects.bulk_create(rows, batch_size=5000)
other = {{gp.pk: pharmacist, pharmacist.pk: gp}}
MessageReceipt.objects.bulk_create(
    [MessageReceipt(message=m, conversation=conversation, member=other[m.author_id]) for m in rows],
    batch_size=5000)
from django.db import connection
with connection.cursor() as cursor:  # fresh statistics, as autovacuum would have them
    cursor.execute("ANALYZE messaging_message")
    cursor.execute("ANALYZE messaging_messagereceipt")
print(conversation.code)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/cpts_bench_messaging"
    )
    parser.add_argument("--pairs", type=int, default=3, choices=range(1, len(PAIRS) + 1))
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--poll-ms", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument(
        "--write", action="store_true", help="write the figures to docs/benchmarks.md"
    )
    args = parser.parse_args(argv)

    wall = time.monotonic()
    load_at_start = os.getloadavg()[0]
    var_dir = tempfile.mkdtemp(prefix="bench-messaging-")
    env = stack.bench_env(args.database_url, queue="bench-messaging", var_dir=var_dir)
    stack.prepare(env, args.database_url)
    with stack.gunicorn(env, PORT, args.workers):
        timings = run_load(args)
        small = fill_conversation(env, "Petite", 50)
        large = fill_conversation(env, "Grande", args.large)
        token = token_for("pharma.durand")
        pages = [(50, *time_page(token, small)), (args.large, *time_page(token, large))]

    sends = len(timings["send"])
    load_seconds = timings["_load_seconds"][0]
    members = 2 * args.pairs
    lines = [
        "## Secure messaging under load (`bench/messaging.py`)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()} (load "
        f"{load_at_start:.1f} at the start); gunicorn "
        f"({args.workers} sync workers) + PostgreSQL + Redis on the same machine; {members} "
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
    lines += [
        "",
        f"Reproduce: `python bench/messaging.py --pairs {args.pairs} --messages {args.messages} "
        f"--seconds {args.seconds:g} --poll-ms {args.poll_ms} --large {args.large} --write` "
        f"(this run took {time.monotonic() - wall:.0f} s).",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_section("messaging", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
