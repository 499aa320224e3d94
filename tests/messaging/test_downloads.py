"""A message's attachment downloads with the same headers from the API and the page."""

from __future__ import annotations

import pytest
from django.test import Client

from messaging.models import Attachment
from messaging.selectors import download_url
from tests.downloads import assert_download, without_the_middleware_nosniff  # noqa: F401
from tests.messaging.conftest import PDF, pdf_upload, say

pytestmark = pytest.mark.django_db


@pytest.fixture
def attachment(gp, conversation) -> Attachment:
    message = say(gp, conversation, "Ci-joint", files=[pdf_upload("CR-sortie.pdf")])
    return Attachment.objects.get(message=message)


def test_the_api_download_sets_every_header(client_for, pharmacist, conversation, attachment):
    url = download_url(pharmacist, attachment, conversation.code, api=True)
    response = client_for(pharmacist).get(url)
    assert_download(response, content_type="application/pdf", filename="CR-sortie.pdf")
    assert response["Content-Length"] == str(len(PDF))


def test_the_page_download_sets_every_header(pharmacist, conversation, attachment) -> None:
    web = Client()
    web.force_login(pharmacist.user)
    response = web.get(download_url(pharmacist, attachment, conversation.code, api=False))
    assert_download(response, content_type="application/pdf", filename="CR-sortie.pdf")
