"""The whole loop in a real browser: referral, reception, acceptance, discharge, reading."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from directory.demo import load_directory
from liaison.models import LiaisonSheet
from tests.browser.referral_form import fill_urgent_cardiology_referral

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_cpts():
    return load_directory(password="demo")


def logout(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()


def test_the_closed_loop(demo_cpts, signed_in, live_server, page: Page) -> None:
    # dr.martin writes the referral; the draft saves itself as she types.
    signed_in("dr.martin")
    page.goto(f"{live_server.url}/liaison/nouvelle/")
    fill_urgent_cardiology_referral(page)
    page.locator("[data-add=medications]").click()
    page.locator("input[name='medications-0-name']").fill("Furosémide")
    page.locator("input[name='medications-0-dose']").fill("40 mg")
    page.locator("[data-add=medications]").click()
    page.locator("input[name='medications-1-name']").fill("Ramipril")
    page.get_by_label("Aucune allergie connue").check()
    page.get_by_label("Julie Petit").check()
    expect(page.locator("#save-state")).to_contain_text("Brouillon enregistré", timeout=10_000)
    assert "/modifier/" in page.url  # the autosave created the draft without a reload
    page.get_by_role("button", name="Envoyer").click()
    expect(page.locator("#sheet-status")).to_have_text("Envoyée")
    sheet = LiaisonSheet.objects.get(kind="referral")
    assert [m["name"] for m in sheet.content["medications"]] == ["Furosémide", "Ramipril"]
    logout(page)

    # hop.cardio takes it, accepts it, then writes and sends the discharge letter.
    signed_in("hop.cardio")
    page.goto(f"{live_server.url}/liaison/")
    page.get_by_role("link", name="LEFÈVRE Éloïse").click()
    page.get_by_role("button", name="Accuser réception").click()
    page.get_by_label("Date d'admission ou de rendez-vous").fill("2026-11-02")
    page.get_by_role("button", name="Accepter").click()
    expect(page.locator("#sheet-status")).to_have_text("Acceptée")
    page.get_by_role("button", name="Rédiger la lettre de sortie").click()
    expect(page.locator("input[name='discharge_medications-0-name']")).to_have_value("Furosémide")
    page.get_by_label("Date de sortie").fill("2026-11-09")
    page.get_by_label("Mode d'entrée").select_option("scheduled")
    page.get_by_label("Mode de sortie").select_option("home")
    page.get_by_label("Synthèse médicale du séjour").fill("Évolution favorable.")
    for name in ("mdro_search_done", "transfusion", "blood_derivatives"):
        page.locator(f"input[name={name}][value=false]").check()
    page.locator("input[name='discharge_medications-0-duration']").fill("1 mois")
    page.locator("input[name='discharge_medications-1-dose']").fill("5 mg")
    page.locator("input[name='discharge_medications-1-duration']").fill("au long cours")
    page.get_by_label("Médecin signataire et contact").fill("Dr Lambert, 02 38 29 38 40")
    page.get_by_role("button", name="Envoyer").click()
    expect(page.locator("#sheet-status")).to_have_text("Envoyée")
    letter = LiaisonSheet.objects.get(kind="discharge")
    sheet.refresh_from_db()
    assert sheet.status == "closed"
    logout(page)

    # dr.martin and ide.petit see the letter and read it; receipts follow.
    for username in ("dr.martin", "ide.petit"):
        signed_in(username)
        page.goto(f"{live_server.url}/liaison/")
        row = page.locator("#worklist tr", has_text="Lettre de liaison de sortie")
        expect(row).to_contain_text("non lue")
        row.get_by_role("link").click()
        expect(page.locator("#section-medications")).to_contain_text("Furosémide")
        logout(page)
    assert all(p.read_at for p in letter.participants.all())

    # hop.urgences, outside the loop, cannot open it.
    signed_in("hop.urgences")
    response = page.goto(f"{live_server.url}/liaison/{letter.code}/")
    assert response is not None
    assert response.status == 404
