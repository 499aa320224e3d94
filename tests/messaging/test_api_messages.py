"""Writing messages through the API: limits, urgent flag, files, idempotency, replies, cursor."""

from __future__ import annotations

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from messaging.models import Attachment, Message, MessageReceipt
from messaging.services import conversations
from security.models import AuditEntry
from tests.messaging.conftest import API, PDF, say

pytestmark = pytest.mark.django_db


def messages_url(conversation) -> str:
    return f"{API}{conversation.code}/messages/"


def post(client, conversation, **body):
    return client.post(messages_url(conversation), body, format="json")


def test_it_sends_a_message_and_each_recipient_gets_a_receipt(
    client_for, gp, pharmacist, conversation
) -> None:
    response = post(client_for(pharmacist), conversation, body="Oui, arrêté.", urgent=True)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["body"] == "Oui, arrêté."
    assert data["urgent"] is True
    assert [(r["member"]["id"], r["read_at"]) for r in data["receipts"]] == [(str(gp.code), None)]
    message = Message.objects.get(code=data["id"])
    assert AuditEntry.objects.filter(
        action="message.send", target_code=conversation.code, extra__message=str(message.code)
    ).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "   \n "}, "body"),
        ({}, "body"),
        ({"body": "x" * 10_001}, "body"),
        ({"body": "x", "urgent": "peut-être"}, "urgent"),
        ({"body": "x", "reply_to": "00000000-0000-0000-0000-000000000001"}, "reply_to"),
        ({"body": "x", "colour": "blue"}, "colour"),
    ],
)
def test_it_refuses_a_bad_message_with_a_clear_400(
    client_for, gp, conversation, body, field
) -> None:
    response = post(client_for(gp), conversation, **body)
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert Message.objects.count() == 1


def test_the_size_limit_is_a_setting(client_for, gp, conversation, settings) -> None:
    settings.MESSAGING_MAX_BODY_CHARS = 20
    assert post(client_for(gp), conversation, body="x" * 20).status_code == 201
    refused = post(client_for(gp), conversation, body="x" * 21)
    assert refused.status_code == 400
    assert "20" in refused.json()["body"][0]


def upload(client, conversation, *files, **fields):
    data = {**fields, "attachments": [SimpleUploadedFile(name, content) for name, content in files]}
    return client.post(messages_url(conversation), data, format="multipart")


def test_it_attaches_files_to_a_message(client_for, gp, conversation) -> None:
    response = upload(
        client_for(gp),
        conversation,
        ("ordonnance.pdf", PDF),
        ("note.txt", b"Bonjour"),
        body="Ci-joint l'ordonnance",
        urgent="true",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["urgent"] is True
    assert [(a["filename"], a["content_type"]) for a in data["attachments"]] == [
        ("ordonnance.pdf", "application/pdf"),
        ("note.txt", "text/plain"),
    ]
    assert "token=" in data["attachments"][0]["download_url"]


def test_a_file_alone_is_a_message(client_for, gp, conversation) -> None:
    assert upload(client_for(gp), conversation, ("ordonnance.pdf", PDF)).status_code == 201


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("scan.pdf", b"MZ\x90\x00\x03" + b"\x00" * 100),  # an executable named .pdf
        ("archive.zip", b"PK\x03\x04" + b"\x00" * 100),
        ("note.txt", b"<html><script>alert(1)</script></html>"),  # markup posing as text
        ("schema.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("vide.pdf", b""),
    ],
)
def test_it_refuses_a_forbidden_file_type(client_for, gp, conversation, name, content) -> None:
    response = upload(client_for(gp), conversation, (name, content), body="Ci-joint")
    assert response.status_code == 400
    assert "attachments" in response.json()
    assert Message.objects.count() == 1
    assert not Attachment.objects.exists()


def test_it_refuses_a_file_over_the_size_limit(client_for, gp, conversation, settings) -> None:
    settings.MAX_ATTACHMENT_BYTES = len(PDF) - 1
    response = upload(client_for(gp), conversation, ("ordonnance.pdf", PDF), body="Ci-joint")
    assert response.status_code == 400
    assert "volumineux" in response.json()["attachments"][0]


def test_it_refuses_too_many_files(client_for, gp, conversation, settings) -> None:
    settings.MESSAGING_MAX_ATTACHMENTS = 1
    response = upload(client_for(gp), conversation, ("a.pdf", PDF), ("b.pdf", PDF))
    assert response.status_code == 400
    assert "attachments" in response.json()


