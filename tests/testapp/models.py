"""Models exercising security.fields and security.files; never migrated, test-only."""

from __future__ import annotations

import uuid

from django.db import models

from security.fields import BlindIndexField, EncryptedJSONField, EncryptedTextField
from security.files import EncryptedFileField


class SecretNote(models.Model):
    """The typical clinical model: a UUID `code` binds every ciphertext to its row."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=100, blank=True)
    body = EncryptedTextField()
    data = EncryptedJSONField(null=True, blank=True)
    attachment = EncryptedFileField(blank=True)
    ins_index = BlindIndexField()

    def __str__(self) -> str:
        return f"SecretNote {self.code}"


class SecretLetter(models.Model):
    """Encrypted fields declared before their row id, bound to another field than `code`."""

    content = EncryptedTextField(row_id_field="reference", default="")
    summary = EncryptedTextField(row_id_field="reference", null=True, blank=True)
    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    def __str__(self) -> str:
        return f"SecretLetter {self.reference}"
