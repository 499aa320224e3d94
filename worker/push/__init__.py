"""Push delivery: tell a member's open pages and API clients that something changed, at once.

What is pushed is a *hint*, never content: an event names its type and public ids ("message
<code> in conversation <code>", "sheet <code> is now accepted", "notification <id>"), and the
client fetches what it may see through the normal pages and API, hence through the access
rules and the audit. A leaked or misrouted event therefore discloses that something happened,
never a patient or a text.

Topics. An event goes to topics: a member (`m<id>`) or an organisation (`o<id>`, for what
every member of a service sees, like a referral arriving in its worklist). A stream
subscribes to its member's topic and their organisations', resolved once when it connects;
the publisher never has to ask the database who is concerned, so publishing adds no SQL
query to the request that changed something (message send, sheet send/receive/accept...).

Delivery. Events are appended after the transaction commits (on_commit, robust: a push
failure is logged, never turned into a failure of the committed request), to one Redis Stream
per topic (XADD with an approximate MAXLEN, and an expiry). Every web or push process reads
the same streams, so it works with several processes and machines. An SSE event's id is the
cursor of all the topics the stream reads ("m5:1733-0;o3:1730-2"): a browser that reconnects
sends it back as Last-Event-ID and gets exactly what it missed, while it is still kept.

Without REDIS_URL (make demo, make test on a fresh machine), an in-process buffer with the
same interface: it works within one process (the demo's web server), not across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

Cursor = dict[str, str]  # topic -> id of the last entry read


class RedisUnavailable(Exception):
    """The broker cannot be read right now (connection lost, timeout)."""


_MAX_SEQUENCE = 2**64 - 1


@dataclass(frozen=True)
class PushEvent:
    topic: str
    entry_id: str
    payload: dict[str, str]

    @property
    def event_id(self) -> str:
        """One publication, whatever the topics it went to."""
        return self.payload.get("eid", self.entry_id)

    @property
    def public_payload(self) -> dict[str, str]:
        return {name: value for name, value in self.payload.items() if name != "eid"}


def member_topic(member_id: int) -> str:
    return f"m{member_id}"


def organisation_topic(organisation_id: int) -> str:
    return f"o{organisation_id}"


def publish(*, topics: Iterable[str], kind: str, **ids: object) -> None:
    """Push `kind` with `ids` to `topics` once the current transaction commits.

    Outside a transaction it is pushed at once (Django's on_commit). `ids` are public
    identifiers only (codes, ids, a status): never a name, a subject or a text.
    """
    targets = sorted(set(topics))
    if not targets:
        return
    payload = {"type": kind, **{name: str(value) for name, value in ids.items()}}
    payload["eid"] = secrets.token_hex(8)
    transaction.on_commit(lambda: _deliver(targets, payload), robust=True)


def _deliver(topics: list[str], payload: dict[str, str]) -> None:
    try:
        broker().append(topics, payload)
    except Exception:  # a push is a hint: the pages still poll, the API still lists
        logger.warning("push: could not publish a %s event", payload.get("type"), exc_info=True)


# --- Cursors -----------------------------------------------------------------------------


def _entry_key(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)


def format_cursor(cursor: Cursor) -> str:
    """The SSE id of a position: every topic's last entry, in topic order."""
    return ";".join(f"{topic}:{entry}" for topic, entry in sorted(cursor.items()))


def parse_cursor(text: str, *, topics: Iterable[str]) -> Cursor:
    """The positions a client sent back (Last-Event-ID), kept for `topics` only.

    A malformed or foreign id is ignored, topic by topic: the stream then starts from now
    for that topic, as on a first connection.
    """
    allowed = set(topics)
    cursor: Cursor = {}
    for part in text.split(";"):
        topic, _, entry = part.strip().partition(":")
        if topic not in allowed:
            continue
        try:
            _entry_key(entry)
        except ValueError:
            continue
        cursor[topic] = entry
    return cursor


# --- Brokers -----------------------------------------------------------------------------


class Broker(Protocol):
    def append(self, topics: list[str], payload: dict[str, str]) -> None: ...

    async def start(self, topics: list[str]) -> Cursor: ...

    async def read(self, cursor: Cursor, *, timeout: float) -> list[PushEvent]: ...

    async def close(self) -> None: ...


class RedisBroker:
    """One Redis Stream per topic; appends from the web process, reads in the push server.

    Reading opens its own connection (XREAD BLOCK holds it): one per open stream.
    """

    def __init__(self, url: str) -> None:
        import redis  # noqa: PLC0415 — only with Redis configured

        self.url = url
        self.prefix = settings.PUSH_KEY_PREFIX
        self.length = settings.PUSH_STREAM_LENGTH
        self.ttl = settings.PUSH_STREAM_TTL_SECONDS
        self._sync = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._async: Any = None

    def key(self, topic: str) -> str:
        return f"{self.prefix}{topic}"

    def append(self, topics: list[str], payload: dict[str, str]) -> None:
        data = json.dumps(payload, separators=(",", ":"))
        pipe = self._sync.pipeline(transaction=False)
        for topic in topics:
            pipe.xadd(self.key(topic), {"d": data}, maxlen=self.length, approximate=True)
            pipe.expire(self.key(topic), self.ttl)
        pipe.execute()

    def _reader(self) -> Any:
        if self._async is None:
            import redis.asyncio  # noqa: PLC0415

            # XREAD BLOCK waits up to PUSH_KEEPALIVE_SECONDS: the socket must wait longer
            # (redis-py's default of 5 s would cut a quiet stream).
            self._async = redis.asyncio.Redis.from_url(
                self.url, socket_timeout=settings.PUSH_KEEPALIVE_SECONDS + 10
            )
        return self._async

    async def start(self, topics: list[str]) -> Cursor:
        # The server's clock, one millisecond back: an event appended in this very
        # millisecond is sent (at least once), rather than lost (XREAD is exclusive).
        seconds, micros = await self._reader().time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        return dict.fromkeys(topics, f"{now_ms - 1}-{_MAX_SEQUENCE}")

    async def read(self, cursor: Cursor, *, timeout: float) -> list[PushEvent]:
        import redis  # noqa: PLC0415

        streams = {self.key(topic): entry for topic, entry in cursor.items()}
        try:
            answer = await self._reader().xread(streams, block=max(1, int(timeout * 1000)))
        except redis.RedisError as error:
            raise RedisUnavailable(str(error)) from error
        events = []
        for key, entries in answer or []:
            topic = (key.decode() if isinstance(key, bytes) else key)[len(self.prefix) :]
            for entry_id, fields in entries:
                raw = fields.get(b"d") or fields.get("d") or b"{}"
                events.append(
                    PushEvent(
                        topic=topic,
                        entry_id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
                        payload=json.loads(raw),
                    )
                )
        return events

    async def close(self) -> None:
        if self._async is not None:
            await self._async.aclose()
            self._async = None


class MemoryBroker:
    """The same interface within one process: a bounded buffer per topic.

    Appends come from request threads (sync views run in a thread pool under ASGI); readers
    wait on an asyncio.Event of their own loop, set thread-safely on each append.
    """

    def __init__(self) -> None:
        self.length = settings.PUSH_STREAM_LENGTH
        self._lock = threading.Lock()
        self._counter = 0
        self._topics: dict[str, deque[tuple[str, dict[str, str]]]] = {}
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def append(self, topics: list[str], payload: dict[str, str]) -> None:
        with self._lock:
            self._counter += 1
            entry_id = f"{self._counter}-0"
            for topic in topics:
                buffer = self._topics.setdefault(topic, deque(maxlen=self.length))
                buffer.append((entry_id, dict(payload)))
            waiters = list(self._waiters)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # the reader's loop is closed: it is gone
                loop.call_soon_threadsafe(event.set)

    async def start(self, topics: list[str]) -> Cursor:
        with self._lock:
            return dict.fromkeys(topics, f"{self._counter}-0")

    def _since(self, cursor: Cursor) -> list[PushEvent]:
        events: list[PushEvent] = []
        with self._lock:
            for topic, after in cursor.items():
                last = _entry_key(after)
                events.extend(
                    PushEvent(topic, entry_id, payload)
                    for entry_id, payload in self._topics.get(topic, ())
                    if _entry_key(entry_id) > last
                )
        return events

    async def read(self, cursor: Cursor, *, timeout: float) -> list[PushEvent]:
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.add(waiter)
        try:
            deadline = time.monotonic() + timeout
            while True:
                waiter[1].clear()
                if events := self._since(cursor):
                    return events
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                try:
                    await asyncio.wait_for(waiter[1].wait(), left)
                except TimeoutError:
                    return self._since(cursor)
        finally:
            with self._lock:
                self._waiters.discard(waiter)

    async def close(self) -> None:
        return None


_memory: MemoryBroker | None = None
_redis: dict[str, RedisBroker] = {}


def broker() -> RedisBroker | MemoryBroker:
    """The process's broker for appending: Redis when configured, else the in-process one."""
    global _memory
    if settings.REDIS_URL:
        if settings.REDIS_URL not in _redis:
            _redis[settings.REDIS_URL] = RedisBroker(settings.REDIS_URL)
        return _redis[settings.REDIS_URL]
    if _memory is None:
        _memory = MemoryBroker()
    return _memory


def reader() -> RedisBroker | MemoryBroker:
    """A broker for one open stream (a Redis connection of its own, or the shared buffer)."""
    if settings.REDIS_URL:
        return RedisBroker(settings.REDIS_URL)
    return broker()


def in_order(events: list[PushEvent]) -> list[PushEvent]:
    return sorted(events, key=lambda event: _entry_key(event.entry_id))


def advance(cursor: Cursor, events: list[PushEvent]) -> Cursor:
    """The cursor after `events` (entries of one topic arrive in order)."""
    moved = dict(cursor)
    for event in events:
        if _entry_key(event.entry_id) > _entry_key(moved.get(event.topic, "0-0")):
            moved[event.topic] = event.entry_id
    return moved
