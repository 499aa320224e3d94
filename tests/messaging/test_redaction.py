"""Redaction: the content and files go, "message retiré" and its time stay."""

from __future__ import annotations

import pytest

from messaging.models import Attachment, Message
from security.models import AuditEntry
from tests.messaging.conftest import API, pdf_upload, say

pytestmark = pytest.mark.django_db


def redact(client, message):
    return client.post(f"{API}{message.conversation.code}/messages/{message.code}/redact/")


def test_the_author_redacts_a_message(
    client_for, gp, pharmacist, conversation, media_root, django_capture_on_commit_callbacks
) -> None:
    message = say(gp, conversation, "Erreur de patient", files=[pdf_upload()])
    stored = Attachment.objects.get(message=message).file
    assert (media_root / "encrypted" / stored).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = redact(client_for(gp), message)
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["body"] == ""
    assert data["attachments"] == []
    assert data["redacted_at"] is not None
    message.refresh_from_db()
    assert message.body == ""
    assert not Attachment.objects.filter(message=message).exists()
    assert not (media_root / "encrypted" / stored).exists()
    seen = client_for(pharmacist).get(f"{API}{conversation.code}/messages/").json()["results"][0]
    assert (seen["id"], seen["body"], seen["redacted_at"]) == (
        str(message.code),
        "",
        data["redacted_at"],
    )
    assert AuditEntry.objects.filter(
        action="message.redact", extra__message=str(message.code)
    ).exists()


def test_only_the_author_redacts(client_for, pharmacist, conversation) -> None:
    message = Message.objects.get(conversation=conversation)
    assert redact(client_for(pharmacist), message).status_code == 403
    message.refresh_from_db()
    assert message.redacted_at is None


def test_redacting_twice_is_a_409_with_the_first_time(client_for, gp, conversation) -> None:
    message = Message.objects.get(conversation=conversation)
    first = redact(client_for(gp), message).json()["redacted_at"]
    again = redact(client_for(gp), message)
    assert again.status_code == 409
    assert again.json()["redacted_at"]
    assert first


def test_a_redacted_message_no_longer_counts_as_unread(
    client_for, gp, pharmacist, conversation
) -> None:
    message = Message.objects.get(conversation=conversation)
    redact(client_for(gp), message)
    assert client_for(pharmacist).get(API).json()["results"][0]["unread"] == 0
