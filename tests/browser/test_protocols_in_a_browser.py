"""A local protocol in a real browser: drafted, reviewed, published, found and acknowledged."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from directory.demo import load_directory
from protocols.models import Acknowledgement, Protocol

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_cpts():
    return load_directory(password="demo")


def logout(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()


def test_a_local_protocol_from_draft_to_acknowledgement(
    demo_cpts, signed_in, live_server, page: Page
) -> None:
    # coord drafts a local cooperation protocol and sends it to dr.martin for review.
    signed_in("coord")
    page.goto(f"{live_server.url}/protocoles/")
    page.get_by_role("link", name="Nouveau protocole").click()
    page.get_by_label("Titre").fill("Chute d'un patient sous anticoagulant")
    page.get_by_label("Type de protocole").select_option("local")
    page.get_by_label("Référence courte (ex. CHUTE-01)").fill("CHUTE-07")
    page.get_by_label("Date de révision").fill("2027-06-30")
    page.locator("input[name=delegant_professions][value=medecin_generaliste]").check()
    page.locator("input[name=delegate_professions][value=infirmier]").check()
    page.get_by_label("Objectif").fill("Savoir réagir quand un patient anticoagulé tombe.")
    page.get_by_label("Critères d'exclusion", exact=True).fill("- perte de connaissance")
    page.get_by_label("Étapes et arbre de décision").fill(
        "1. Rechercher une ecchymose ou un hématome.\n2. Prévenir le médecin traitant."
    )
    page.get_by_label("Réorientation vers le délégant (situations et délais)").fill(
        "Traumatisme crânien : le 15."
    )
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.locator("#version-status")).to_have_text("Brouillon")
    page.locator("#reviewers").get_by_label("Claire Martin").check()
    page.get_by_role("button", name="Soumettre à la relecture").click()
    expect(page.locator("#version-status")).to_have_text("En relecture")
    logout(page)

    # dr.martin finds it to review, and approves it.
    signed_in("dr.martin")
    page.goto(f"{live_server.url}/protocoles/")
    page.locator("#to-review").get_by_role(
        "link", name="Chute d'un patient sous anticoagulant"
    ).click()
    page.get_by_label("Commentaire (facultatif)").fill("Clair et applicable.")
    page.get_by_role("button", name="Approuver").click()
    expect(page.locator("#round-reviews")).to_contain_text("Claire Martin : Approuvée")
    logout(page)

    # coord publishes it.
    signed_in("coord")
    protocol = Protocol.objects.get(reference="CHUTE-07")
    page.goto(f"{live_server.url}/protocoles/{protocol.code}/versions/1/relecture/")
    page.get_by_role("button", name="Publier").click()
    expect(page.locator("#protocol-status")).to_have_text("En vigueur")
    logout(page)

    # ide.petit finds it by a word of its content, and acknowledges it.
    signed_in("ide.petit")
    page.goto(f"{live_server.url}/protocoles/")
    page.get_by_label("Rechercher un protocole").fill("ecchymose")
    page.get_by_role("button", name="Rechercher").click()
    results = page.locator("#protocols")
    expect(results).to_contain_text("Chute d'un patient sous anticoagulant")
    results.get_by_role("link", name="Chute d'un patient sous anticoagulant").click()
    expect(page.locator("#section-steps")).to_contain_text("Rechercher une ecchymose")
    page.get_by_role("button", name="J'ai lu et j'approuve").click()
    expect(page.locator("#acknowledged")).to_contain_text(
        "Vous avez lu et approuvé cette version le"
    )
    expect(page.locator("#acknowledgements")).to_contain_text("Julie Petit")
    assert Acknowledgement.objects.filter(
        member=demo_cpts["ide.petit"], version__protocol=protocol
    ).exists()
