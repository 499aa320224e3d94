"""Secure messaging: conversations between members, or with an organisation's shared inbox.

What is encrypted at rest (security.fields / security.files): message bodies, attachments and
their file names, the patient identity, and every subject (people type patient names in any
subject, "Passage chez Mme Lefèvre", attached to a patient or not). What stays in clear is
what lists, unread counts, retention and the scheduled jobs query: who takes part, when, and
the urgent flag. Subjects are searched by decrypting a bounded window (selectors.py).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from directory.models import TimestampedModel
from security.fields import BlindIndexField, EncryptedJSONField, EncryptedTextField
from security.files import EncryptedFileField


class Conversation(TimestampedModel):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    # Encrypted, whatever the conversation is about. The column keeps its former name: the
    # column is part of each ciphertext's associated data, renaming it would orphan them all.
    subject = EncryptedTextField(blank=True, default="", db_column="sealed_subject")
    # A shared inbox ("Cardiologie — secrétariat"): every member of the organisation sees it.
    organisation_inbox = models.ForeignKey(
        "directory.Organisation", models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The patient it is about (DOMAIN.md Part A identity), searched through blind indexes
    # computed with the liaison sheets' purposes, so one search key finds both.
    patient = EncryptedJSONField(null=True, blank=True, default=None)
    ins_index = BlindIndexField()
    birth_name_index = BlindIndexField()
    used_name_index = BlindIndexField()
    # SET_NULL: a draft sheet may be discarded; the conversation keeps its own retention.
    liaison_sheet = models.ForeignKey(
        "liaison.LiaisonSheet", models.SET_NULL, null=True, blank=True, related_name="+"
    )

    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Retention: kept `retention_days` after the last message (or the creation), then purged.
    retention_days = models.PositiveIntegerField()
    retain_until = models.DateTimeField(db_index=True)

    creation_key = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-last_message_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "creation_key"],
                condition=~Q(creation_key=""),
                name="conversation_unique_creation_key",
            ),
            models.CheckConstraint(
                condition=Q(retention_days__gte=1), name="conversation_retention_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Conversation {self.code}"  # never the subject: it may name the patient

    @property
    def is_clinical(self) -> bool:
        """About a patient (directly or through a liaison sheet): part of the medical record."""
        return self.patient is not None or self.liaison_sheet_id is not None


class Participant(models.Model):
    """A member taking part; `left_at` keeps who left, and when (they read up to that time)."""

    conversation = models.ForeignKey(Conversation, models.CASCADE, related_name="participants")
    member = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    added_by = models.ForeignKey(
        "directory.Member", models.PROTECT, null=True, blank=True, related_name="+"
    )
    joined_at = models.DateTimeField(default=now)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "member"], name="participant_unique"),
        ]
        indexes = [models.Index(fields=["member", "conversation"], name="participant_member")]

    def __str__(self) -> str:
        return f"{self.member_id} in {self.conversation_id}"


class Message(models.Model):
    class Kind(models.TextChoices):
        MESSAGE = "message", _("Message")
        PARTICIPANT_ADDED = "participant_added", _("Participant ajouté")
        PARTICIPANT_LEFT = "participant_left", _("Participant parti")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    conversation = models.ForeignKey(Conversation, models.CASCADE, related_name="messages")
    author = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.MESSAGE)
    # The member an event is about (added, left); the body of an event is empty.
    about_member = models.ForeignKey(
        "directory.Member", models.PROTECT, null=True, blank=True, related_name="+"
    )
    body = EncryptedTextField(blank=True, default="")
    urgent = models.BooleanField(default=False)
    reply_to = models.ForeignKey("self", models.SET_NULL, null=True, blank=True, related_name="+")
    # Redaction empties the body and deletes the files; the row stays as "message retiré".
    redacted_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # The cursor of a conversation's messages, and the indicators' monthly counts.
            models.Index(fields=["conversation", "created_at", "id"], name="message_cursor"),
            models.Index(fields=["created_at"], name="message_created_at"),
        ]
        constraints = [
            # A retried POST with the same Idempotency-Key creates one message: this
            # constraint, not an exists() check, decides between concurrent retries.
            models.UniqueConstraint(
                fields=["author", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="message_unique_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(kind="message") | Q(about_member__isnull=False),
                name="message_event_names_its_member",
            ),
        ]

    def __str__(self) -> str:
        return f"Message {self.code}"

    @property
    def is_redacted(self) -> bool:
        return self.redacted_at is not None


class MessageReceipt(models.Model):
    """One recipient of one message: the read receipt (and the unread count) lives here."""

    message = models.ForeignKey(Message, models.CASCADE, related_name="receipts")
    # Denormalised from the message: unread counts per conversation read one small index.
    conversation = models.ForeignKey(Conversation, models.CASCADE, related_name="+")
    member = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    read_at = models.DateTimeField(null=True, blank=True)
    # The e-mail reminder's marker: claimed by a conditional UPDATE, so it goes once.
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "member"], name="message_receipt_unique"),
        ]
        indexes = [
            models.Index(
                fields=["member", "conversation"],
                condition=Q(read_at__isnull=True),
                name="message_receipt_unread",
            ),
            models.Index(
                fields=["message"],
                condition=Q(read_at__isnull=True, reminded_at__isnull=True),
                name="message_receipt_to_remind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} on {self.message_id}"


class Attachment(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    message = models.ForeignKey(Message, models.CASCADE, related_name="attachments")
    conversation = models.ForeignKey(Conversation, models.CASCADE, related_name="+")
    uploaded_by = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)
    filename = EncryptedTextField()  # "ordonnance-Lefevre.pdf" names the patient
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    file = EncryptedFileField()

    def __str__(self) -> str:
        return f"Attachment {self.code}"
