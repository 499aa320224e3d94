"""The outputs in a real browser: the printed sheet, and the coordinator's chart."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect
from pypdf import PdfReader

from directory.demo import load_directory
from directory.models import Organisation
from liaison.outputs.document import identity_line
from liaison.services import drafts, transitions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_cpts():
    return load_directory(password="demo")


def watch_console(page: Page) -> list[str]:
    """Content-Security-Policy violations the browser reports (an inline style or script)."""
    errors: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            errors.append(message.text)

    page.on("console", keep)
    return errors


def test_the_printed_sheet_repeats_the_identity_on_every_page(
    demo_cpts, signed_in, live_server, page
) -> None:
    patient = {
        "birth_family_name": "Lefèvre",
        "given_names": "Éloïse",
        "birth_date": "1979-03-15",
        "sex": "F",
    }
    lines = [{"name": f"Médicament {n}", "dose": "1 cp", "frequency": "1/j"} for n in range(45)]
    content = {
        "urgency": "urgent",
        "reason": "Dyspnée d'effort",
        "medications": lines,
        "allergies_none_known": True,
    }
    sheet = drafts.create_draft(
        actor=demo_cpts["dr.martin"], kind="referral", patient=patient, content=content,
        recipient_organisation=Organisation.objects.get(name="Cardiologie"),
    )  # fmt: skip
    transitions.send_sheet(actor=demo_cpts["dr.martin"], sheet=sheet)
    errors = watch_console(page)

    signed_in("dr.martin")
    page.goto(f"{live_server.url}/liaison/{sheet.code}/")
    page.get_by_role("link", name="Imprimer").click()
    expect(page.locator("#printable")).to_contain_text("Médicament 44")
    printed = PdfReader(io.BytesIO(page.pdf(format="A4")))

    assert len(printed.pages) >= 2
    identity = identity_line(patient)
    for number, printed_page in enumerate(printed.pages, start=1):
        text = printed_page.extract_text()
        assert identity in text, f"page {number}"
        assert "Document du" in text
        assert f"{number} / {len(printed.pages)}" in text
    assert errors == []


def test_the_coordinator_reads_the_indicators_and_their_chart(
    demo_cpts, signed_in, live_server, page
) -> None:
    errors = watch_console(page)
    signed_in("coord")
    page.get_by_role("link", name="Indicateurs").click()
    expect(
        page.get_by_role("heading", name="Indicateurs de la boucle ville-hôpital")
    ).to_be_visible()
    expect(page.locator("svg.chart")).to_be_visible()
    expect(page.locator("table.indicators tbody tr")).to_have_count(12)
    with page.expect_download() as download:
        page.get_by_role("link", name="Exporter en CSV").click()
    assert download.value.suggested_filename.startswith("indicateurs-liaison-")
    assert errors == []
