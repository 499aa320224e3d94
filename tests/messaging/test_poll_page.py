"""The page of a poll (and a first page), read by compiled queries (selectors.message_page),
answers exactly what DRF's CursorPagination over `messages_of` answers, in no more queries."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.apis import MessageCursorPagination
from messaging.models import Message
from messaging.services import conversations, messages
from security.models import AuditEntry
from tests.messaging.conftest import API, pdf_upload, say

pytestmark = pytest.mark.django_db


def drf_only(
    self: MessageCursorPagination, queryset: Any, request: Any, view: Any, **_: Any
) -> Any:
    """The page as it was read before: DRF's CursorPagination over the queryset."""
    return self.paginate_queryset(queryset(), request, view)


def unsigned(body: Any) -> Any:
    """The body with the download links' tokens dropped: they are signed with the second."""
    return re.sub(r"\?token=[^\"&]+", "?token=…", repr(body))


def both_ways(client: Any, url: str) -> tuple[Any, int, int]:
    """The answer through the compiled page and through DRF alone: the same, with the audit
    entries each wrote; returns the body and each one's query count."""
    client.get(url)  # warm: what a member's first request caches (their organisations)
    audited = AuditEntry.objects.filter(action="conversation.read")
    before = audited.count()
    with CaptureQueriesContext(connection) as compiled:
        response = client.get(url)
    entries = list(audited.order_by("pk").values_list("extra", flat=True)[before:])
    with (
        mock.patch.object(MessageCursorPagination, "paginate_messages", drf_only),
        CaptureQueriesContext(connection) as plain,
    ):
        expected = client.get(url)
    assert (response.status_code, unsigned(response.json())) == (
        expected.status_code,
        unsigned(expected.json()),
    )
    assert list(audited.order_by("pk").values_list("extra", flat=True)[before:]) == entries * 2
    return response.json(), len(compiled), len(plain)


@pytest.fixture
def busy(start, demo, gp, pharmacist):
    """A conversation of three with what a page shows: receipts of two readers, a file, a
    reply, a redacted message, an event, and messages sharing one instant."""
    conversation = start(to=("pharma.durand", "ide.petit"), body="Premier")
    first = Message.objects.get(conversation=conversation)
    say(pharmacist, conversation, "Réponse", reply_to=first)
    say(gp, conversation, "Avec l'ordonnance", files=[pdf_upload()])
    messages.redact_message(actor=gp, message=say(gp, conversation, "Erreur"))
    conversations.add_participant(actor=gp, conversation=conversation, member=demo["dr.leroy"])
    same = [say(gp, conversation, f"Au même instant {index}") for index in range(4)]
    Message.objects.filter(pk__in=[m.pk for m in same]).update(
        created_at=timezone.now() + timedelta(seconds=1)
    )
    say(pharmacist, conversation, "Dernier")
    return conversation


@pytest.mark.parametrize("page_size", [None, 1, 2, 3, 5, 200])
def test_first_pages_and_the_pages_that_follow_are_the_same(
    client_for, pharmacist, busy, page_size
) -> None:
    client = client_for(pharmacist)
    url = f"{API}{busy.code}/messages/" + (f"?page_size={page_size}" if page_size else "")
    body, compiled, plain = both_ways(client, url)
    assert body["results"]
    assert compiled <= plain
    pages = 1
    while body["next"]:  # the cursor's pages: DRF's own path, from the links the first gave
        body, _, _ = both_ways(client, body["next"])
        pages += 1
        if body["previous"]:
            both_ways(client, body["previous"])
    assert pages > 1 or page_size in (None, 200)


@pytest.mark.parametrize("page_size", [None, 1, 3])
def test_polls_since_each_message_are_the_same(client_for, pharmacist, busy, page_size) -> None:
    client = client_for(pharmacist)
    suffix = f"&page_size={page_size}" if page_size else ""
    for message in Message.objects.filter(conversation=busy):
        body, compiled, plain = both_ways(
            client, f"{API}{busy.code}/messages/?since={message.code}{suffix}"
        )
        assert compiled <= plain
        if body["next"]:
            both_ways(client, body["next"])


def test_a_member_who_left_gets_the_same_pages(client_for, gp, pharmacist, busy) -> None:
    conversations.leave_conversation(actor=pharmacist, conversation=busy)
    say(gp, busy, "Après son départ")
    client = client_for(pharmacist)
    body, _, _ = both_ways(client, f"{API}{busy.code}/messages/?page_size=3")
    assert "Après son départ" not in unsigned(body)
    for message in Message.objects.filter(conversation=busy):
        both_ways(client, f"{API}{busy.code}/messages/?since={message.code}&page_size=2")


@pytest.mark.parametrize(
    "query", ["page_size=0", "page_size=x", "since=nope", "cursor=bad", "page_size=500"]
)
def test_bad_and_odd_parameters_answer_the_same(client_for, pharmacist, busy, query) -> None:
    both_ways(client_for(pharmacist), f"{API}{busy.code}/messages/?{query}")


def test_an_outsider_gets_the_same_404(client_for, demo, busy) -> None:
    both_ways(client_for(demo["as.moreau"]), f"{API}{busy.code}/messages/")
