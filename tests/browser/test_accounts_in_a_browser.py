"""Accounts people manage themselves, and nothing typed is lost, in a real browser.

A nurse finds "Mon compte" in the header and changes her password; a pharmacist who forgot
his asks for a link from the login page and follows it from the e-mail; a deactivated member
is told whom to call; a GP whose session expired mid-form gets what she typed back after
logging in; a double click on "create" makes one protocol. Each page at 1366 px and 390 px,
without a serious axe violation and without horizontal scrolling.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from directory.models import Member
from protocols.demo import load_protocols
from protocols.models import Protocol
from tests.browser.reading import assert_reads_well
from tests.browser.test_two_factor_in_a_browser import code_from_secret, fresh_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [1366, 390]
NEW_PASSWORD = "Tilleul-Ardoise-Marée-42"


def log_in(page: Page, base: str, username: str, password: str = "demo") -> None:
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()


@pytest.mark.parametrize("width", WIDTHS, ids=["desktop", "phone"])
def test_a_nurse_changes_her_password_from_her_account_page(
    demo: dict[str, Member], signed_in: Callable[[str], Page], width: int
) -> None:
    page = signed_in("ide.petit")
    page.set_viewport_size({"width": width, "height": 800})
    if width < 700:
        page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Mon compte").click()
    expect(page.get_by_role("heading", name="Mon compte", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Activer la double authentification")).to_be_visible()
    expect(page.get_by_role("link", name="Préférences de notification")).to_be_visible()
    expect(page.get_by_role("link", name="Gérer mes jetons d'API")).to_be_visible()
    assert_reads_well(page)

    page.get_by_label("Ancien mot de passe").fill("demo")
    page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirmation du nouveau mot de passe").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Changer le mot de passe").click()
    expect(page.get_by_text("Mot de passe changé.")).to_be_visible()
    assert_reads_well(page)


@pytest.mark.parametrize("width", WIDTHS, ids=["desktop", "phone"])
def test_a_pharmacist_resets_a_forgotten_password_through_the_e_mail(
    demo: dict[str, Member], page: Page, live_server: Any, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/connexion/")
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    page.wait_for_url("**/connexion/mot-de-passe-oublie/")
    assert_reads_well(page)
    page.get_by_label("Adresse e-mail").fill(demo["pharma.durand"].user.email)
    page.get_by_role("button", name="Recevoir le lien").click()
    expect(page.get_by_role("heading", name="Vérifiez votre messagerie")).to_be_visible()
    assert_reads_well(page)

    (message,) = mail.outbox
    link = re.search(r"/connexion/mot-de-passe-oublie/\S+/\S+/", message.body)
    assert link is not None
    page.goto(live_server.url + link.group(0))
    expect(page.get_by_role("heading", name="Nouveau mot de passe")).to_be_visible()
    assert_reads_well(page)
    page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirmation du nouveau mot de passe").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(page.get_by_role("heading", name="Mot de passe changé")).to_be_visible()
    assert_reads_well(page)

    page.get_by_role("link", name="Se connecter").click()
    log_in(page, live_server.url, "pharma.durand", NEW_PASSWORD)
    page.wait_for_url(f"{live_server.url}/")


@pytest.mark.parametrize("width", WIDTHS, ids=["desktop", "phone"])
def test_a_deactivated_member_is_told_whom_to_contact(
    demo: dict[str, Member], page: Page, live_server: Any, width: int
) -> None:
    Member.objects.filter(pk=demo["ide.petit"].pk).update(is_active=False)
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/connexion/")
    log_in(page, live_server.url, "ide.petit")
    expect(page.get_by_role("heading", name="Compte désactivé")).to_be_visible()
    expect(page.get_by_text(demo["coord"].display_name)).to_be_visible()
    assert_reads_well(page)


def test_what_was_typed_comes_back_after_the_session_expired(
    demo: dict[str, Member], login: Callable[[str], Page], live_server: Any
) -> None:
    page = login("dr.martin")
    page.goto(f"{live_server.url}/protocoles/nouveau/")
    page.get_by_label("Titre").fill("Plaies chroniques au domicile")
    page.get_by_label("Date de révision").fill("2027-03-01")
    Session.objects.all().delete()  # the session expires while she types

    page.get_by_role("button", name="Enregistrer le brouillon").click()
    page.wait_for_url("**/connexion/**")
    expect(page.get_by_text("Votre session a expiré")).to_be_visible()
    log_in(page, live_server.url, "dr.martin")
    page.wait_for_url("**/protocoles/nouveau/")
    expect(page.get_by_text("Votre saisie a été rétablie")).to_be_visible()
    expect(page.get_by_label("Titre")).to_have_value("Plaies chroniques au domicile")
    expect(page.get_by_label("Date de révision")).to_have_value("2027-03-01")
    assert not Protocol.objects.exists()
    assert_reads_well(page)


def test_a_double_click_creates_one_protocol(
    demo: dict[str, Member], signed_in: Callable[[str], Page], live_server: Any
) -> None:
    page = signed_in("dr.martin")
    page.goto(f"{live_server.url}/protocoles/nouveau/")
    page.get_by_label("Titre").fill("Dénutrition de la personne âgée")
    page.get_by_role("button", name="Enregistrer le brouillon").dblclick()
    page.wait_for_url("**/versions/1/modifier/")
    expect(page.get_by_text("Brouillon enregistré.")).to_be_visible()
    assert Protocol.objects.filter(title="Dénutrition de la personne âgée").count() == 1


@pytest.mark.parametrize("width", WIDTHS, ids=["desktop", "phone"])
def test_a_lost_csrf_cookie_explains_in_french_and_the_retry_keeps_the_form(
    demo: dict[str, Member], login: Callable[[str], Page], live_server: Any, width: int
) -> None:
    page = login("dr.martin")
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/protocoles/nouveau/")
    page.get_by_label("Titre").fill("Insuffisance cardiaque : surveillance du poids")
    cookies = page.context.cookies()
    page.context.clear_cookies()
    page.context.add_cookies([c for c in cookies if c["name"] != "csrftoken"])

    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_role("heading", name="Le formulaire n'a pas pu être envoyé")).to_be_visible()
    expect(page.get_by_text("Ce que vous aviez saisi est conservé")).to_be_visible()
    assert_reads_well(page)

    page.get_by_role("link", name="Revenir au formulaire et réessayer").click()
    expect(page.get_by_label("Titre")).to_have_value(
        "Insuffisance cardiaque : surveillance du poids"
    )
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    page.wait_for_url("**/versions/1/modifier/")
    assert Protocol.objects.filter(title__startswith="Insuffisance cardiaque").count() == 1


@pytest.mark.parametrize("width", WIDTHS, ids=["desktop", "phone"])
def test_a_nurse_enrols_from_her_account_and_is_asked_for_the_code_at_next_login(
    demo: dict[str, Member], login: Callable[[str], Page], live_server: Any, width: int, settings
) -> None:
    settings.REQUIRE_2FA = False  # optional for the CPTS: she chooses it
    page = login("ide.petit")
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/compte/")
    page.get_by_role("link", name="Activer la double authentification").click()
    page.wait_for_url("**/securite/2fa/**")
    assert_reads_well(page)
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code à 6 chiffres affiché par l'application").fill(code_from_secret(secret))
    page.get_by_role("button", name="Confirmer").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    assert_reads_well(page)
    page.get_by_role("link", name="J'ai noté mes codes, continuer").click()
    page.wait_for_url("**/compte/")
    expect(page.get_by_text("Activée")).to_be_visible()

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/connexion/")
    log_in(page, live_server.url, "ide.petit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Double authentification")
    device = TOTPDevice.objects.get(user__username="ide.petit", confirmed=True)
    page.get_by_label("Code de vérification").fill(fresh_code(device))
    page.get_by_role("button", name="Vérifier").click()
    page.wait_for_url(f"{live_server.url}/")


@pytest.mark.parametrize("width", WIDTHS, ids=["desktop", "phone"])
def test_retiring_a_protocol_asks_first(
    demo: dict[str, Member], signed_in: Callable[[str], Page], live_server: Any, width: int
) -> None:
    load_protocols(demo)
    protocol = Protocol.objects.filter(status=Protocol.Status.PUBLISHED).order_by("pk").first()
    assert protocol is not None
    page = signed_in("coord")
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/protocoles/{protocol.code}/")
    page.get_by_role("button", name="Retirer le protocole").click()
    expect(page.get_by_role("heading", name="Retirer le protocole", level=1)).to_be_visible()
    assert_reads_well(page)
    page.get_by_role("link", name="Annuler").click()
    protocol.refresh_from_db()
    assert protocol.status == Protocol.Status.PUBLISHED

    page.get_by_role("button", name="Retirer le protocole").click()
    page.get_by_role("button", name="Oui, retirer le protocole").click()
    expect(page.get_by_text("Protocole retiré.")).to_be_visible()
    protocol.refresh_from_db()
    assert protocol.status == Protocol.Status.RETIRED


@pytest.mark.parametrize("width", WIDTHS, ids=["desktop", "phone"])
def test_a_bad_office_hours_row_is_named_and_the_rest_kept(
    demo: dict[str, Member], signed_in: Callable[[str], Page], live_server: Any, width: int
) -> None:
    page = signed_in("as.moreau")
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/guide/membres/{demo['as.moreau'].code}/")
    page.get_by_label("Lieu — permanence n° 1").fill("Mairie")
    page.get_by_label("Jour — permanence n° 1").select_option("0")
    page.get_by_label("Début — permanence n° 1").fill("09:00")
    page.get_by_label("Fin — permanence n° 1").fill("12:00")
    page.get_by_label("Jour — permanence n° 2").select_option("1")
    page.get_by_label("Début — permanence n° 2").fill("14:00")
    page.get_by_label("Fin — permanence n° 2").fill("11:00")
    page.get_by_role("button", name="Enregistrer").click()

    expect(page.locator("#hours-1-error")).to_contain_text("Permanence n° 2")
    expect(page.get_by_label("Lieu — permanence n° 1")).to_have_value("Mairie")
    expect(page.get_by_label("Fin — permanence n° 2")).to_have_value("11:00")
    assert_reads_well(page)
