"""Issue #20's "Done when" in a real browser: the coordinator creates the annual day with three
sessions and a monthly social-worker permanence at the MSP, members register (one lands on the
waiting list), the day comes, each participant scans the QR code (opens its check-in URL,
logged in), three answer the survey, and the indicators page shows the counts and the
satisfaction. Every page passes axe-core (no serious or critical violation) and fits the
screen, at desktop width and, for the pages a participant uses, on a phone.

The clock is moved with time-machine (the live server runs in this process, so it moves for
it too); each persona logs in again after a move, as a session would have expired anyway.
"""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from playwright.sync_api import Page, expect

from directory.demo import load_directory
from events.models import Event, Registration, SurveyAnswer
from tests.browser.reading import assert_reads_well

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DAY = "2027-06-17"
ROUND_TABLE = "Table ronde : précarité et accès aux soins"


@pytest.fixture
def demo_cpts():
    return load_directory(password="demo")


def fill_event(
    page: Page, *, title: str, day: str, start: str, end: str, capacity: str = ""
) -> None:
    page.get_by_label("Titre").fill(title)
    page.get_by_label("Date de début").fill(day)
    page.get_by_label("Heure de début").fill(start)
    page.get_by_label("Date de fin").fill(day)
    page.get_by_label("Heure de fin").fill(end)
    page.get_by_label("Lieu").fill("Centre culturel, Gien")
    if capacity:
        page.get_by_label("Nombre de places (vide : sans limite)").fill(capacity)


def test_the_annual_day_from_creation_to_indicators(
    demo_cpts, signed_in, live_server: Any, page: Page
) -> None:
    traveller = time_machine.travel("2027-05-02T10:00:00+02:00", tick=True)
    clock = traveller.start()
    try:
        page.set_viewport_size({"width": 1366, "height": 900})
        signed_in("coord")
        page.goto(f"{live_server.url}/agenda/")
        assert_reads_well(page)
        page.get_by_role("link", name="Nouvel événement").click()
        page.wait_for_url("**/agenda/nouveau/")
        assert_reads_well(page)
        page.get_by_label("Type").select_option("annual_day")
        fill_event(page, title="Journée annuelle de médecine générale", day=DAY,
                   start="09:00", end="17:00", capacity="100")  # fmt: skip
        page.get_by_label("Ouvert au public (agenda public et inscription sans compte)").check()
        page.get_by_role("button", name="Enregistrer").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Journée annuelle de médecine générale"
        )
        day_url = page.url
        for title, start, end, capacity in [
            ("Plénière : le projet de santé", "09:00", "10:30", "100"),
            (ROUND_TABLE, "11:00", "12:30", "3"),
            ("Atelier : retour à domicile", "14:00", "16:00", "20"),
        ]:
            page.goto(day_url)
            page.get_by_role("link", name="Ajouter une session").click()
            fill_event(page, title=title, day=DAY, start=start, end=end, capacity=capacity)
            page.get_by_role("button", name="Enregistrer").click()
            expect(page.locator("#sessions")).to_contain_text(title)
        assert_reads_well(page)

        page.goto(f"{live_server.url}/agenda/nouveau/")
        page.get_by_label("Type").select_option("permanence")
        fill_event(page, title="Permanence de l'assistante sociale", day="2027-05-11",
                   start="14:00", end="17:00")  # fmt: skip
        page.get_by_label("Structure d'accueil").select_option(label="MSP des Tilleuls")
        page.get_by_label("Lieu").fill("MSP des Tilleuls, bureau 2")
        page.get_by_label("Répétition").select_option("monthly")
        page.get_by_label("Nombre de dates").fill("6")
        page.get_by_role("button", name="Enregistrer").click()
        expect(page.locator("#occurrences li")).to_have_count(6)
        page.context.clear_cookies()

        people = ["dr.martin", "ide.petit", "as.moreau", "dr.leroy"]
        for name in people:
            signed_in(name)
            page.goto(day_url)
            page.get_by_role("button", name=f"S'inscrire à {ROUND_TABLE}").click()
            expect(page.locator(".messages")).to_be_visible()
            page.context.clear_cookies()
        round_table = Event.objects.get(title=ROUND_TABLE)
        statuses = dict(
            Registration.objects.filter(event=round_table).values_list(
                "member__user__username", "status"
            )
        )
        assert statuses == {"dr.martin": "registered", "ide.petit": "registered",
                            "as.moreau": "registered", "dr.leroy": "waitlisted"}  # fmt: skip
        expect(page.locator("body")).to_be_visible()

        clock.move_to(f"{DAY}T11:05:00+02:00")
        signed_in("coord")
        page.goto(f"{live_server.url}/agenda/{round_table.code}/")
        page.get_by_role("link", name="QR code de présence").click()
        expect(page.locator("#check-in-qr svg")).to_be_visible()
        assert_reads_well(page)
        check_in_url = page.locator("#check-in-link").get_attribute("href")
        assert check_in_url is not None
        page.context.clear_cookies()
        for name in people[:3]:
            signed_in(name)
            page.set_viewport_size({"width": 360, "height": 800})
            page.goto(check_in_url)
            assert_reads_well(page)
            page.get_by_role("button", name="Je suis présent").click()
            expect(page.locator(".messages")).to_contain_text("Votre présence est enregistrée")
            page.set_viewport_size({"width": 1366, "height": 900})
            page.context.clear_cookies()

        clock.move_to(f"{DAY}T18:00:00+02:00")
        for index, name in enumerate(people[:3]):
            signed_in(name)
            page.set_viewport_size({"width": 360, "height": 800})
            page.goto(f"{live_server.url}/agenda/{round_table.code}/")
            page.get_by_role("link", name="Donner mon avis (anonyme)").click()
            page.wait_for_url("**/questionnaire/")
            assert_reads_well(page)
            for question in ("usefulness", "organisation", "exchanges", "practice"):
                page.locator(f"#q-{question}-{3 + index}").check()
            page.get_by_role("button", name="Envoyer ma réponse").click()
            expect(page.locator(".messages")).to_contain_text("Merci pour votre réponse.")
            page.set_viewport_size({"width": 1366, "height": 900})
            page.context.clear_cookies()
        assert SurveyAnswer.objects.filter(event=round_table, member__isnull=True).count() == 3

        signed_in("coord")
        page.goto(f"{live_server.url}/agenda/{round_table.code}/resultats/")
        expect(page.locator("#attended-count")).to_have_text("3")
        expect(page.locator("#survey-table")).to_contain_text("4,0")
        assert_reads_well(page)
        page.goto(f"{live_server.url}/indicateurs/?from=2027-06-01&to=2027-06-30")
        expect(page.locator("#health-social-total")).to_have_text("1")
        expect(page.locator("#attended-total")).to_have_text("3")
        expect(page.locator("#events-satisfaction")).to_contain_text("4,0")
        assert_reads_well(page)
    finally:
        traveller.stop()
