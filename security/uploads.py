"""Checks on uploaded files, shared by liaison attachments and messages.

The type is decided from the content (magic bytes), never from the name or the client's
Content-Type: a "scan.pdf" that is an executable is refused with a clear message.
"""

from __future__ import annotations

from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _

from security.exceptions import FieldErrors

SNIFF_BYTES = 8192
ALLOWED = {
    "application/pdf": "PDF",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "text/plain": _("texte"),
}


def sniff_content_type(head: bytes) -> str | None:
    """The MIME type of a file from its first bytes, among the allowed ones, or None."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sniffing boundary is still text.
        if exc.start < len(head) - 4:
            return None
    return "text/plain"


def check_upload(fileobj: IO[bytes], *, size: int, field: str = "file") -> str:
    """Validate size and type of an upload; return its sniffed content type."""
    limit = settings.MAX_ATTACHMENT_BYTES
    if size <= 0:
        raise FieldErrors({field: [_("Le fichier est vide.")]})
    if size > limit:
        raise FieldErrors(
            {field: [_("Fichier trop volumineux (%(max)d Mo maximum).") % {"max": limit // 2**20}]}
        )
    head = fileobj.read(SNIFF_BYTES)
    fileobj.seek(0)
    content_type = sniff_content_type(head)
    if content_type is None:
        raise FieldErrors(
            {field: [_("Type de fichier refusé : seuls PDF, PNG, JPEG et texte sont acceptés.")]}
        )
    return content_type
