"""Retention: a deadline per conversation, a legal floor for the medical record, a batched purge."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils.timezone import now

from messaging.models import Attachment, Conversation, Message, MessageReceipt, Participant
from messaging.services import jobs, messages
from messaging.tasks import purge_expired_conversations
from security.exceptions import NotFound
from security.models import AuditEntry
from tests.messaging.conftest import PATIENT, pdf_upload, say

pytestmark = pytest.mark.django_db


def test_the_deadline_follows_the_last_message(conversation, pharmacist, settings) -> None:
    assert conversation.retention_days == settings.MESSAGING_RETENTION_DAYS == 365
    with time_machine.travel(now() + timedelta(days=100)):
        message = say(pharmacist, conversation, "Réponse")
    conversation.refresh_from_db()
    assert conversation.retain_until == message.created_at + timedelta(days=365)


def test_a_conversation_about_a_patient_keeps_the_legal_minimum(start, settings) -> None:
    settings.MESSAGING_RETENTION_DAYS = 30
    plain = start(subject="Horaires")
    clinical = start(subject="Traitement", patient=PATIENT)
    assert plain.retention_days == 30
    assert clinical.retention_days == settings.MESSAGING_LEGAL_RETENTION_DAYS == 20 * 365


def test_a_longer_period_may_be_asked(start) -> None:
    assert start(patient=PATIENT, retention_days=30 * 365).retention_days == 30 * 365
    assert start(retention_days=10).retention_days == 10


def test_the_purge_deletes_expired_conversations_and_their_files(
    demo, start, media_root, django_capture_on_commit_callbacks
) -> None:
    expired = start(retention_days=1, body="Ancien", files=[pdf_upload()])
    kept = start(retention_days=1, body="Récent")
    stored = Attachment.objects.get(conversation=expired).file
    later = now() + timedelta(days=2)
    with time_machine.travel(later - timedelta(hours=12)):
        say(demo["pharma.durand"], kept, "Relance")  # pushes `kept`'s deadline back
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.purge_expired_conversations(at=later) == 1
    assert list(Conversation.objects.all()) == [kept]
    for model in (Message, MessageReceipt, Attachment, Participant):
        assert not model.objects.filter(conversation_id=expired.pk).exists()
    assert not (media_root / "encrypted" / stored).exists()
    entry = AuditEntry.objects.get(action="conversation.purge")
    assert entry.target_code == expired.code
    assert entry.actor is None
    assert set(entry.extra) == {"retain_until"}


def test_the_purge_works_in_batches(start) -> None:
    for _ in range(5):
        start(retention_days=1)
    assert jobs.purge_expired_conversations(at=now() + timedelta(days=2), batch_size=2) == 5
    assert not Conversation.objects.exists()
    assert jobs.purge_expired_conversations(at=now() + timedelta(days=2)) == 0


def test_the_task_runs_the_purge(start) -> None:
    start(retention_days=1)
    with time_machine.travel(now() + timedelta(days=2)):
        assert purge_expired_conversations() == 1


def test_writing_to_a_purged_conversation_is_a_404(demo, start) -> None:
    conversation = start(retention_days=1)
    jobs.purge_expired_conversations(at=now() + timedelta(days=2))
    with pytest.raises(NotFound):
        messages.post_message(actor=demo["dr.martin"], conversation=conversation, body="Trop tard")
