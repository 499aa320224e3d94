"""Filling the new-referral page as a GP does: shared by the browser tests that send one."""

from __future__ import annotations

from playwright.sync_api import Page


def fill_urgent_cardiology_referral(page: Page) -> None:
    """Recipient, identity, urgency and reason of Éloïse Lefèvre's referral to cardiology."""
    page.get_by_label("Service hospitalier").select_option(
        label="Centre hospitalier de Gien — Cardiologie"
    )
    page.get_by_label("Nom de naissance").fill("Lefèvre")
    page.get_by_label("Prénoms de naissance").fill("Éloïse")
    page.get_by_label("Date de naissance").fill("1979-03-15")
    page.get_by_label("Sexe").select_option("F")
    page.locator("select[name=urgency]").select_option("urgent")
    page.locator("textarea[name=reason]").fill("Dyspnée d'effort")
