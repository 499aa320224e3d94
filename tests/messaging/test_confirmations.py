"""Leaving a conversation and redacting a message are confirmed first: a page without
JavaScript (GET shows it, POST does it), a <dialog> with it (tests/browser)."""

from __future__ import annotations

import pytest
from django.test import Client

from messaging.models import Message, Participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(start):
    return start(subject="Horaires", to=("pharma.durand",), body="Ouvert samedi ?")


def test_leaving_is_confirmed_first(client: Client, demo, thread) -> None:
    client.force_login(demo["dr.martin"].user)
    url = f"/messagerie/{thread.code}/quitter/"
    page = client.get(f"/messagerie/{thread.code}/").content.decode()
    assert f'href="{url}" data-confirm-page' in page
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Quitter la conversation ?" in confirm.content.decode()
    assert Participant.objects.get(conversation=thread, member=demo["dr.martin"]).left_at is None
    assert client.post(url).status_code == 302
    assert Participant.objects.get(conversation=thread, member=demo["dr.martin"]).left_at


def test_redacting_is_confirmed_first(client: Client, demo, thread) -> None:
    message = Message.objects.get(conversation=thread, kind="message")
    client.force_login(demo["dr.martin"].user)
    url = f"/messagerie/{thread.code}/messages/{message.code}/retirer/"
    page = client.get(f"/messagerie/{thread.code}/").content.decode()
    assert f'href="{url}" data-confirm-page' in page
    confirm = client.get(url).content.decode()
    assert "Retirer ce message ?" in confirm
    assert f'href="/messagerie/{thread.code}/#m-{message.code}" data-confirm-back' in confirm
    message.refresh_from_db()
    assert message.redacted_at is None
    assert client.post(url).status_code == 302
    message.refresh_from_db()
    assert message.redacted_at is not None


def test_an_outsider_gets_no_confirmation(client: Client, demo, thread) -> None:
    client.force_login(demo["ide.petit"].user)
    assert client.get(f"/messagerie/{thread.code}/quitter/").status_code == 404
