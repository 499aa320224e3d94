"""Attachments of a sheet: encrypted, streamed, audited."""

from __future__ import annotations

from typing import IO

from django.db import transaction
from django.utils.translation import gettext as _

from directory.models import Member
from liaison import actions
from liaison.models import LiaisonSheet, SheetAttachment
from liaison.selectors import is_on_recipient_side, is_on_sender_side
from security import audit
from security.exceptions import InvalidTransition, PermissionDenied
from security.files import store_file
from security.uploads import check_upload

SheetStatus = LiaisonSheet.Status


@transaction.atomic
def add_attachment(
    *, actor: Member, sheet: LiaisonSheet, fileobj: IO[bytes], filename: str, size: int
) -> SheetAttachment:
    """Attach a file (PDF, image, text) to a sheet the actor writes or receives."""
    if not (is_on_sender_side(actor, sheet) or is_on_recipient_side(actor, sheet)):
        raise PermissionDenied(
            _("Seuls l'émetteur et le service destinataire joignent des fichiers.")
        )
    if sheet.status in (SheetStatus.CANCELLED, SheetStatus.CLOSED, SheetStatus.DECLINED):
        raise InvalidTransition(_("La fiche est close."), status=sheet.status)
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
