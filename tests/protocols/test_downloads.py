"""The protocols app's downloads: a version's PDF and the resource guide, API and page.

Neither holds patient data: they open in the browser and may be cached, but they set the
same Content-Disposition and nosniff as every download.
"""

from __future__ import annotations

import io

import pytest
from django.test import Client

from protocols.services import drafting
from tests.downloads import assert_download, without_the_middleware_nosniff  # noqa: F401
from tests.protocols.conftest import first_version

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def web_client(member) -> Client:
    web = Client()
    web.force_login(member.user)
    return web


def test_a_version_pdf_downloads_with_every_header(demo, client_for, make_protocol) -> None:
    version = first_version(make_protocol())
    upload = io.BytesIO(PDF)
    drafting.attach_pdf(
        actor=demo["coord"],
        version=version,
        fileobj=upload,
        filename="protocole-chute.pdf",
        size=len(PDF),
    )
    code = version.protocol.code
    api = client_for(demo["coord"]).get(f"/api/v1/protocols/{code}/versions/1/attachment/")
    expected = {"content_type": "application/pdf", "clinical": False, "inline": True}
    assert_download(api, filename="protocole-chute.pdf", **expected)
    page = web_client(demo["coord"]).get(f"/protocoles/{code}/versions/1/pdf/")
    assert_download(page, filename="protocole-chute.pdf", **expected)


def test_the_guide_pdf_downloads_with_every_header(demo, client_for) -> None:
    expected = {"content_type": "application/pdf", "clinical": False, "inline": True}
    api = client_for(demo["ide.petit"]).get("/api/v1/guide/pdf/")
    assert_download(api, filename="guide-des-ressources.pdf", **expected)
    page = web_client(demo["ide.petit"]).get("/guide/pdf/")
    assert_download(page, filename="guide-des-ressources.pdf", **expected)
