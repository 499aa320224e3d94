"""The protocols app's downloads, answered alike by the API and the pages.

Neither holds patient data (protocols must not, and the guide is the CPTS's public map), so
they are not marked no-store; a version's PDF opens in the browser, where it is read.
"""

from __future__ import annotations

from django.http.response import HttpResponseBase
from django.utils.timezone import localdate

from config.downloads import download_response
from protocols.guide import selectors as guide_selectors
from protocols.guide.pdf import render_guide_pdf
from protocols.models import ProtocolVersion
from security.exceptions import NotFound

GUIDE_FILENAME = "guide-des-ressources.pdf"


def attachment_download(version: ProtocolVersion) -> HttpResponseBase:
    """The PDF attached to a version the caller accessed; NotFound when it has none."""
    if not version.attachment:
        raise NotFound("protocol")
    return download_response(
        version.attachment.open("rb"),
        content_type="application/pdf",
        filename=version.attachment_name,
        inline=True,
        clinical=False,
    )


def guide_download(*, theme: str, commune: str) -> HttpResponseBase:
    """The printable resource guide, with the same grouping and filters as the page."""
    sections = guide_selectors.guide(theme=theme, commune=commune)
    pdf = render_guide_pdf(sections, cpts=guide_selectors.cpts_name(), on=localdate())
    return download_response(
        pdf, content_type="application/pdf", filename=GUIDE_FILENAME, inline=True, clinical=False
    )
