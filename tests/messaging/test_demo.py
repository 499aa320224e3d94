"""The demo conversations load once, through the services, between the demo members."""

from __future__ import annotations

import pytest

from liaison.demo import load_sheets
from messaging.demo import load_conversations
from messaging.models import Attachment, Conversation, Message

pytestmark = pytest.mark.django_db


def test_it_loads_the_demo_conversations_once(demo) -> None:
    load_sheets(demo)
    assert load_conversations(demo) == 4
    assert load_conversations(demo) == 0
    assert Conversation.objects.count() == 4
    assert Conversation.objects.filter(liaison_sheet__isnull=False).count() == 1
    assert Conversation.objects.filter(organisation_inbox__isnull=False).count() == 1
    assert Message.objects.filter(urgent=True).count() == 1
    assert Attachment.objects.get().content_type == "application/pdf"
