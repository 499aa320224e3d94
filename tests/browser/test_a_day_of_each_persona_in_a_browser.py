"""A day of each persona, through the real pages, on a desktop and on a phone.

The every-page test opens each page; this one does each person's work on them, in order:
the GP writes and sends a referral, the service's secretary (hop.cardio2) triages,
acknowledges, accepts and files it, the ward doctor (hop.cardio) writes the discharge letter,
the nurse and the pharmacist read it from their bell, the coordinator keeps the directory and
reads the indicators. Every page visited is checked as the every-page test checks it
(axe-core, no horizontal scrolling, favicon, no English word). What the walk needs but does
not show (the demo's people, the sheets other people sent) is built through the services;
one browser page per persona and width.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils.timezone import localdate, now
from playwright.sync_api import Browser, Page, expect

from directory.models import Member, Organisation
from liaison.models import LiaisonSheet, SheetFiling
from liaison.services import discharge, drafts, transitions
from tests.browser.reading import problems_on
from tests.browser.referral_form import fill_urgent_cardiology_referral
from tests.browser.signing_in import sign_in
from worker.models import Notification

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1366, 360)
Members = dict[str, Member]

PATIENT = {
    "identity_status": "VALI", "birth_family_name": "Garçon", "given_names": "Noël",
    "birth_date": "1941-12-25", "sex": "M", "birth_place_insee": "33063",
}  # fmt: skip
OTHER = {
    "identity_status": "PROV", "birth_family_name": "Petitjean", "given_names": "Marcel",
    "birth_date": "1949-10-11", "sex": "M",
}  # fmt: skip
REFERRAL = {
    "urgency": "routine", "entry_mode": "scheduled", "reason": "Bilan d'une dyspnée",
    "medications": [{"name": "Apixaban", "dose": "5 mg", "frequency": "2/j"}],
    "allergies_none_known": True,
}  # fmt: skip


class Day:
    """The persona's browser page, with a check of every page it lands on."""

    def __init__(self, page: Page, base: str, width: int) -> None:
        self.page, self.base, self.width = page, base, width
        self.problems: list[str] = []

    def check(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        self.problems += [f"{name} @{self.width}px: {p}" for p in problems_on(self.page)]

    def visit(self, name: str, path: str) -> Page:
        response = self.page.goto(self.base + path)
        assert response is not None, (name, path)
        assert response.status == 200, (name, path)
        self.check(name)
        return self.page

    def done(self) -> None:
        assert self.problems == [], "\n".join(self.problems)


@pytest.fixture
def day(browser: Browser, live_server: Any) -> Callable[[str, int], Day]:
    contexts = []

    def start(username: str, width: int) -> Day:
        context = browser.new_context(locale="fr-FR", viewport={"width": width, "height": 800})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in(page, live_server.url, username)
        return Day(page, live_server.url, width)

    yield start
    for context in contexts:
        context.close()


def cardiology() -> Organisation:
    return Organisation.objects.get(name="Cardiologie")


def referral(demo: Members, patient: dict[str, str], **content: Any) -> LiaisonSheet:
    sheet = drafts.create_draft(
        actor=demo["dr.martin"], kind="referral", patient=patient,
        content=REFERRAL | content, recipient_organisation=cardiology(),
        participants=[demo["ide.petit"], demo["pharma.durand"]],
    )  # fmt: skip
    return transitions.send_sheet(actor=demo["dr.martin"], sheet=sheet)


def bell_count(page: Page) -> int:
    return int(page.locator("[data-unread-count]").inner_text())


@pytest.mark.parametrize("width", WIDTHS)
def test_the_gp_sends_a_referral_and_writes_about_it(demo: Members, day, width: int) -> None:
    me = day("dr.martin", width)
    page = me.page
    me.check("accueil")
    expect(page.locator("#dashboard")).to_be_visible()

    page.get_by_role("link", name="Nouvelle fiche d'entrée").first.click()
    page.wait_for_url("**/liaison/nouvelle/")
    me.check("nouvelle fiche")
    # An empty "Envoyer" creates nothing and says so in French.
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_text("La fiche est vide")).to_be_visible()
    assert not LiaisonSheet.objects.exists()
    me.check("nouvelle fiche refusée")

    fill_urgent_cardiology_referral(page)
    page.get_by_label("Aucune allergie connue").check()
    page.get_by_label("Julie Petit").check()
    page.get_by_role("button", name="Envoyer").click()
    # What is missing is named in words, never by its key (`medications`).
    expect(page.locator(".error-box")).to_contain_text("Traitements en cours")
    assert "medications" not in page.locator(".error-box").inner_text()
    me.check("fiche incomplète")
    page.locator("[data-add=medications]").click()
    page.locator("input[name='medications-0-name']").fill("Furosémide")
    page.locator("input[name='medications-0-dose']").fill("40 mg")
    page.get_by_role("button", name="Envoyer").click()
    expect(page.locator("#sheet-status")).to_have_text("Envoyée")
    assert LiaisonSheet.objects.get().status == "sent"
    # The sheet's history reads in French: who did what, never `send → sent`.
    expect(page.locator("#timeline")).to_contain_text("Claire Martin")
    expect(page.locator("#timeline")).to_contain_text("Envoyée")
    me.check("fiche envoyée")

    page.get_by_role("link", name="Écrire à propos de cette fiche").click()
    page.wait_for_url("**/messagerie/nouvelle/**")
    expect(page.get_by_label("Objet")).to_have_value(re.compile(r"^À propos : "))
    me.check("message à propos de la fiche")
    me.done()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_secretary_triages_acknowledges_accepts_and_files(
    demo: Members, day, width: int
) -> None:
    referral(demo, OTHER)  # routine, just sent
    late = referral(demo, PATIENT)
    LiaisonSheet.objects.filter(pk=late.pk).update(sent_at=now() - timedelta(days=3, hours=1))

    me = day("hop.cardio2", width)  # Nadia Garnier, the service's medical secretary
    page = me.page
    me.check("accueil")
    page.goto(f"{me.base}/liaison/")
    me.check("à traiter")
    first = page.locator("#worklist tbody tr").first
    expect(first).to_contain_text("GARÇON Noël")
    expect(first).to_contain_text(re.compile(r"en retard de \d+ jours?"))

    first.get_by_role("link", name="GARÇON Noël").click()
    me.check("fiche reçue")
    page.get_by_role("button", name="Accuser réception").click()
    expect(page.locator("#sheet-status")).to_have_text("Réception accusée")
    page.get_by_label("Date d'admission ou de rendez-vous").fill(
        (localdate() + timedelta(days=2)).isoformat()
    )
    page.get_by_role("button", name="Accepter").click()
    expect(page.locator("#sheet-status")).to_have_text("Acceptée")
    me.check("fiche acceptée")
    page.locator("#filing").get_by_role("button", name="Classer").click()
    page.wait_for_load_state("load")
    assert SheetFiling.objects.filter(sheet=late, member=demo["hop.cardio2"]).exists()

    me.visit("à traiter", "/liaison/")
    expect(page.locator("#worklist")).not_to_contain_text("GARÇON")
    expect(page.locator("#worklist")).to_contain_text("PETITJEAN")
    page.get_by_role("link", name="Classées").click()
    expect(page.locator("#worklist")).to_contain_text("GARÇON Noël")
    me.check("classées")
    me.done()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_ward_doctor_writes_and_sends_the_discharge_letter(
    demo: Members, day, width: int
) -> None:
    sheet = referral(demo, PATIENT)
    transitions.transition_referral(
        actor=demo["hop.cardio"], sheet=sheet, action="accept",
        planned_date=localdate() - timedelta(days=3),
    )  # fmt: skip

    me = day("hop.cardio", width)  # Dr Sophie Lambert, cardiologist on the ward
    page = me.page
    me.visit("fiche acceptée", f"/liaison/{sheet.code}/")
    page.get_by_role("button", name="Rédiger la lettre de sortie").click()
    page.wait_for_url("**/modifier/")
    signing = page.get_by_label("Médecin signataire et contact")
    expect(signing).to_have_value(re.compile(r"^Dr Sophie Lambert"))
    me.check("lettre de sortie")

    page.get_by_role("button", name="Envoyer").click()
    summary = page.locator(".error-box")
    expect(summary).to_contain_text("Date de sortie")
    text = summary.inner_text()
    assert "discharge_date" not in text, text
    assert "[0]" not in text, text
    me.check("lettre de sortie incomplète")

    page.get_by_label("Date de sortie").fill((localdate() - timedelta(days=1)).isoformat())
    page.get_by_label("Mode de sortie").select_option("home")
    page.get_by_label("Synthèse médicale du séjour").fill("Évolution favorable.")
    for name in ("mdro_search_done", "transfusion", "blood_derivatives"):
        page.locator(f"input[name={name}][value=false]").check()
    page.locator("input[name='discharge_medications-0-long_term']").check()
    page.get_by_role("button", name="Envoyer").click()
    expect(page.locator("#sheet-status")).to_have_text("Envoyée")
    expect(page.locator("#section-medications")).to_contain_text("au long cours")
    letter = LiaisonSheet.objects.get(kind="discharge")
    assert letter.content["discharge_medications"][0]["long_term"] is True
    me.check("lettre de sortie envoyée")
    me.done()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("username", ["ide.petit", "pharma.durand"])
