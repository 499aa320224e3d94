"""The one way to answer a file download, for the API and the pages alike.

Every download sets the same headers, whatever builds the body:
- `Content-Type` as given: the type the service checked (attachments are typed on their
  content when uploaded) or the one it rendered (PDF, FHIR JSON, CSV);
- `Content-Disposition` through Django's `content_disposition_header`, which quotes and
  encodes the filename (RFC 6266), so a filename cannot inject a header;
- `X-Content-Type-Options: nosniff` on the response itself: a browser must not guess that an
  uploaded "text/plain" is HTML. SecurityMiddleware adds it too, but a download should not
  depend on a setting to stay safe;
- `Cache-Control: no-store` for clinical files (anything about a patient, and the CPTS's
  figures): no browser or shared cache keeps a copy. Protocols and the resource guide hold no
  patient data and keep the default caching.

The access check and its audit entry stay where they are, in the access_* selectors the view
calls first: this module only shapes the answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Protocol, cast

from django.db import models
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header

from security.files import open_file

NO_STORE = "no-store"


def download_response(
    content: bytes | IO[bytes] | Iterable[bytes],
    *,
    content_type: str,
    filename: str,
    inline: bool = False,
    size: int | None = None,
    clinical: bool = True,
) -> HttpResponseBase:
    """The response for a download of `content` named `filename`.

    `content` is the whole body (bytes), an open file (streamed, then closed), or an
    iterator of chunks (streamed, e.g. decrypted on the fly; give `size` for Content-Length).
    `inline` shows it in the browser (a protocol's PDF) instead of saving it.
    """
    response: HttpResponseBase
    if isinstance(content, bytes):
        response = HttpResponse(content, content_type=content_type)
    elif hasattr(content, "read"):
        response = FileResponse(content, content_type=content_type)
    else:
        response = StreamingHttpResponse(content, content_type=content_type)
    if size is not None:
        response["Content-Length"] = str(size)
    disposition = content_disposition_header(not inline, filename)
    if disposition:  # None only for an unnamed inline file
        response["Content-Disposition"] = disposition
    response["X-Content-Type-Options"] = "nosniff"
    if clinical:
        response["Cache-Control"] = NO_STORE
    return response


class StoredUpload(Protocol):
    """An uploaded file kept encrypted in its `file` field (a sheet's or a message's)."""

    content_type: str
    filename: str
    size: int


def upload_download(upload: models.Model) -> HttpResponseBase:
    """An uploaded attachment the caller accessed: decrypted on the fly, never cached.

    Its type was checked on its content at upload, and is answered as such.
    """
    stored = cast(StoredUpload, upload)
    return download_response(
        open_file(upload, "file"),
        content_type=stored.content_type,
        filename=stored.filename,
        size=stored.size,
    )
