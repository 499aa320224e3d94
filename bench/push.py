"""Push delivery against Matrix Synapse: send→seen latency and throughput, same workload.

    python bench/push.py [--pairs 8] [--messages 50] [--rounds 2] [--write]
    python bench/push.py --smoke        # seconds: the broker's round trip only, no stack

1. A fresh PostgreSQL database (--database-url) with the demo CPTS and 2 x --pairs bench
   members; gunicorn (the API, --workers) and uvicorn (the event stream, `/evenements/`)
   on 127.0.0.1, events through Redis (--redis-url, its own key prefix).
2. Our round: --pairs conversations; each sender POSTs --messages messages back to back;
   each reader holds an SSE stream and, on each `message` event of its conversation,
   fetches `GET …/messages/?since=` (so what it sees went through the access rules). The
   latency runs from the start of the POST to the fetch that returns the message;
   throughput is messages sent over the span from the first send to the last answer.
3. Synapse's round: /work/shared/peers (synapse_up.sh on PostgreSQL, synapse_bench.py with
   the same pairs and messages: senders PUT back to back, receivers long-poll /sync), with
   the same definitions. Rounds alternate (ours, Synapse, ours, ...); the ratios compare
   the medians of the rounds, ours / Synapse's.

--smoke checks the script end to end in seconds (make test): publish → read through the
configured broker (Redis when REDIS_URL is set, the in-process one otherwise), no servers,
no Synapse, and prints its table. Traffic goes to 127.0.0.1 only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import stack  # noqa: E402
from bench.report import machine, write_section  # noqa: E402

API_PORT, PUSH_PORT = 8132, 8133  # this benchmark's own ports
# ../shared/peers beside the repository (the guide's layout); PEERS_DIR overrides it.
PEERS = Path(os.environ.get("PEERS_DIR", ROOT.parent / "shared" / "peers"))
SYNAPSE = {
    "SYNAPSE_DIR": os.environ.get("SYNAPSE_DIR", "/tmp/synapse-push"),  # noqa: S108 — its own
    "SYNAPSE_PORT": "18018",
    "SYNAPSE_DB_URL": "postgresql://postgres@127.0.0.1:5432/synapse_push",
    "SYNAPSE_USERS": "16",
}


def pct(values: list[float], q: float) -> float:
    """Synapse's script's percentile (nearest rank on the sorted list), for like with like."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else float("nan")


# --- Our round -------------------------------------------------------------------------------


def create_bench_members(env: dict[str, str], count: int) -> None:
    code = f"""
import django
django.setup()
from directory.models import Member, Organisation, User
from directory.services import create_member
practice = Organisation.objects.order_by("pk").first()
for i in range(1, {count} + 1):
    if not User.objects.filter(username=f"bench{{i}}").exists():
        create_member(actor=None, username=f"bench{{i}}", password="demo",
                      family_name=f"Banc{{i}}", given_name="Essai",
                      profession=Member.Profession.NURSE,
                      memberships=[(practice, "member")])
"""
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


