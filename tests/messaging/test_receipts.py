"""Read receipts per recipient, with the time; unread counts per conversation."""

from __future__ import annotations

import pytest

from directory.models import Organisation
from messaging.models import Message, MessageReceipt
from messaging.services import messages
from tests.messaging.conftest import API, say

pytestmark = pytest.mark.django_db


def unread_of(client) -> dict[str, int]:
    return {c["id"]: c["unread"] for c in client.get(API).json()["results"]}


def test_opening_nothing_leaves_it_unread_and_read_marks_it(
    client_for, gp, pharmacist, conversation
) -> None:
    say(gp, conversation, "Deuxième question")
    client = client_for(pharmacist)
    assert unread_of(client) == {str(conversation.code): 2}
    client.get(f"{API}{conversation.code}/messages/")  # listing is not reading: the web page is
    assert unread_of(client) == {str(conversation.code): 2}
    response = client.post(f"{API}{conversation.code}/read/", {}, format="json")
    assert response.json() == {"marked": 2, "unread": 0}
    assert unread_of(client) == {str(conversation.code): 0}
    again = client.post(f"{API}{conversation.code}/read/", {}, format="json")
    assert again.json() == {"marked": 0, "unread": 0}


def test_the_sender_sees_who_read_and_when(client_for, gp, pharmacist, demo, start) -> None:
    conversation = start(to=("pharma.durand", "ide.petit"), body="À tous les deux")
    client_for(pharmacist).post(f"{API}{conversation.code}/read/", {}, format="json")
    message = client_for(gp).get(f"{API}{conversation.code}/messages/").json()["results"][0]
    receipts = {r["member"]["id"]: r["read_at"] for r in message["receipts"]}
    assert receipts[str(demo["ide.petit"].code)] is None
    assert receipts[str(pharmacist.code)] is not None


def test_read_up_to_a_message(client_for, gp, pharmacist, conversation) -> None:
    first = Message.objects.get(conversation=conversation)
    say(gp, conversation, "Plus tard")
    response = client_for(pharmacist).post(
        f"{API}{conversation.code}/read/", {"up_to": str(first.code)}, format="json"
    )
    assert response.json() == {"marked": 1, "unread": 1}


def test_reading_twice_keeps_the_first_time(gp, pharmacist, conversation) -> None:
    messages.mark_read(actor=pharmacist, conversation=conversation)
    first = MessageReceipt.objects.get(member=pharmacist).read_at
    messages.mark_read(actor=pharmacist, conversation=conversation)
    assert MessageReceipt.objects.get(member=pharmacist).read_at == first


def test_each_member_of_a_shared_inbox_has_a_receipt(demo, start) -> None:
    conversation = start(
        to=(), organisation_inbox=Organisation.objects.get(name="Cardiologie"), body="Bonjour"
    )
    receipts = MessageReceipt.objects.filter(conversation=conversation)
    assert {r.member.user.username for r in receipts} == {"hop.cardio", "hop.cardio2"}
    messages.mark_read(actor=demo["hop.cardio2"], conversation=conversation)
    assert receipts.filter(read_at__isnull=True).get().member == demo["hop.cardio"]


def test_the_author_has_no_receipt_of_their_own_message(gp, conversation) -> None:
    assert not MessageReceipt.objects.filter(member=gp).exists()


def test_an_unknown_message_to_read_up_to_is_a_400(client_for, pharmacist, conversation) -> None:
    response = client_for(pharmacist).post(
        f"{API}{conversation.code}/read/",
        {"up_to": "00000000-0000-0000-0000-000000000003"},
        format="json",
    )
    assert response.status_code == 400
    assert "up_to" in response.json()