def test_a_retried_post_creates_one_message(client_for, gp, pharmacist, conversation) -> None:
    client = client_for(pharmacist)
    first = client.post(
        messages_url(conversation), {"body": "Oui"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = client.post(
        messages_url(conversation), {"body": "Oui"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert "Idempotent-Replayed" not in first
    assert again["Idempotent-Replayed"] == "true"
    assert Message.objects.filter(author=pharmacist).count() == 1
    assert MessageReceipt.objects.filter(message__author=pharmacist).count() == 1


def test_a_key_reused_for_another_conversation_is_a_409(
    client_for, gp, start, conversation
) -> None:
    other = start(to=("ide.petit",))
    client = client_for(gp)
    assert (
        client.post(
            messages_url(conversation), {"body": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
        ).status_code
        == 201
    )
    reused = client.post(
        messages_url(other), {"body": "b"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert reused.status_code == 409


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_create_one_message(demo, start) -> None:
    """Two requests with the same key at once: the unique constraint lets one insert win."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: there is no race to decide")
    from messaging.services.messages import post_message

    conversation = start()
    barrier = threading.Barrier(2)
    results: list[object] = []

    def send() -> None:
        try:
            barrier.wait()
            results.append(
                post_message(
                    actor=demo["dr.martin"],
                    conversation=conversation,
                    body="Une seule fois",
                    idempotency_key="race",
                ).message.pk
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert len(set(results)) == 1
    assert Message.objects.filter(idempotency_key="race").count() == 1


def test_a_member_who_left_gets_403_when_writing(client_for, pharmacist, conversation) -> None:
    client = client_for(pharmacist)
    assert client.post(f"{API}{conversation.code}/leave/").status_code == 200
    response = post(client, conversation, body="Encore moi")
    assert response.status_code == 403
    assert "quitté" in response.json()["detail"]
    assert client.get(messages_url(conversation)).status_code == 200  # still reads the history


def test_leaving_twice_or_without_being_a_participant_is_a_409(client_for, demo, gp, start) -> None:
    from directory.models import Organisation

    inbox = start(
        to=(), organisation_inbox=Organisation.objects.get(name="Cardiologie"), body="Bonjour"
    )
    cardio = client_for(demo["hop.cardio"])
    assert cardio.post(f"{API}{inbox.code}/leave/").status_code == 409
    client = client_for(gp)
    assert client.post(f"{API}{inbox.code}/leave/").status_code == 200
    assert client.post(f"{API}{inbox.code}/leave/").status_code == 409


def test_it_replies_to_a_message(client_for, gp, pharmacist, conversation) -> None:
    first = Message.objects.get(conversation=conversation)
    response = post(client_for(pharmacist), conversation, body="Oui", reply_to=str(first.code))
    assert response.status_code == 201
    assert response.json()["reply_to"] == str(first.code)


def test_messages_come_newest_first_by_cursor(client_for, gp, pharmacist, conversation) -> None:
    for index in range(5):
        say(pharmacist if index % 2 else gp, conversation, f"message {index}")
    client = client_for(pharmacist)
    page = client.get(f"{messages_url(conversation)}?page_size=4").json()
    assert [m["body"] for m in page["results"]] == [
        "message 4",
        "message 3",
        "message 2",
        "message 1",
    ]
    rest = client.get(page["next"]).json()
    assert [m["body"] for m in rest["results"]] == ["message 0", "Le ramipril est-il bien arrêté ?"]
    assert rest["next"] is None


def test_since_returns_only_newer_messages(client_for, gp, pharmacist, conversation) -> None:
    seen = Message.objects.get(conversation=conversation)
    client = client_for(pharmacist)
    assert client.get(f"{messages_url(conversation)}?since={seen.code}").json()["results"] == []
    say(gp, conversation, "Nouveau")
    newer = client.get(f"{messages_url(conversation)}?since={seen.code}").json()["results"]
    assert [m["body"] for m in newer] == ["Nouveau"]


def test_an_empty_poll_is_not_audited(client_for, pharmacist, conversation) -> None:
    seen = Message.objects.get(conversation=conversation)
    client = client_for(pharmacist)
    before = AuditEntry.objects.filter(action="conversation.read").count()
    client.get(f"{messages_url(conversation)}?since={seen.code}")
    assert AuditEntry.objects.filter(action="conversation.read").count() == before
    client.get(messages_url(conversation))
    entry = AuditEntry.objects.filter(action="conversation.read").last()
    assert entry.actor == pharmacist
    assert entry.extra == {"messages": 1}


@pytest.mark.parametrize(
    "query",
    [
        "since=nope",
        "since=00000000-0000-0000-0000-000000000001",
        "page_size=0",
        "page_size=x",
        "colour=blue",
    ],
)
def test_bad_list_parameters_are_a_400(client_for, gp, conversation, query) -> None:
    assert client_for(gp).get(f"{messages_url(conversation)}?{query}").status_code == 400


def test_adding_a_participant_shows_them_the_history(client_for, demo, gp, conversation) -> None:
    nurse = demo["ide.petit"]
    assert client_for(nurse).get(messages_url(conversation)).status_code == 404
    response = client_for(gp).post(
        f"{API}{conversation.code}/participants/", {"member": str(nurse.code)}, format="json"
    )
    assert response.status_code == 201, response.json()
    history = client_for(nurse).get(messages_url(conversation)).json()["results"]
    assert [m["kind"] for m in history] == ["participant_added", "message"]
    assert history[0]["about_member"]["id"] == str(nurse.code)
    again = client_for(gp).post(
        f"{API}{conversation.code}/participants/", {"member": str(nurse.code)}, format="json"
    )
    assert again.status_code == 409
    unknown = client_for(gp).post(
        f"{API}{conversation.code}/participants/",
        {"member": "00000000-0000-0000-0000-000000000002"},
        format="json",
    )
    assert unknown.status_code == 400
    assert "member" in unknown.json()


def test_a_member_who_left_reads_up_to_their_departure(
    client_for, gp, pharmacist, conversation
) -> None:
    conversations.leave_conversation(actor=pharmacist, conversation=conversation)
    later = say(gp, conversation, "Après son départ")
    history = client_for(pharmacist).get(messages_url(conversation)).json()["results"]
    assert [m["kind"] for m in history] == ["participant_left", "message"]
    assert "Après son départ" not in [m["body"] for m in history]
    assert not MessageReceipt.objects.filter(message=later, member=pharmacist).exists()
