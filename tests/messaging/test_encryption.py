"""What reaches the disk: ciphertext for bodies, subjects, identities and files."""

from __future__ import annotations

import pytest
from django.db import connection

from messaging.models import Attachment, Conversation, Message
from security.files import open_file
from security.rotation import rotate_keys
from tests.messaging.conftest import PATIENT, pdf_upload

pytestmark = pytest.mark.django_db
SECRET = "Suspicion d'hémorragie digestive chez Mme Lefèvre"


def dump(model) -> bytes:
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
        rows = cursor.fetchall()
    return b"\x00".join(
        bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        for row in rows
        for value in row
    )


def test_bodies_subjects_identities_and_file_names_are_ciphertext(start, media_root) -> None:
    start(
        subject=SECRET, patient=PATIENT, body=SECRET, files=[pdf_upload("Lefevre-ordonnance.pdf")]
    )
    conversations, messages, attachments = dump(Conversation), dump(Message), dump(Attachment)
    for raw in (conversations, messages, attachments):
        for secret in (SECRET, "Lefèvre", "Lefevre", "279035121518989", "1979-03-15"):
            assert secret.encode() not in raw
    stored = next(p for p in (media_root / "encrypted").rglob("*") if p.is_file())
    assert b"ordonnance de sortie" not in stored.read_bytes()


def test_key_rotation_re_encrypts_messaging(start, settings) -> None:
    conversation = start(subject=SECRET, patient=PATIENT, body=SECRET, files=[pdf_upload()])
    old, new = settings.ENCRYPTION_KEYS[-1], settings.ENCRYPTION_KEYS[0]
    settings.ENCRYPTION_KEYS = [old, new]  # test1 becomes the primary key
    report = rotate_keys(models_to_rotate=[Conversation, Message, Attachment])
    assert not [failure for result in report.models for failure in result.failures]
    assert sum(result.values_rotated + result.files_rotated for result in report.models) >= 4
    settings.ENCRYPTION_KEYS = [old]  # the former primary key is gone: everything still reads
    fresh = Conversation.objects.get(pk=conversation.pk)
    assert (fresh.subject, fresh.patient["birth_family_name"]) == (SECRET, "Lefèvre")
    assert Message.objects.get(conversation=fresh).body == SECRET
    assert b"".join(open_file(Attachment.objects.get(), "file")).startswith(b"%PDF-")


def test_a_subject_about_no_patient_is_ciphertext_too(start) -> None:
    # People type patient names in any subject, attached to a patient or not.
    subject = "Horaires de passage chez Mme Lefèvre"
    conversation = start(subject=subject)
    raw = dump(Conversation)
    assert conversation.patient is None
    assert conversation.liaison_sheet_id is None
    for secret in (subject, "Lefèvre", "Horaires de passage"):
        assert secret.encode() not in raw
        assert secret.encode().hex().encode() not in raw
    assert Conversation.objects.get(pk=conversation.pk).subject == subject