def test_the_nurse_and_the_pharmacist_read_the_letter_from_the_bell(
    demo: Members, day, username: str, width: int
) -> None:
    sheet = referral(demo, PATIENT)
    cardio = demo["hop.cardio"]
    transitions.transition_referral(
        actor=cardio, sheet=sheet, action="accept", planned_date=localdate() - timedelta(days=5)
    )
    letter = discharge.start_discharge_letter(actor=cardio, referral=sheet)
    today = localdate()
    letter = drafts.update_draft(
        actor=cardio, sheet=letter, expected_version=letter.version,
        content={
            "discharge_date": (today - timedelta(days=1)).isoformat(), "exit_mode": "home",
            "stay_summary": "Évolution favorable.", "mdro_search_done": False,
            "transfusion": False, "blood_derivatives": False,
            "discharge_medications": [
                {"name": "Furosémide", "dose": "40 mg", "duration": "1 mois"},
                {"name": "Apixaban", "dose": "5 mg", "long_term": True},
            ],
        },
    )  # fmt: skip
    letter = transitions.send_sheet(actor=cardio, sheet=letter)
    member = demo[username]
    about_letter = Notification.objects.filter(recipient=member, read_at__isnull=True)
    assert about_letter.exists()

    me = day(username, width)
    page = me.page
    before = bell_count(page)
    assert before >= 1
    me.check("accueil")
    if width < 900:  # on a phone the bell sits in the folded menu
        page.get_by_role("button", name="Menu").click()
    page.locator(".notifications-menu summary").click()
    panel = page.locator(".notifications-panel")
    expect(panel).to_be_visible()
    me.check("cloche ouverte")
    panel.locator("li.unread a").first.click()
    page.wait_for_url(f"**/liaison/{letter.code}/")
    expect(page.locator("#section-medications")).to_contain_text("Furosémide")
    expect(page.locator("#section-medications")).to_contain_text("au long cours")
    me.check("lettre de sortie")
    page.reload()
    assert bell_count(page) < before
    assert letter.participants.get(member=member).read_at is not None
    me.done()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_coordinator_keeps_the_directory_and_reads_the_indicators(
    demo: Members, day, width: int
) -> None:
    me = day("coord", width)
    page = me.page
    me.visit("annuaire", "/annuaire/")
    page.get_by_role("link", name="Ajouter un membre").click()
    page.wait_for_url("**/annuaire/membres/nouveau/")
    expect(page.get_by_label("Nom", exact=True)).to_be_visible()
    me.check("nouveau membre")
    me.visit("indicateurs", "/indicateurs/")
    expect(page.locator("h1")).to_contain_text("Indicateurs")
    me.done()
