"""Notifications: in-app at once, an e-mail for urgent messages, an e-mail reminder if unread.

No text carries the subject, the patient or a word of the message.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils.timezone import now

from messaging import events
from messaging.models import MessageReceipt
from messaging.services import jobs, messages
from messaging.tasks import remind_unread_messages
from tests.messaging.conftest import PATIENT, say
from worker.dispatch import deliver_notification
from worker.events import get_event
from worker.models import Notification
from worker.selectors import notification_text

pytestmark = pytest.mark.django_db


def notifications(event: str) -> list[Notification]:
    return list(Notification.objects.filter(event=event).order_by("pk"))


def test_a_new_message_notifies_the_recipients_in_app(gp, pharmacist, conversation) -> None:
    [notification] = notifications(events.MESSAGE_RECEIVED)
    assert notification.recipient == pharmacist
    assert notification.target_code == conversation.code
    assert notification.url == f"/messagerie/{conversation.code}/"
    assert notification_text(notification) == "Nouveau message de Claire Martin"
    assert get_event(events.MESSAGE_RECEIVED).default_channel == "in_app"


def test_one_notification_per_unread_stretch(gp, pharmacist, conversation) -> None:
    say(gp, conversation, "Deuxième")
    assert len(notifications(events.MESSAGE_RECEIVED)) == 1
    messages.mark_read(actor=pharmacist, conversation=conversation)
    say(gp, conversation, "Troisième")
    assert len(notifications(events.MESSAGE_RECEIVED)) == 2


def test_an_urgent_message_goes_by_e_mail_at_once_without_content(demo, start) -> None:
    start(subject="Mme Lefèvre : INR à 6", patient=PATIENT, body="INR à 6, saignement", urgent=True)
    [notification] = notifications(events.URGENT_MESSAGE_RECEIVED)
    deliver_notification(notification_id=notification.pk)
    [email] = mail.outbox
    text = email.subject + email.body
    assert "Message urgent de Claire Martin" in email.subject
    for secret in ("Lefèvre", "INR", "saignement", "1979"):
        assert secret not in text


def test_an_unread_message_sends_one_e_mail_reminder(
    gp, pharmacist, conversation, settings
) -> None:
    say(gp, conversation, "Autre question")
    delay = timedelta(minutes=settings.MESSAGING_UNREAD_EMAIL_AFTER_MINUTES)
    assert jobs.remind_unread_messages(at=now() + delay / 2) == 0  # not yet
    assert jobs.remind_unread_messages(at=now() + delay + timedelta(minutes=1)) == 1
    assert jobs.remind_unread_messages(at=now() + delay + timedelta(minutes=2)) == 0  # once
    [reminder] = notifications(events.MESSAGE_UNREAD)
    assert reminder.recipient == pharmacist
    assert notification_text(reminder) == "Message de Claire Martin toujours non lu"
    assert get_event(events.MESSAGE_UNREAD).default_channel == "email"
    deliver_notification(notification_id=reminder.pk)
    [email] = mail.outbox
    assert "ramipril" not in email.body.lower()
    assert "Traitement" not in email.subject + email.body


def test_a_read_message_sends_no_reminder(pharmacist, conversation, settings) -> None:
    messages.mark_read(actor=pharmacist, conversation=conversation)
    later = now() + timedelta(minutes=settings.MESSAGING_UNREAD_EMAIL_AFTER_MINUTES + 1)
    assert jobs.remind_unread_messages(at=later) == 0


def test_a_member_who_left_gets_no_reminder(pharmacist, conversation, settings) -> None:
    from messaging.services import conversations

    conversations.leave_conversation(actor=pharmacist, conversation=conversation)
    later = now() + timedelta(minutes=settings.MESSAGING_UNREAD_EMAIL_AFTER_MINUTES + 1)
    assert jobs.remind_unread_messages(at=later) == 0
    assert MessageReceipt.objects.filter(member=pharmacist, read_at__isnull=True).exists()


def test_a_member_who_left_the_cpts_gets_no_reminder(pharmacist, conversation, settings) -> None:
    from directory.models import Member

    Member.objects.filter(pk=pharmacist.pk).update(is_active=False)
    later = now() + timedelta(minutes=settings.MESSAGING_UNREAD_EMAIL_AFTER_MINUTES + 1)
    assert jobs.remind_unread_messages(at=later) == 0
    assert notifications(events.MESSAGE_UNREAD) == []


def test_the_task_runs_the_reminders(conversation, settings) -> None:
    settings.MESSAGING_UNREAD_EMAIL_AFTER_MINUTES = 1
    import time_machine

    with time_machine.travel(now() + timedelta(minutes=2)):
        assert remind_unread_messages() == 1


def test_adding_a_participant_tells_them(demo, gp, conversation) -> None:
    from messaging.services import conversations

    conversations.add_participant(actor=gp, conversation=conversation, member=demo["ide.petit"])
    [notification] = notifications(events.PARTICIPANT_ADDED)
    assert notification.recipient == demo["ide.petit"]
    assert notification_text(notification) == "Claire Martin vous a ajouté(e) à une conversation"


def test_a_shared_inbox_is_reminded_until_one_of_its_team_reads(demo, start, settings) -> None:
    from directory.models import Organisation

    cardiologie = Organisation.objects.get(name="Cardiologie")
    answered = start(to=(), organisation_inbox=cardiologie, subject="Lue par l'équipe", body="x")
    waiting = start(to=(), organisation_inbox=cardiologie, subject="Personne ne l'a lue", body="y")
    messages.mark_read(actor=demo["hop.cardio2"], conversation=answered)
    later = now() + timedelta(minutes=settings.MESSAGING_UNREAD_EMAIL_AFTER_MINUTES + 1)
    assert jobs.remind_unread_messages(at=later) == 2  # both members about `waiting` only
    reminded = {
        (n.recipient.user.username, n.target_code) for n in notifications(events.MESSAGE_UNREAD)
    }
    assert reminded == {("hop.cardio", waiting.code), ("hop.cardio2", waiting.code)}
