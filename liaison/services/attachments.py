"""Attachments of a sheet: encrypted, streamed, audited."""

from __future__ import annotations

from typing import IO

from django.db import transaction

from directory.models import Member
from liaison import actions, states
from liaison.models import LiaisonSheet, SheetAttachment
from security import audit
from security.files import store_file
from security.uploads import check_upload

SheetStatus = LiaisonSheet.Status


@transaction.atomic
def add_attachment(
    *, actor: Member, sheet: LiaisonSheet, fileobj: IO[bytes], filename: str, size: int
) -> SheetAttachment:
    """Attach a file (PDF, image, text) to a sheet the actor writes or receives."""
    states.check(actor, sheet, "attach")
    content_type = check_upload(fileobj, size=size)
    attachment = SheetAttachment(
        sheet=sheet,
        uploaded_by=actor,
        filename=filename[:255] or "piece-jointe",
        content_type=content_type,
        size=size,
    )
    store_file(attachment, "file", fileobj)
    attachment.save()
    audit.record(actor=actor, action=actions.SHEET_ATTACHMENT_ADD, target=sheet)
    return attachment
