"""A conversation's subject names its notifications in the application, never by e-mail,
and only when the conversation is about no patient (issue #16)."""

from __future__ import annotations

import pytest
from django.core import mail

from messaging import events
from tests.messaging.conftest import PATIENT
from worker.dispatch import deliver_notification
from worker.models import Notification
from worker.selectors import notification_texts

pytestmark = pytest.mark.django_db


def test_the_subject_of_a_conversation_without_patient_is_shown_in_app(demo, start) -> None:
    start(subject="Garde du week-end", body="Qui prend samedi ?")
    notification = Notification.objects.get(event=events.MESSAGE_RECEIVED)

    assert notification_texts([notification]) == [
        "Nouveau message de Claire Martin — « Garde du week-end »"
    ]
    # Stored nowhere in clear: rendered from the (encrypted) conversation when shown.
    assert "Garde" not in str(Notification.objects.filter(pk=notification.pk).values().get())


def test_the_subject_never_goes_by_e_mail(demo, start) -> None:
    start(subject="Passage chez Mme Lefèvre", body="Urgent", urgent=True)
    notification = Notification.objects.get(event=events.URGENT_MESSAGE_RECEIVED)

    deliver_notification(notification_id=notification.pk)

    [email] = mail.outbox
    assert "Message urgent de Claire Martin" in email.subject
    assert "Lefèvre" not in email.subject + email.body
    assert "Passage" not in email.subject + email.body
    assert notification_texts([notification], for_email=True) == ["Message urgent de Claire Martin"]


def test_a_conversation_about_a_patient_is_not_named_at_all(demo, start) -> None:
    start(subject="Mme Lefèvre : INR à 6", patient=PATIENT, body="INR à 6")
    notification = Notification.objects.get(event=events.MESSAGE_RECEIVED)

    assert notification_texts([notification]) == ["Nouveau message de Claire Martin"]
