"""Tele-expertise in a real browser, at desktop and phone widths: the GP asks with a photo,
the dermatologist takes it and asks for more, the GP completes, the dermatologist answers
"no consultation needed", the GP acknowledges. Every page passes axe-core (no serious or
critical violation) and fits the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from directory.demo import load_directory
from liaison.models import LiaisonSheet
from tests.browser.reading import assert_reads_well
from tests.expertise.conftest import PHOTO

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_cpts():
    return load_directory(password="demo")


def logout(page: Page) -> None:
    """Next persona (on a phone the logout button sits in the folded menu)."""
    page.context.clear_cookies()


@pytest.mark.parametrize("width", [1366, 360], ids=["desktop", "phone"])
def test_the_tele_expertise_loop(demo_cpts, signed_in, live_server, page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    signed_in("dr.martin")
    page.goto(f"{live_server.url}/liaison/avis/nouvelle/")
    assert_reads_well(page)
    page.get_by_label("Nom de naissance").fill("Lefèvre")
    page.get_by_label("Prénoms de naissance").fill("Éloïse")
    page.get_by_label("Date de naissance").fill("1979-03-15")
    page.get_by_label("Sexe").select_option("F")
    page.get_by_label("Service expert sollicité").select_option(
        label="Dermatologie — Centre hospitalier de Gien"
    )
    page.get_by_label("Spécialité sollicitée").select_option("dermatology")
    page.get_by_label("Question posée").fill("Lésion pigmentée du dos : exérèse ?")
    page.get_by_label("Photos, ECG, résultats").set_input_files(
        files=[{"name": "lesion.png", "mimeType": "image/png", "buffer": PHOTO}]
    )
    page.get_by_label("Le patient a été informé et consent à une télé-expertise").check()
    page.get_by_role("button", name="Envoyer la demande").click()
    expect(page.locator("#request-status")).to_have_text("Envoyée")
    assert_reads_well(page)
    logout(page)

    signed_in("dr.derm")
    page.goto(f"{live_server.url}/liaison/avis/")
    assert_reads_well(page)
    page.get_by_role("link", name="LEFÈVRE Éloïse").first.click()
    expect(page.get_by_role("img", name="Image jointe n° 1")).to_be_visible()
    assert_reads_well(page)
    page.get_by_role("button", name="Prendre en charge").click()
    expect(page.locator("#request-status")).to_have_text("Prise en charge")
    page.get_by_role("button", name="Demander des précisions").click()
    expect(page.locator("#request-status")).to_have_text("Précisions demandées")
    logout(page)

    signed_in("dr.martin")
    page.goto(f"{live_server.url}/liaison/avis/")
    page.get_by_role("link", name="LEFÈVRE Éloïse").first.click()
    page.locator("#r-comment").fill("8 mm, bords irréguliers")
    assert_reads_well(page)
    page.get_by_role("button", name="Compléter et renvoyer").click()
    expect(page.locator("#request-status")).to_have_text("Envoyée")
    logout(page)

    signed_in("dr.derm")
    page.goto(f"{live_server.url}/liaison/avis/")
    page.get_by_role("link", name="LEFÈVRE Éloïse").first.click()
    expect(page.locator("#clinical-context")).to_contain_text("8 mm")
    page.get_by_role("button", name="Prendre en charge").click()
    page.locator("#a-opinion").fill("Naevus atypique bénin.")
    page.locator("#a-consultation").select_option("not_needed")
    assert_reads_well(page)
    page.get_by_role("button", name="Rendre l'avis").click()
    expect(page.locator("#request-status")).to_have_text("Avis rendu")
    logout(page)

    signed_in("dr.martin")
    page.goto(f"{live_server.url}/liaison/avis/")
    page.get_by_role("link", name="LEFÈVRE Éloïse").first.click()
    expect(page.locator("#consultation")).to_have_text("Pas de consultation nécessaire")
    assert_reads_well(page)
    page.get_by_role("button", name="J'ai pris connaissance de l'avis").click()
    expect(page.locator("#request-status")).to_have_text("Clôturée")
    sheet = LiaisonSheet.objects.get(kind="expertise")
    assert [event.action for event in sheet.events.all()] == [
        "send", "take", "ask_more", "resend", "take", "answer", "acknowledge",
    ]  # fmt: skip