@contextmanager
def uvicorn(env: dict[str, str], port: int) -> Any:
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        for _ in range(150):
            try:
                if stack.Client(port).call("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        yield
    finally:
        server.terminate()
        server.wait(timeout=30)


def our_round(pairs: int, messages: int, limit: float) -> dict[str, float]:
    import httpx  # noqa: PLC0415

    sent_at: dict[str, float] = {}
    sent_end: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    event_at: dict[str, float] = {}  # message id -> when its event reached the reader
    tag_of: dict[str, str] = {}  # message id -> tag
    lock = threading.Lock()
    deadline = time.monotonic() + limit
    errors: list[str] = []

    def pair(k: int) -> None:
        sender, reader = f"bench{2 * k + 1}", f"bench{2 * k + 2}"
        send_token = stack.token_for(API_PORT, sender)
        read_token = stack.token_for(API_PORT, reader)
        status, me, _ = stack.Client(API_PORT, read_token).call("GET", "/api/v1/me/")
        assert status == 200, me
        status, body, _ = stack.Client(API_PORT, send_token).call(
            "POST",
            "/api/v1/conversations/",
            {"subject": f"Banc {k}", "participants": [me["id"]]},
        )
        assert status == 201, body
        conversation = body["id"]
        tags = [f"{k}-{m}-{uuid.uuid4().hex[:8]}" for m in range(messages)]
        ready, done = threading.Event(), threading.Event()

        changed = threading.Event()

        def fetch() -> None:
            """Fetch what is new whenever events came in: several events, one fetch (as the
            page does: static/js/messaging.js polls again once if events arrived meanwhile)."""
            fetcher = stack.Client(API_PORT, read_token)
            base = f"/api/v1/conversations/{conversation}/messages/"
            since = ""
            while not done.is_set() and time.monotonic() < deadline:
                if not changed.wait(timeout=0.5):
                    continue
                changed.clear()
                query = f"?since={since}&page_size=200" if since else "?page_size=200"
                status, page, _ = fetcher.call("GET", base + query)
                now = time.monotonic()
                assert status == 200, page
                if page["results"]:
                    since = page["results"][0]["id"]  # newest first
                with lock:
                    for message in page["results"]:
                        tag = message["body"].rsplit("[", 1)[-1].rstrip("]")
                        seen_at.setdefault(tag, now)

        def receive() -> None:
            headers = {"Authorization": f"Token {read_token}"}
            timeout = httpx.Timeout(30, read=30)  # keep-alives every 5 s (PUSH_KEEPALIVE_SECONDS)
            url = f"http://127.0.0.1:{PUSH_PORT}/evenements/"
            with httpx.stream("GET", url, headers=headers, timeout=timeout) as response:
                event = ""
                try:
                    for line in response.iter_lines():
                        if line.startswith("event: "):
                            event = line[7:]
                        elif line.startswith("data: ") and event == "ready":
                            ready.set()
                        elif line.startswith("data: ") and event == "message":
                            data = json.loads(line[6:])
                            if data.get("conversation") == conversation:
                                with lock:
                                    event_at.setdefault(data["message"], time.monotonic())
                                changed.set()
                        if done.is_set() or time.monotonic() > deadline:
                            return
                except httpx.ReadTimeout:
                    errors.append(f"pair {k}: the stream went silent")

        fetcher_thread = threading.Thread(target=fetch, daemon=True)
        fetcher_thread.start()
        thread = threading.Thread(target=receive, daemon=True)
        thread.start()
        if not ready.wait(timeout=60):
            errors.append(f"pair {k}: the stream did not open")
        # Every pair logged in (a password hash each) and listening before anyone sends.
        try:
            start_line.wait(timeout=120)
        except threading.BrokenBarrierError:
            errors.append(f"pair {k}: the others were not ready")
            return
        client = stack.Client(API_PORT, send_token)
        for tag in tags:
            if time.monotonic() > deadline:
                break
            with lock:
                sent_at[tag] = time.monotonic()
            status, answer, _ = client.call(
                "POST",
                f"/api/v1/conversations/{conversation}/messages/",
                {"body": f"Pouvez-vous vérifier le traitement ? [{tag}]"},
                **{"Idempotency-Key": uuid.uuid4().hex},
            )
            if status != 201:
                errors.append(f"send {tag}: {status} {answer}")
                continue
            with lock:
                sent_end[tag] = time.monotonic()
                tag_of[str(answer["id"])] = tag
        stop = min(deadline, time.monotonic() + 15)
        while time.monotonic() < stop and not all(t in seen_at for t in tags if t in sent_end):
            time.sleep(0.02)
        done.set()
        thread.join(5)
        fetcher_thread.join(5)

    start_line = threading.Barrier(pairs)
    threads = [threading.Thread(target=pair, args=(k,), daemon=True) for k in range(pairs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline + 30 - time.monotonic()))
    with lock:
        ok = {tag: sent_at[tag] for tag in sent_end}
        latencies = [(seen_at[tag] - ok[tag]) * 1000 for tag in ok if tag in seen_at]
        span = max(sent_end.values()) - min(ok.values()) if ok else float("inf")
        sends = [(sent_end[tag] - ok[tag]) * 1000 for tag in ok]
        # Commit → event: the event is published on commit, a little before the answer leaves.
        hops = [
            (event_at[mid] - sent_end[tag]) * 1000
            for mid, tag in tag_of.items()
            if mid in event_at and tag in sent_end
        ]
    for error in errors[:5]:
        print("  error:", error)
    return {
        "sent": len(ok),
        "seen": len(latencies),
        "throughput": len(ok) / span,
        "p50": pct(latencies, 50),
        "p99": pct(latencies, 99),
        "send_p50": pct(sends, 50),
        "hop_p50": pct(hops, 50),
        "hop_p99": pct(hops, 99),
    }


# --- Synapse's round -------------------------------------------------------------------------


def synapse_env() -> dict[str, str]:
    return {**os.environ, **SYNAPSE}


def synapse_round(pairs: int, messages: int, limit: float) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable if not Path(SYNAPSE["SYNAPSE_DIR"], "bin", "python").exists()
         else str(Path(SYNAPSE["SYNAPSE_DIR"], "bin", "python")),
         str(PEERS / "synapse_bench.py"), "--base", f"http://127.0.0.1:{SYNAPSE['SYNAPSE_PORT']}",
         "--pairs", str(pairs), "--messages", str(messages), "--limit", str(limit)],
        env=synapse_env(), capture_output=True, text=True, timeout=limit + 120, check=True,
    )  # fmt: skip
    print(done.stdout.strip())
    line = re.search(
        r"synapse: (\d+) msgs, ([\d.]+) msg/s, p50 ([\d.na]+) ms, p99 ([\d.na]+) ms", done.stdout
    )
    assert line, done.stdout + done.stderr
    sent = re.search(r"sent (\d+)", done.stdout)
    return {
        "sent": float(sent.group(1)) if sent else float("nan"),
        "seen": float(line.group(1)),
        "throughput": float(line.group(2)),
        "p50": float(line.group(3)),
        "p99": float(line.group(4)),
    }


