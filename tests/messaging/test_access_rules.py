"""Who sees a conversation: its participants and its shared inbox's organisation, nobody else."""

from __future__ import annotations

import pytest

from directory.models import Organisation
from messaging.models import Attachment, Conversation, Message
from messaging.selectors import conversations_about_sheet, download_url
from tests.access import assert_hidden_from
from tests.messaging.conftest import API, OUTSIDERS, pdf_upload, say

pytestmark = pytest.mark.django_db


def endpoints(
    conversation: Conversation, message: Message, attachment: Attachment, url: str
) -> list:
    base = f"{API}{conversation.code}/"
    return [
        ("get", base, None),
        ("get", f"{base}messages/", None),
        ("post", f"{base}messages/", {"body": "Intrus"}),
        ("post", f"{base}messages/{message.code}/redact/", None),
        ("post", f"{base}read/", {}),
        ("post", f"{base}participants/", {"member": str(conversation.created_by.code)}),
        ("post", f"{base}leave/", None),
        ("get", url, None),
    ]


def test_outsiders_get_404_on_every_endpoint(client_for, demo, gp, start) -> None:
    """Every demo member outside the conversation, on every endpoint (tests/access.py)."""
    conversation = start(body="Bonjour", files=[pdf_upload()])
    message = Message.objects.get(conversation=conversation)
    attachment = Attachment.objects.get(message=message)
    url = download_url(gp, attachment, conversation.code)  # a valid link, leaked
    outsiders = [demo[username] for username in OUTSIDERS]
    for method, path, body in endpoints(conversation, message, attachment, url):
        assert_hidden_from(client_for, method, path, outsiders, body)
    for member in outsiders:
        assert client_for(member).get(API).json()["count"] == 0
    assert Message.objects.filter(conversation=conversation).count() == 1


def test_the_participants_see_it(client_for, demo, conversation) -> None:
    for username in ("dr.martin", "pharma.durand"):
        assert client_for(demo[username]).get(f"{API}{conversation.code}/").status_code == 200


def test_a_shared_inbox_is_seen_by_its_organisation_only(client_for, demo, start) -> None:
    conversation = start(
        to=(), organisation_inbox=Organisation.objects.get(name="Cardiologie"), body="Bonjour"
    )
    for username in ("hop.cardio", "hop.cardio2"):
        client = client_for(demo[username])
        assert client.get(f"{API}{conversation.code}/").status_code == 200, username
        assert (
            client.post(
                f"{API}{conversation.code}/messages/", {"body": "Réponse"}, format="json"
            ).status_code
            == 201
        )
    outsiders = [demo[username] for username in ("hop.urgences", "dr.leroy", "coord")]
    assert_hidden_from(client_for, "get", f"{API}{conversation.code}/", outsiders)


def test_an_inactive_member_has_no_access(client_for, demo, conversation) -> None:
    from directory.services import update_member

    pharmacist = demo["pharma.durand"]
    update_member(actor=demo["coord"], member=pharmacist, is_active=False)
    assert client_for(pharmacist).get(f"{API}{conversation.code}/").status_code == 403


def test_every_read_is_audited(client_for, demo, conversation) -> None:
    from security.models import AuditEntry

    client_for(demo["pharma.durand"]).get(f"{API}{conversation.code}/")
    entry = AuditEntry.objects.filter(
        action="conversation.read", target_code=conversation.code
    ).last()
    assert entry is not None
    assert entry.actor == demo["pharma.durand"]


def test_a_sheet_lists_only_the_conversations_its_reader_may_see(demo, start, make_sheet) -> None:
    sheet = make_sheet()
    visible = start(to=("ide.petit",), liaison_sheet=sheet, body="À propos de la fiche")
    start(author="dr.leroy", to=("ide.petit",), subject="Autre", liaison_sheet=sheet)
    say(demo["ide.petit"], visible, "Vu")
    assert [c.code for c in conversations_about_sheet(demo["dr.martin"], sheet)] == [visible.code]
    assert len(conversations_about_sheet(demo["ide.petit"], sheet)) == 2
    assert conversations_about_sheet(demo["hop.cardio"], sheet) == []
    assert conversations_about_sheet(demo["dr.martin"], sheet)[0].unread == 1
