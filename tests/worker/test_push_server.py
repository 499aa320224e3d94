"""The event stream through a real ASGI server process (uvicorn), read with httpx.

The messages are sent through the same server's API, as a client would: without Redis the
server's in-process buffer is the broker, so the send must happen in that process; with
Redis (CI) it goes through Redis.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from directory.demo import load_directory
from messaging.services.conversations import start_conversation
from security import tokens
from tests.push_server import PushServer

pytestmark = [pytest.mark.django_db(transaction=True)]


@dataclass
class Stream:
    """An open SSE stream: its events as they arrive, and the last id seen."""

    lines: Iterator[str]
    last_id: str = ""
    events: list[dict[str, str]] = field(default_factory=list)

    def next_event(self, kind: str = "", *, within: float = 5) -> dict[str, str] | None:
        """The next event (of `kind`, if given), or None if none comes within `within` s.

        Keep-alive comments arrive every second (tests/push_server.py), so the deadline is
        checked even when nothing happens.
        """
        deadline = time.monotonic() + within
        data: dict[str, str] = {}
        for line in self.lines:
            if line.startswith("id: "):
                self.last_id = line[4:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and data:
                self.events.append(data)
                if not kind or data.get("type") == kind:
                    return data
                data = {}
            if time.monotonic() > deadline:
                return None
        return None


@contextmanager
def stream(server: PushServer, token: str, last_id: str = "") -> Iterator[Stream]:
    headers = {"Authorization": f"Token {token}", "Accept": "text/event-stream"}
    if last_id:
        headers["Last-Event-ID"] = last_id
    timeout = httpx.Timeout(10, read=5)
    with httpx.stream("GET", f"{server.url}/evenements/", headers=headers, timeout=timeout) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        opened = Stream(r.iter_lines())
        assert opened.next_event() == {"type": "ready"}
        yield opened


def token_for(member) -> str:
    return tokens.issue_personal_token(user=member.user, name="test", issued_with_2fa=True).secret


def send(server: PushServer, token: str, conversation, body: str) -> str:
    response = httpx.post(
        f"{server.url}/api/v1/conversations/{conversation.code}/messages/",
        json={"body": body},
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
def cpts():
    return load_directory(password="demo")


def test_a_reader_gets_the_message_event_and_an_outsider_gets_nothing(
    push_server: PushServer, cpts
) -> None:
    author, reader, outsider = cpts["dr.martin"], cpts["pharma.durand"], cpts["ide.petit"]
    conversation = start_conversation(actor=author, subject="Sortie", participants=[reader])
    author_token, reader_token = token_for(author), token_for(reader)
    with (
        stream(push_server, reader_token) as readers,
        stream(push_server, token_for(outsider)) as outsiders,
    ):
        sent = send(push_server, author_token, conversation, "Le ramipril est arrêté.")
        event = readers.next_event("message")
        assert event == {
            "type": "message",
            "conversation": str(conversation.code),
            "message": sent,
        }
        assert outsiders.next_event(within=1.5) is None
    assert "ramipril" not in json.dumps(readers.events)


def test_a_reconnecting_client_gets_what_was_sent_while_it_was_away(
    push_server: PushServer, cpts
) -> None:
    author, reader = cpts["dr.martin"], cpts["pharma.durand"]
    conversation = start_conversation(actor=author, subject="Suivi", participants=[reader])
    author_token, reader_token = token_for(author), token_for(reader)
    with stream(push_server, reader_token) as first:
        before = send(push_server, author_token, conversation, "Un")
        assert (first.next_event("message") or {}).get("message") == before
        resume_from = first.last_id
    # Disconnected: two messages meanwhile.
    missed = [send(push_server, author_token, conversation, text) for text in ("Deux", "Trois")]
    with stream(push_server, reader_token, last_id=resume_from) as again:
        got = [again.next_event("message"), again.next_event("message")]
    assert [event and event.get("message") for event in got] == missed


def test_an_integration_token_without_read_scope_is_refused_by_the_server(
    push_server: PushServer, cpts
) -> None:
    issued = tokens.issue_integration_token(
        user=cpts["hop.cardio"].user, name="SIH", scopes=["liaison:write"], actor=None
    )
    response = httpx.get(
        f"{push_server.url}/evenements/",
        headers={"Authorization": f"Token {issued.secret}"},
        timeout=10,
    )
    assert response.status_code == 403
    assert httpx.get(f"{push_server.url}/evenements/", timeout=10).status_code == 401