# --- Report ----------------------------------------------------------------------------------


def median_of(rounds: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rounds) if rounds else float("nan")


def report(
    args: argparse.Namespace, ours: list[dict[str, float]], theirs: list[dict[str, float]]
) -> str:
    load = os.getloadavg()[0]
    lines = [
        "## Push delivery against Synapse (`bench/push.py`)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()}, load {load:.1f} "
        "at the end (the benchmark's own servers and clients count in it; compare the ratios, "
        "measured in alternating rounds, rather than the absolute times). "
        f"{args.pairs} pairs x {args.messages} messages, {args.rounds} alternating rounds. "
        f"Ours: gunicorn ({args.workers} sync workers) for the API, uvicorn for "
        "`/evenements/`, Redis Streams, PostgreSQL; each reader holds an SSE stream and fetches "
        "`GET …/messages/?since=` when events arrive (events arriving during a fetch: one "
        "more fetch, as the page does). Synapse: /work/shared/peers on PostgreSQL, "
        "receivers long-polling `/sync`. Latency: start of the send → the reader's fetch "
        "returns it; throughput: messages sent / (first send → last answer).",
        "",
        "| Round | Ours: msg/s | p50 | p99 | Synapse: msg/s | p50 | p99 |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for index, (mine, peer) in enumerate(zip(ours, theirs or [{}] * len(ours), strict=False)):
        lines.append(
            f"| {index + 1} | {mine['throughput']:.1f} | {mine['p50']:.0f} ms | "
            f"{mine['p99']:.0f} ms | {peer.get('throughput', float('nan')):.1f} | "
            f"{peer.get('p50', float('nan')):.0f} ms | {peer.get('p99', float('nan')):.0f} ms |"
        )
    if theirs:
        ratios = {
            key: median_of(ours, key) / median_of(theirs, key)
            for key in ("p50", "p99", "throughput")
        }
        lines += [
            "",
            "| Ratio, ours / Synapse (medians of the rounds) | Measured | Goal (issue #17) |",
            "|---|---:|---:|",
            f"| send→seen latency p50 | **{ratios['p50']:.2f}x** | ≤ 0.5x |",
            f"| send→seen latency p99 | **{ratios['p99']:.2f}x** | ≤ 0.5x |",
            f"| throughput | **{ratios['throughput']:.2f}x** | ≥ 2x |",
        ]
    lines += [
        "",
        "Where our time goes (per round): the POST itself (p50), and the push hop, from the "
        "sender's answer to the event reaching the reader (p50 / p99; negative when the event, "
        "published on commit, arrives before the answer does):",
        "",
        "| Round | POST p50 | Answer → event p50 | p99 |",
        "|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {i + 1} | {r['send_p50']:.0f} ms | {r['hop_p50']:.0f} ms | {r['hop_p99']:.0f} ms |"
        for i, r in enumerate(ours)
    ]
    lines += [
        "",
        f"Reproduce: `python bench/push.py --pairs {args.pairs} --messages {args.messages} "
        f"--rounds {args.rounds} --limit {args.limit:g} --write` (PostgreSQL and Redis on "
        "127.0.0.1; Synapse is installed and started by /work/shared/peers/synapse_up.sh).",
    ]
    return "\n".join(lines)


# --- Smoke -----------------------------------------------------------------------------------


def smoke() -> int:
    """Publish → read through the configured broker, one pair, a few events: seconds."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ.setdefault("PUSH_KEY_PREFIX", f"bench-smoke-{os.getpid()}:")
    import django  # noqa: PLC0415

    django.setup()
    from worker import push  # noqa: PLC0415

    async def run() -> list[float]:
        reader = push.reader()
        topic = push.member_topic(2)
        cursor = await reader.start([topic])
        latencies = []
        try:
            for index in range(5):
                started = time.monotonic()
                push.broker().append([topic], {"type": "message", "message": str(index)})
                events = await reader.read(cursor, timeout=2)
                assert events, "the event did not arrive"
                cursor = push.advance(cursor, events)
                latencies.append((time.monotonic() - started) * 1000)
        finally:
            await reader.close()
        return latencies

    latencies = asyncio.run(run())
    kind = "Redis" if os.environ.get("REDIS_URL") else "in-process"
    print(f"## Push delivery, smoke ({kind} broker, publish → read, no servers)")
    print("| Events | p50 | p99 |\n|---:|---:|---:|")
    print(f"| {len(latencies)} | {pct(latencies, 50):.2f} ms | {pct(latencies, 99):.2f} ms |")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="seconds-long check, no stack")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/cpts_bench_push"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/4")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--limit", type=float, default=120, help="seconds per round, at most")
    parser.add_argument("--no-synapse", action="store_true")
    parser.add_argument("--write", action="store_true", help="write docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.smoke:
        return smoke()

    var_dir = tempfile.mkdtemp(prefix="bench-push-")
    env = stack.bench_env(args.database_url, queue="bench-push", var_dir=var_dir)
    env.update(
        REDIS_URL=args.redis_url,
        PUSH_KEY_PREFIX=f"bench-push-{os.getpid()}:",
        PUSH_KEEPALIVE_SECONDS="5",
    )
    stack.prepare(env, args.database_url)
    create_bench_members(env, 2 * args.pairs)
    ours: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    use_synapse = not args.no_synapse
    started_synapse = False
    if use_synapse:
        up = subprocess.run(
            ["bash", str(PEERS / "synapse_up.sh")],
            env=synapse_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        # Already running (started by hand for this benchmark): use it, leave it running.
        if up.returncode != 0 and "already running" not in up.stdout:
            raise SystemExit(f"synapse_up.sh failed:\n{up.stdout}\n{up.stderr}")
        started_synapse = up.returncode == 0
    try:
        with stack.gunicorn(env, API_PORT, args.workers), uvicorn(env, PUSH_PORT):
            for index in range(args.rounds):
                mine = our_round(args.pairs, args.messages, args.limit)
                print(f"round {index + 1}, ours: {mine}")
                ours.append(mine)
                if use_synapse:
                    theirs.append(synapse_round(args.pairs, args.messages, args.limit))
    finally:
        if started_synapse:
            subprocess.run(["bash", str(PEERS / "synapse_down.sh")], env=synapse_env(), check=False)
    text = report(args, ours, theirs)
    print(text)
    if args.write:
        write_section("push", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
