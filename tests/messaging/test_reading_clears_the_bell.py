"""Opening a conversation marks its notifications read: the bell counts what is left."""

from __future__ import annotations

import pytest

from worker.models import Notification

pytestmark = pytest.mark.django_db


def test_opening_a_conversation_marks_its_notifications_read(client, pharmacist, conversation):
    unread = Notification.objects.filter(
        recipient=pharmacist, read_at__isnull=True, target_code=conversation.code
    )
    assert unread.exists()
    client.force_login(pharmacist.user)

    client.get(f"/messagerie/{conversation.code}/")

    assert not unread.exists()
