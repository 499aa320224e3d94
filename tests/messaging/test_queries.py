"""Pinned query counts: the cost of a page does not grow with the conversation or the inbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now
from rest_framework.test import APIClient

from directory.services import issue_api_token
from messaging.models import Conversation, Message, MessageReceipt
from messaging.services import jobs
from security.crypto import keyring_from_settings, reset_keyring_cache
from tests.audit_counts import AUDIT_ENTRY
from tests.messaging.conftest import API, pdf_upload, say

pytestmark = pytest.mark.django_db

# The token with its user, member and organisations (one query), the conversation (access,
# with the caller's participant row), the page of messages (authors and replies joined),
# receipts, attachments, and the audit entry of the read (tests/audit_counts.py).
MESSAGE_PAGE_QUERIES = 5 + AUDIT_ENTRY


@pytest.fixture
def token_client(api_client):
    """An API client authenticated by token, as a real client: each request loads its member."""

    def authenticate(member):
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {issue_api_token(user=member.user)}")
        return api_client

    return authenticate


def fill(conversation: Conversation, count: int) -> None:
    """`count` messages in one INSERT per batch (encrypted like real ones), with receipts."""
    gp, pharmacist = (
        conversation.created_by,
        conversation.participants.exclude(member=conversation.created_by).get().member,
    )
    start = now() - timedelta(days=30)
    rows = [
        Message(
            conversation=conversation,
            author=gp if i % 2 else pharmacist,
            body=f"message {i}",
            created_at=start + timedelta(seconds=i),
            urgent=i % 7 == 0,
        )
        for i in range(count)
    ]
    Message.objects.bulk_create(rows, batch_size=2000)
    receipts = [
        MessageReceipt(
            message=m, conversation=conversation, member=pharmacist if m.author_id == gp.pk else gp
        )
        for m in rows
    ]
    MessageReceipt.objects.bulk_create(receipts, batch_size=2000)
    say(gp, conversation, "avec une pièce jointe", files=[pdf_upload()])


def count_queries(client, url: str) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), response.json()


def test_a_conversation_of_10000_messages_lists_like_one_of_10(
    token_client, pharmacist, start
) -> None:
    small, large = start(subject="Petite"), start(subject="Grande")
    fill(small, 10)
    fill(large, 10_000)
    assert Message.objects.filter(conversation=large).count() == 10_001
    client = token_client(pharmacist)
    small_count, small_page = count_queries(client, f"{API}{small.code}/messages/?page_size=50")
    large_count, large_page = count_queries(client, f"{API}{large.code}/messages/?page_size=50")
    assert small_count == large_count == MESSAGE_PAGE_QUERIES
    assert len(small_page["results"]) == 11
    assert len(large_page["results"]) == 50
    assert large_page["results"][0]["attachments"]
    # Deep in the conversation, by cursor, still the same.
    next_count, next_page = count_queries(client, large_page["next"])
    assert next_count == MESSAGE_PAGE_QUERIES
    assert next_page["results"][0]["created_at"] < large_page["results"][-1]["created_at"]


def test_the_conversation_list_is_constant_in_its_size(
    token_client, pharmacist, start, demo
) -> None:
    for index in range(2):
        say(demo["dr.martin"], start(subject=f"c{index}"), "x")
    client = token_client(pharmacist)
    few, _ = count_queries(client, API)
    for index in range(12):
        say(demo["dr.martin"], start(subject=f"d{index}", to=("pharma.durand", "ide.petit")), "x")
    many, page = count_queries(client, API)
    assert few == many
    assert len(page["results"]) == 14
    # token (with member and organisations), count, page (unread counts are subqueries),
    # participants
    assert many == 4


def test_a_subject_search_adds_one_query_whatever_the_inbox(
    token_client, pharmacist, start, demo
) -> None:
    for index in range(2):
        say(demo["dr.martin"], start(subject=f"Question {index}"), "x")
    client = token_client(pharmacist)
    plain, _ = count_queries(client, API)
    few, _ = count_queries(client, f"{API}?subject=question")
    for index in range(12):
        say(demo["dr.martin"], start(subject=f"Question {index + 2}"), "x")
    many, page = count_queries(client, f"{API}?subject=QUESTION")
    assert len(page["results"]) == 14
    # The encrypted subjects (and nothing else) of the most recent conversations, in one query.
    assert few == many == plain + 1


def without_key_usage(queries: list[dict]) -> list[str]:
    """The nonce counter reserves a block of 1024 encryptions now and then: not per message."""
    return [q["sql"] for q in queries if "security_keyusage" not in q["sql"]]


def test_sending_takes_a_fixed_number_of_queries(token_client, gp, conversation, start) -> None:
    client = token_client(gp)
    other = start(to=("pharma.durand", "ide.petit"))
    counts = []
    for target in (conversation, other, other):
        with CaptureQueriesContext(connection) as captured:
            response = client.post(f"{API}{target.code}/messages/", {"body": "x"}, format="json")
        assert response.status_code == 201
        counts.append(len(without_key_usage(captured.captured_queries)))
    # Whatever the number of recipients, the same queries; plus one INSERT for the
    # notifications (one row each, worker.services.notify), and a recipient who has not read
    # the previous message is not notified again (coalesced).
    assert counts[0] == counts[2]  # nobody notified: both already have an unread message
    assert counts[1] == counts[0] + 1  # the first message of `other`: two notifications
    assert counts[0] == SEND_QUERIES + TRANSACTION_MARKERS


# --- The hot paths of a conversation, pinned (issue #17: a message send in 8 queries) -------
#
# Inside a test's transaction the service's own transaction shows as SAVEPOINT and RELEASE:
# on a real connection it is BEGIN and COMMIT, which are not statements Django records.
TRANSACTION_MARKERS = 2
# The token with its user, member and organisations; the conversation's participants with
# their members, unread flags and the conversation itself (access, standing, recipients);
# the UPDATE of the conversation's dates; the INSERT of the message (ON CONFLICT with an
# Idempotency-Key); the INSERT of the receipts; the audit entry (tests/audit_counts.py).
# The answer is built from what was written: nothing is read back.
SEND_QUERIES = 5 + AUDIT_ENTRY
# A poll: the token (with member and organisations), the conversation (access, standing and
# the `since` message's place), the page of messages. With new messages: their receipts and
# attachments, and the audit entry of the disclosure.
EMPTY_POLL_QUERIES = 3
POLL_QUERIES = EMPTY_POLL_QUERIES + 2 + AUDIT_ENTRY
# The token; the conversation with its unread counts; its participants; the audited read.
DETAIL_QUERIES = 1 + 1 + 1 + AUDIT_ENTRY
# The token; the conversation; the notifications about it marked read; the receipts; the
# unread count that the answer gives.
MARK_READ_QUERIES = 5


@pytest.fixture
def fresh_nonce_block() -> None:
    """A fresh block of encryptions: no reservation of the next block lands in a count."""
    reset_keyring_cache()
    keyring_from_settings().reserve(1)


def statements(captured: CaptureQueriesContext) -> list[str]:
    markers = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(markers)]


@pytest.mark.parametrize("key", ["", "retry-1"])
def test_a_message_is_sent_in_eight_queries(
    token_client, gp, pharmacist, conversation, django_assert_num_queries, fresh_nonce_block, key
) -> None:
    client = token_client(gp)
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    url = f"{API}{conversation.code}/messages/"
    with django_assert_num_queries(SEND_QUERIES + TRANSACTION_MARKERS) as captured:
        response = client.post(url, {"body": "Reçu, merci."}, format="json", **headers)
    assert response.status_code == 201
    assert len(statements(captured)) == SEND_QUERIES
    # Built from what was written, the answer is what a read gives.
    sent = response.json()
    assert sent["body"] == "Reçu, merci."
    assert [r["member"]["id"] for r in sent["receipts"]] == [str(pharmacist.code)]
    assert sent["receipts"][0]["read_at"] is None
    page = token_client(gp).get(url).json()["results"]
    assert page[0] == sent


def test_a_retried_send_answers_the_first_message_and_writes_nothing(
    token_client, gp, conversation
) -> None:
    client = token_client(gp)
    url = f"{API}{conversation.code}/messages/"
    first = client.post(url, {"body": "Une fois"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    conversation.refresh_from_db()
    dates = (conversation.last_message_at, conversation.retain_until)
    again = client.post(url, {"body": "Une fois"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Message.objects.filter(conversation=conversation, body__isnull=False).count() == 2
    conversation.refresh_from_db()
    assert (conversation.last_message_at, conversation.retain_until) == dates


def test_a_poll_takes_a_fixed_number_of_queries(
    token_client, gp, pharmacist, conversation, django_assert_num_queries, fresh_nonce_block
) -> None:
    seen = say(gp, conversation, "Premier")
    url = f"{API}{conversation.code}/messages/?since={seen.code}"
    client = token_client(pharmacist)
    with django_assert_num_queries(EMPTY_POLL_QUERIES):
        assert client.get(url).json()["results"] == []
    say(gp, conversation, "Deuxième")
    say(gp, conversation, "Troisième", files=[pdf_upload()])
    with django_assert_num_queries(POLL_QUERIES):
        results = client.get(url).json()["results"]
    assert [m["body"] for m in results] == ["Troisième", "Deuxième"]


def test_the_detail_and_mark_read_take_a_fixed_number_of_queries(
    token_client, gp, pharmacist, conversation, django_assert_num_queries, fresh_nonce_block
) -> None:
    say(gp, conversation, "Deuxième")
    client = token_client(pharmacist)
    with django_assert_num_queries(DETAIL_QUERIES):
        detail = client.get(f"{API}{conversation.code}/").json()
    assert (detail["unread"], detail["can_write"]) == (2, True)
    with django_assert_num_queries(MARK_READ_QUERIES):
        read = client.post(f"{API}{conversation.code}/read/", {}, format="json").json()
    assert read == {"marked": 2, "unread": 0}


# The scheduled jobs: a constant per batch, plus what each item inherently costs.
# Reminders: the batch of pairs; then, in one transaction (savepoint and release under the
# test's transaction), the locked waiting receipts, one UPDATE stamping them, the members
# and the conversations; plus one outbox INSERT per reminder (enqueue_notification records
# one notification at a time).
REMINDER_BATCH_QUERIES = 7
QUERIES_PER_REMINDER = 1
# Purge: savepoint, the locked batch, its files, the receipts and attachments deleted, then
# the conversations' cascade (it collects the conversations and their messages, and deletes
# receipts, attachments, participants, reply links, messages, conversations: 10), release;
# plus an audit entry per conversation (tests/audit_counts.py): a hash chain is appended
# one entry at a time.
PURGE_BATCH_QUERIES = 16
QUERIES_PER_PURGED_CONVERSATION = AUDIT_ENTRY


@pytest.mark.parametrize("count", [2, 8])
def test_the_unread_reminders_cost_a_constant_per_batch(
    start, settings, django_assert_num_queries, count
) -> None:
    for i in range(count):
        start(subject=f"Question {i}", body="Bonjour")  # dr.martin -> pharma.durand, unread
    later = now() + timedelta(minutes=settings.MESSAGING_UNREAD_EMAIL_AFTER_MINUTES + 1)

    with django_assert_num_queries(REMINDER_BATCH_QUERIES + QUERIES_PER_REMINDER * count):
        assert jobs.remind_unread_messages(at=later) == count
    with django_assert_num_queries(1):  # nothing left: one query finds it out
        assert jobs.remind_unread_messages(at=later) == 0


@pytest.mark.parametrize("count", [2, 8])
def test_the_retention_purge_costs_a_constant_per_batch(
    start, django_assert_num_queries, count
) -> None:
    for i in range(count):
        start(subject=f"Question {i}", body="Ci-joint", retention_days=1, files=[pdf_upload()])
    later = now() + timedelta(days=2)

    expected = PURGE_BATCH_QUERIES + QUERIES_PER_PURGED_CONVERSATION * count
    with django_assert_num_queries(expected):
        assert jobs.purge_expired_conversations(at=later) == count
    assert not Conversation.objects.exists()


def test_a_session_loads_the_member_and_organisations_in_one_query(
    token_client, pharmacist, conversation, demo, django_assert_num_queries
) -> None:
    """The pages' path: the session row, the account, then member and organisations at once."""
    by_token, _ = count_queries(token_client(pharmacist), API)
    session = APIClient()
    session.force_login(pharmacist.user)
    with django_assert_num_queries(by_token + 2) as captured:
        assert len(session.get(API).json()["results"]) == 1
    tables = [q["sql"].split(" FROM ", 1)[1].split()[0] for q in captured.captured_queries[:3]]
    assert tables == ['"django_session"', '"directory_user"', '"directory_member"']
