"""Secure messaging in a real browser: a PDF sent, read, downloaded, and the receipt seen."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from directory.demo import load_directory
from messaging.models import Conversation
from messaging.services.messages import post_message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"ordonnance de sortie " * 100


@pytest.fixture
def demo_cpts(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MESSAGING_POLL_SECONDS = 2
    return load_directory(password="demo")


def logout(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()


def test_a_pdf_is_sent_read_downloaded_and_the_receipt_seen(
    demo_cpts, signed_in, live_server, page: Page, tmp_path: Path
) -> None:
    pdf = tmp_path / "ordonnance.pdf"
    pdf.write_bytes(PDF)

    # dr.martin finds the pharmacist in the directory and writes with the PDF attached.
    signed_in("dr.martin")
    page.get_by_role("link", name="Messagerie").click()
    page.get_by_role("link", name="Nouveau message").click()
    # The search listens once the page's (deferred) script ran: typing before would be lost.
    page.wait_for_load_state("load")
    page.get_by_label("Rechercher dans l'annuaire").fill("Durand")
    page.get_by_role("button", name="Marc Durand").click()
    expect(page.locator("#chosen-recipients")).to_contain_text("Marc Durand")
    page.get_by_label("Objet", exact=True).fill("Traitement de sortie")
    page.get_by_label("Message", exact=True).fill(
        "Bonjour, voici l'ordonnance de sortie : le ramipril est arrêté."
    )
    page.get_by_label("Pièces jointes (PDF, image, texte)").set_input_files(str(pdf))
    page.get_by_role("button", name="Envoyer").click()
    expect(page.locator("#messages")).to_contain_text("le ramipril est arrêté")
    expect(page.locator("#messages .receipts")).to_contain_text("Non lu par Marc Durand")
    logout(page)

    # pharma.durand sees it unread, opens it, downloads the PDF.
    signed_in("pharma.durand")
    page.goto(f"{live_server.url}/messagerie/")
    row = page.locator("#conversations tr", has_text="Traitement de sortie")
    expect(row).to_contain_text("1 non lu")
    row.get_by_role("link", name="Traitement de sortie").click()
    expect(page.locator("#messages")).to_contain_text("le ramipril est arrêté")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="ordonnance.pdf").click()
    download = download_info.value
    assert download.suggested_filename == "ordonnance.pdf"
    assert Path(download.path()).read_bytes() == PDF
    page.goto(f"{live_server.url}/messagerie/")
    expect(page.locator("#conversations tr", has_text="Traitement de sortie")).not_to_contain_text(
        "non lu"
    )
    logout(page)

    # dr.martin sees it read; a reply then appears without reloading the page.
    signed_in("dr.martin")
    page.goto(f"{live_server.url}/messagerie/")
    page.get_by_role("link", name="Traitement de sortie").click()
    expect(page.locator("#messages .receipts")).to_contain_text("Lu par Marc Durand")
    conversation = Conversation.objects.get()
    post_message(
        actor=demo_cpts["pharma.durand"], conversation=conversation, body="Pilulier préparé."
    )
    expect(page.locator("#messages")).to_contain_text("Pilulier préparé.", timeout=10_000)

    # Outside the conversation, its page does not exist.
    logout(page)
    signed_in("ide.petit")
    response = page.goto(f"{live_server.url}/messagerie/{conversation.code}/")
    assert response is not None
    assert response.status == 404
