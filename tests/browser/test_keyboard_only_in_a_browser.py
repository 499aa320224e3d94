"""Keyboard only: a GP sends a referral and cancels it, with Tab, Enter and Space (and the
text typed into the fields), never the mouse. RGAA asks that the whole loop be usable so."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from directory.demo import load_directory
from liaison.models import LiaisonSheet, SheetEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MAX_TABS = 120


@pytest.fixture
def demo_cpts():
    return load_directory(password="demo")


def tab_to(page: Page, selector: str, *, backwards: bool = False) -> None:
    """Press Tab until the focus is on `selector`: reachable by the keyboard, in order."""
    for _ in range(MAX_TABS):
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"{selector} cannot be reached with Tab")


def type_into(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def type_date(page: Page, selector: str, iso: str) -> None:
    """Type a date into a date field segment by segment. Chromium orders the segments by its
    own interface language (en-US when headless here), not the page's: try month first,
    then, if the field read it otherwise, the French day first (Shift+Tab: first segment)."""
    year, month, day = iso.split("-")
    tab_to(page, selector)
    page.keyboard.type(month + day + year)
    if page.locator(selector).input_value() != iso:
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Shift+Tab")
        page.keyboard.type(day + month + year)
    expect(page.locator(selector)).to_have_value(iso)


def test_a_referral_is_sent_and_cancelled_with_the_keyboard_only(
    demo_cpts, signed_in, live_server, page: Page
) -> None:
    signed_in("dr.martin")
    page.goto(f"{live_server.url}/liaison/nouvelle/")

    # A select is chosen by typing the start of its option, as a keyboard user does.
    type_into(page, "[name=recipient_organisation]", "Centre hospitalier de Gien — Card")
    expect(page.locator("[name=recipient_organisation]")).to_have_value(
        str(demo_cpts["hop.cardio"].organisations.get().code)
    )
    type_into(page, "[name='patient.birth_family_name']", "Lefèvre")
    type_into(page, "[name='patient.given_names']", "Éloïse")
    type_date(page, "[name='patient.birth_date']", "1979-03-15")
    type_into(page, "[name='patient.sex']", "Fé")
    type_into(page, "[name=urgency]", "Urgente")
    type_into(page, "[name=reason]", "Dyspnée d'effort")
    tab_to(page, "[name=medications_none]")
    page.keyboard.press("Space")
    tab_to(page, "[name=allergies_none_known]")
    page.keyboard.press("Space")
    tab_to(page, "button[name=send]")
    page.keyboard.press("Enter")

    expect(page.locator("#sheet-status")).to_have_text("Envoyée")
    sheet = LiaisonSheet.objects.get(kind="referral")
    assert sheet.status == "sent"
    assert sheet.patient["sex"] == "F"
    assert sheet.content["urgency"] == "urgent"

    # The destructive action opens its confirmation in a dialog; Escape leaves it untouched.
    cancel = "a[href$='/action/cancel/']"
    tab_to(page, cancel)
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Annuler la demande ?")
    expect(page.locator("#confirm-note")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator(cancel)).to_be_focused()
    sheet.refresh_from_db()
    assert sheet.status == "sent"

    # Again, with the reason the service will read, confirmed with Space on the button.
    page.keyboard.press("Enter")
    expect(page.locator("#confirm-note")).to_be_focused()
    page.keyboard.type("Bilan fait en ville")
    tab_to(page, "dialog .confirm-submit")
    page.keyboard.press("Space")

    expect(page.locator("#sheet-status")).to_have_text("Annulée")
    expect(page.locator("#timeline")).to_contain_text("Bilan fait en ville")
    sheet.refresh_from_db()
    assert sheet.status == "cancelled"
    assert SheetEvent.objects.get(sheet=sheet, action="cancel").note == "Bilan fait en ville"
