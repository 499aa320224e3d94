"""The print view and the downloads in the web UI (session login)."""

from __future__ import annotations

import pytest
from django.test import Client

from liaison.models import LiaisonSheet
from security.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_the_sheet_page_links_to_print_pdf_and_fhir(
    client: Client, demo, full_referral: LiaisonSheet
) -> None:
    client.force_login(demo["ide.petit"].user)
    page = client.get(f"/liaison/{full_referral.code}/").content.decode()
    for url in ("imprimer/", "pdf/", "fhir/"):
        assert f'href="/liaison/{full_referral.code}/{url}"' in page


def test_the_print_view_repeats_identity_and_date_and_shows_filled_sections(
    client: Client, demo, full_letter
) -> None:
    client.force_login(demo["dr.martin"].user)
    response = client.get(f"/liaison/{full_letter.code}/imprimer/")
    assert response.status_code == 200
    page = response.content.decode()
    head = page.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert "LEFÈVRE (usage MOREAU-CŒUR) Éloïse Marie" in head
    assert "Document du" in head
    assert "css/liaison-print.css" in page
    sections = [
        page.find(f'id="print-{key}"') for key in ("stay", "events", "medications", "follow_up")
    ]
    assert all(p > 0 for p in sections)
    assert sections == sorted(sections)
    assert "Signé électroniquement le" in page
    assert (
        AuditEntry.objects.filter(
            action="liaison_sheet.print", target_code=full_letter.code
        ).count()
        == 1
    )


def test_the_print_view_of_a_minimal_letter_has_no_empty_heading(
    client: Client, demo, minimal_letter
) -> None:
    client.force_login(demo["dr.martin"].user)
    page = client.get(f"/liaison/{minimal_letter.code}/imprimer/").content.decode()
    assert "Traitements arrêtés" not in page
    assert "Dispositifs médicaux implantés" not in page
    assert "Aucun traitement de sortie" in page


def test_downloads_from_the_page_are_audited(
    client: Client, demo, full_letter: LiaisonSheet
) -> None:
    client.force_login(demo["hop.cardio"].user)
    pdf = client.get(f"/liaison/{full_letter.code}/pdf/")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    fhir = client.get(f"/liaison/{full_letter.code}/fhir/")
    assert fhir.status_code == 200
    assert fhir.json()["resourceType"] == "Bundle"
    assert "attachment" in fhir["Content-Disposition"]
    actions = set(
        AuditEntry.objects.filter(
            target_code=full_letter.code, actor=demo["hop.cardio"]
        ).values_list("action", flat=True)
    )
    assert {"liaison_sheet.pdf", "liaison_sheet.fhir"} <= actions


@pytest.mark.parametrize("suffix", ["imprimer/", "pdf/", "fhir/"])
def test_outsiders_get_the_sites_404(
    client: Client, demo, full_letter: LiaisonSheet, suffix: str
) -> None:
    client.force_login(demo["hop.urgences"].user)
    assert client.get(f"/liaison/{full_letter.code}/{suffix}").status_code == 404
    assert not AuditEntry.objects.filter(
        target_code=full_letter.code, actor=demo["hop.urgences"]
    ).exists()
