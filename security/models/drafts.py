"""What a person had typed when their session expired, kept for them until they log back in.

A form posted by a browser whose session has expired cannot be processed: the person is sent
to the login page. What they typed is kept here, encrypted (a liaison sheet or a message
holds patient data), tied to the account that was logged in at that browser, and for a short
while only (security.drafts.DRAFT_LIFETIME). It goes back into the form once they are logged
in again, and is deleted as it is given back.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from security.fields import EncryptedJSONField


class FormDraft(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # binds the cipher
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    # SHA-256 of the random key kept in the browser's session: only that browser gets it back.
    digest = models.CharField(max_length=64, unique=True)
    path = models.CharField(max_length=500)
    # {field name: [values]}, as the form posted them (files and the CSRF token excepted).
    data = EncryptedJSONField(default=dict)
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"draft of {self.user_id} for {self.path}"
