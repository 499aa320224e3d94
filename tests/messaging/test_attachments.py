"""Attachments: encrypted at rest, streamed, audited, behind a signed link that expires."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils.timezone import now

from messaging.models import Attachment
from messaging.selectors import download_url
from security.models import AuditEntry
from tests.messaging.conftest import API, PDF, pdf_upload, say

pytestmark = pytest.mark.django_db


@pytest.fixture
def attachment(gp, conversation) -> Attachment:
    message = say(gp, conversation, "Ci-joint", files=[pdf_upload("CR-Lefevre.pdf")])
    return Attachment.objects.get(message=message)


def url_from_api(client, conversation) -> str:
    message = client.get(f"{API}{conversation.code}/messages/").json()["results"][0]
    return message["attachments"][0]["download_url"]


def test_a_recipient_downloads_the_file_with_its_link(
    client_for, pharmacist, conversation, attachment
) -> None:
    client = client_for(pharmacist)
    response = client.get(url_from_api(client, conversation))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert "CR-Lefevre.pdf" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    entry = AuditEntry.objects.filter(action="conversation.attachment_read").last()
    assert entry.actor == pharmacist
    assert entry.extra == {"attachment": str(attachment.code)}


def test_the_file_is_not_stored_in_clear(media_root, attachment) -> None:
    stored = media_root / "encrypted" / attachment.file
    assert stored.exists()
    assert b"ordonnance de sortie" not in stored.read_bytes()
    assert "Lefevre" not in attachment.file


def test_the_link_expires(client_for, pharmacist, conversation, attachment, settings) -> None:
    client = client_for(pharmacist)
    url = url_from_api(client, conversation)
    with time_machine.travel(
        now() + timedelta(seconds=settings.MESSAGING_DOWNLOAD_LINK_SECONDS + 5)
    ):
        response = client.get(url)
    assert response.status_code == 403
    assert response.json()["code"] == "link_expired"


def test_a_link_is_useless_to_another_participant(
    client_for, gp, pharmacist, conversation, attachment
) -> None:
    leaked = download_url(gp, attachment, conversation.code)
    assert client_for(pharmacist).get(leaked).status_code == 403
    assert client_for(gp).get(leaked).status_code == 200


@pytest.mark.parametrize("token", ["", "garbage", "a:b:c"])
def test_a_missing_or_forged_token_is_refused(
    client_for, pharmacist, conversation, attachment, token
) -> None:
    url = f"{API}{conversation.code}/attachments/{attachment.code}/?token={token}"
    assert client_for(pharmacist).get(url).status_code == 403


def test_a_redacted_message_s_files_are_gone(
    client_for, gp, pharmacist, conversation, attachment
) -> None:
    client = client_for(pharmacist)
    url = url_from_api(client, conversation)
    client_for(gp).post(f"{API}{conversation.code}/messages/{attachment.message.code}/redact/")
    assert client.get(url).status_code == 404
