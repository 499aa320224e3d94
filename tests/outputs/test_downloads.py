"""Every output download (PDF, FHIR, indicators CSV) sets the same headers, API and page."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client

from tests.downloads import assert_download, without_the_middleware_nosniff  # noqa: F401

pytestmark = pytest.mark.django_db
FHIR_JSON = "application/fhir+json"


def web_client(member) -> Client:
    web = Client()
    web.force_login(member.user)
    return web


@pytest.mark.parametrize(
    ("suffix", "content_type", "extension"),
    [("pdf", "application/pdf", "pdf"), ("fhir", FHIR_JSON, "json")],
)
def test_a_sheet_downloads_with_every_header(
    client_for, demo, full_referral, suffix, content_type, extension
) -> None:
    filename = f"fiche-liaison-{str(full_referral.code)[:8]}.{extension}"
    api = client_for(demo["dr.martin"]).get(
        f"/api/v1/liaison-sheets/{full_referral.code}/{suffix}/", HTTP_ACCEPT=content_type
    )
    assert_download(api, content_type=content_type, filename=filename)
    page = web_client(demo["dr.martin"]).get(f"/liaison/{full_referral.code}/{suffix}/")
    assert_download(page, content_type=content_type, filename=filename)


@time_machine.travel("2026-04-15 10:00 +0200", tick=False)
def test_the_indicators_csv_downloads_with_every_header(client_for, demo) -> None:
    query = {"from": "2026-01-01", "to": "2026-03-31"}
    filename = "indicateurs-liaison-2026-01-2026-03.csv"
    api = client_for(demo["coord"]).get("/api/v1/indicators/liaison/csv/", query)
    assert_download(api, content_type="text/csv; charset=utf-8", filename=filename)
    page = web_client(demo["coord"]).get("/indicateurs/export.csv", query)
    assert_download(page, content_type="text/csv; charset=utf-8", filename=filename)
