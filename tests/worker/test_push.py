"""Push delivery (worker/push/): what is published, to whom, when, and how a client resumes.

These run on the broker of the configuration: Redis when REDIS_URL is set (CI), the
in-process buffer otherwise. The real ASGI server is in test_push_server.py.
"""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from messaging.services.conversations import start_conversation
from messaging.services.messages import post_message
from security import tokens
from tests.push_server import payloads, read, start
from worker import push
from worker.services import notify

pytestmark = pytest.mark.django_db


def test_it_publishes_after_commit_and_never_on_rollback(demo) -> None:
    topic = push.member_topic(demo["dr.martin"].pk)
    cursor = start(topic)
    with transaction.atomic():
        push.publish(topics=[topic], kind="test", ref=1)
        assert read(cursor, timeout=0.1) == []  # not before commit
    # pytest-django's transaction is never committed: run what commit would run.
    try:
        with transaction.atomic():
            push.publish(topics=[topic], kind="test", ref=2)
            raise RuntimeError
    except RuntimeError:
        pass
    assert read(cursor, timeout=0.1) == []


def test_a_committed_event_reaches_its_topic_only(demo, django_capture_on_commit_callbacks) -> None:
    mine = push.member_topic(demo["dr.martin"].pk)
    other = push.member_topic(demo["pharma.durand"].pk)
    cursor = start(mine, other)
    with django_capture_on_commit_callbacks(execute=True):
        push.publish(topics=[mine], kind="test", ref=7)
    events = read(cursor)
    assert [(event.topic, event.public_payload) for event in events] == [
        (mine, {"type": "test", "ref": "7"})
    ]


def test_a_message_is_pushed_to_its_recipients_and_author_and_nobody_else(
    demo, django_capture_on_commit_callbacks
) -> None:
    author, reader, outsider = demo["dr.martin"], demo["pharma.durand"], demo["ide.petit"]
    conversation = start_conversation(actor=author, subject="Sortie", participants=[reader])
    topics = [push.member_topic(m.pk) for m in (author, reader, outsider)]
    cursor = start(*topics)
    with django_capture_on_commit_callbacks(execute=True):
        posted = post_message(
            actor=author, conversation=conversation, body="Le ramipril est arrêté"
        )
    events = read(cursor)
    by_topic = {event.topic: event.public_payload for event in events}
    expected = {
        "type": "message",
        "conversation": str(conversation.code),
        "message": str(posted.message.code),
    }
    assert by_topic == {topics[0]: expected, topics[1]: expected}
    # An id only: no text, no subject, no name.
    raw = json.dumps([event.payload for event in events])
    assert "ramipril" not in raw
    assert "Sortie" not in raw


def test_a_notification_is_pushed_to_its_recipient_by_id(
    demo, django_capture_on_commit_callbacks
) -> None:
    recipient, actor = demo["dr.martin"], demo["coord"]
    topics = [push.member_topic(recipient.pk), push.member_topic(actor.pk)]
    cursor = start(*topics)
    with django_capture_on_commit_callbacks(execute=True):
        (notification,) = notify(
            event="notifications.test", recipients=[recipient], actor=actor, target=None, url="/"
        )
    assert [(e.topic, e.public_payload) for e in read(cursor)] == [
        (topics[0], {"type": "notification", "notification": str(notification.pk)})
    ]


def test_publishing_adds_no_query(demo, django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        push.publish(topics=[push.member_topic(demo["dr.martin"].pk)], kind="test", ref=1)


def test_a_reader_resumes_from_its_cursor_without_loss(
    demo, django_capture_on_commit_callbacks
) -> None:
    topic = push.member_topic(demo["dr.martin"].pk)
    cursor = start(topic)
    with django_capture_on_commit_callbacks(execute=True):
        push.publish(topics=[topic], kind="test", ref=1)
    first = read(cursor)
    cursor = push.advance(cursor, first)
    # Disconnected: two events meanwhile.
    with django_capture_on_commit_callbacks(execute=True):
        push.publish(topics=[topic], kind="test", ref=2)
        push.publish(topics=[topic], kind="test", ref=3)
    resumed = push.parse_cursor(push.format_cursor(cursor), topics=[topic])
    assert [p["ref"] for p in payloads(read(resumed))] == ["2", "3"]


def test_a_cursor_keeps_only_the_subscribers_topics() -> None:
    cursor = push.parse_cursor("m1:5-0;m2:7-1;o3:9-0;m4:garbage", topics=["m1", "o3", "m4"])
    assert cursor == {"m1": "5-0", "o3": "9-0"}


# --- The endpoint's authentication (the stream itself: test_push_server.py) -----------------


def test_an_anonymous_visitor_gets_401(client) -> None:
    assert client.get("/evenements/").status_code == 401


def test_an_integration_token_without_read_scope_is_refused(demo, client) -> None:
    issued = tokens.issue_integration_token(
        user=demo["hop.cardio"].user, name="SIH", scopes=["messaging:write"], actor=None
    )
    response = client.get("/evenements/", HTTP_AUTHORIZATION=f"Token {issued.secret}")
    assert response.status_code == 403
    assert "portée" in response.json()["detail"]


def test_an_unknown_token_gets_401(client) -> None:
    response = client.get("/evenements/", HTTP_AUTHORIZATION="Token cpts_nothing")
    assert response.status_code == 401


def test_a_wsgi_server_answers_204_so_that_the_browser_stops_trying(demo, client) -> None:
    """gunicorn and the tests' live server are WSGI: no stream holds their threads."""
    client.force_login(demo["dr.martin"].user)
    response = client.get("/evenements/")
    assert response.status_code == 204
