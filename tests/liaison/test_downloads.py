"""A sheet's attachment downloads with the same headers from the API and the page."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from liaison.services import attachments
from tests.downloads import assert_download, without_the_middleware_nosniff  # noqa: F401
from tests.liaison.test_attachments import PDF

pytestmark = pytest.mark.django_db


@pytest.fixture
def attachment(demo, make_referral):
    sheet = make_referral()
    return attachments.add_attachment(
        actor=demo["dr.martin"],
        sheet=sheet,
        fileobj=SimpleUploadedFile("CR-cardio.pdf", PDF),
        filename="CR-cardio.pdf",
        size=len(PDF),
    )


def test_the_api_download_sets_every_header(client_for, demo, attachment) -> None:
    url = f"/api/v1/liaison-sheets/{attachment.sheet.code}/attachments/{attachment.code}/"
    response = client_for(demo["ide.petit"]).get(url)
    assert_download(response, content_type="application/pdf", filename="CR-cardio.pdf")
    assert response["Content-Length"] == str(len(PDF))


def test_the_page_download_sets_every_header(demo, attachment) -> None:
    web = Client()
    web.force_login(demo["ide.petit"].user)
    response = web.get(f"/liaison/{attachment.sheet.code}/pieces/{attachment.code}/")
    assert_download(response, content_type="application/pdf", filename="CR-cardio.pdf")
