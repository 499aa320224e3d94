"""Checks on uploaded files, shared by liaison attachments and messages.

The type is decided from the content (magic bytes), never from the name or the client's
Content-Type: a "scan.pdf" that is an executable is refused with a clear message.
"""

from __future__ import annotations

import re
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from security.exceptions import FieldErrors

SNIFF_BYTES = 8192
ALLOWED = {
    "application/pdf": "PDF",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "text/plain": gettext_lazy("texte"),
}

# Text that a browser or a desktop would run or render rather than show: refused even though
# it decodes as UTF-8, since a "note.txt" that is HTML or SVG is a stored XSS or a script.
ACTIVE_TEXT_PREFIXES = (b"#!", b"GIF8", b"{\\rtf", b"%!PS", b"MZ")
ACTIVE_TEXT_MARKERS = re.compile(
    rb"<\s*(?:!doctype|html|head|body|script|svg|iframe|object|embed|meta|\?xml)\b"
    rb"|javascript\s*:",
    re.IGNORECASE,
)


BINARY_SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}
REFUSED = gettext_lazy(
    "Type de fichier refusé : seuls PDF, PNG, JPEG et texte simple "
    "(sans HTML, SVG ni script) sont acceptés."
)


def sniff_content_type(head: bytes) -> str | None:
    """The MIME type of a file from its first bytes, among the allowed ones, or None."""
    for signature, content_type in BINARY_SIGNATURES.items():
        if head.startswith(signature):
            return content_type
    return "text/plain" if is_plain_text(head) else None


def is_plain_text(head: bytes) -> bool:
    """UTF-8 text that is not markup or a script (HTML, SVG, XML, shell, RTF, PostScript)."""
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sniffing boundary is still text.
        if exc.start < len(head) - 4:
            return False
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return not start.startswith(ACTIVE_TEXT_PREFIXES) and ACTIVE_TEXT_MARKERS.search(head) is None


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
        raise FieldErrors({field: [str(REFUSED)]})
    return content_type
