"""A GP logs in and searches the directory, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from directory.demo import load_directory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_cpts() -> None:
    load_directory(password="demo")


def test_a_gp_logs_in_and_finds_the_nurse(demo_cpts, login, live_server) -> None:
    page = login("dr.martin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Claire Martin")

    page.get_by_role("link", name="Annuaire").first.click()
    page.get_by_role("searchbox", name="Rechercher").fill("petit")
    page.get_by_role("button", name="Rechercher").click()

    members = page.locator("#members tbody tr")
    expect(members).to_have_count(1)
    expect(members.first).to_contain_text("PETIT Julie")
    expect(members.first).to_contain_text("Infirmière")  # the directory knows: Mme

    members.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Julie Petit")
    expect(page.locator("dl.facts")).to_contain_text("RPPS")


def test_a_wrong_password_is_refused_in_french(demo_cpts, page, live_server) -> None:
    page.goto(f"{live_server.url}/connexion/")
    page.get_by_label("Identifiant").fill("dr.martin")
    page.get_by_label("Mot de passe").fill("faux")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("alert")).to_contain_text("Identifiant ou mot de passe incorrect")


def test_the_profession_filter_lists_the_pharmacist(demo_cpts, signed_in, live_server) -> None:
    page = signed_in("ide.petit")
    page.goto(f"{live_server.url}/annuaire/")
    page.get_by_label("Profession").select_option("pharmacien")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("#members tbody tr")).to_have_count(1)
    expect(page.locator("#members")).to_contain_text("DURAND Marc")
    expect(page.locator("#organisations tbody")).to_contain_text("Aucune structure")
