"""The coordinator keeps the directory from the pages, on a desktop and on a phone (#16).

Adds a member (RPPS refused with a wrong check digit, then accepted), deactivates them after
a confirmation, and reactivates them; every page passes axe and fits the screen.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from directory.demo import load_directory
from directory.identifiers import luhn_complete
from directory.models import Member
from tests.browser.reading import problems_on

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GOOD_RPPS = luhn_complete("3000000077")
BAD_RPPS = GOOD_RPPS[:-1] + str((int(GOOD_RPPS[-1]) + 1) % 10)


@pytest.mark.parametrize("width", [1366, 360], ids=["desktop", "phone"])
def test_the_coordinator_adds_deactivates_and_reactivates_a_member(
    width: int, signed_in, live_server
) -> None:
    load_directory(password="demo")
    page = signed_in("coord")
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/annuaire/")
    page.get_by_role("link", name="Ajouter un membre").click()
    page.wait_for_url("**/annuaire/membres/nouveau/")
    assert problems_on(page) == []

    page.get_by_label("Civilité").select_option("mme")
    page.get_by_label("Prénom").fill("Léa")
    page.get_by_label("Nom", exact=True).fill("Roux")
    page.get_by_label("Profession").select_option("infirmier")
    page.get_by_label("Numéro RPPS").fill(BAD_RPPS)
    page.get_by_label("Identifiant de connexion").fill("ide.roux")
    page.get_by_label("Structure d'exercice").select_option(label="MSP des Tilleuls")
    page.get_by_role("button", name="Ajouter ce membre").click()

    expect(page.locator("#err_rpps")).to_contain_text("clé de contrôle")
    expect(page.get_by_label("Prénom")).to_have_value("Léa")  # nothing typed is lost
    assert problems_on(page) == []

    page.get_by_label("Numéro RPPS").fill(GOOD_RPPS)
    page.get_by_role("button", name="Ajouter ce membre").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Léa Roux")
    expect(page.locator("dl.facts")).to_contain_text("Infirmière")
    assert problems_on(page) == []

    page.get_by_role("link", name="Désactiver…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Désactiver Léa Roux ?")
    assert problems_on(page) == []
    page.get_by_role("button", name="Oui, désactiver").click()
    expect(page.locator("#deactivated")).to_contain_text("Compte désactivé")
    assert not Member.objects.get(rpps=GOOD_RPPS).is_active
    assert problems_on(page) == []

    page.get_by_role("button", name="Réactiver ce membre").click()
    expect(page.locator("#deactivated")).to_have_count(0)
    assert Member.objects.get(rpps=GOOD_RPPS).is_active


@pytest.mark.parametrize("width", [1366, 360], ids=["desktop", "phone"])
def test_the_coordinator_changes_a_members_structures_and_roles(
    width: int, signed_in, live_server
) -> None:
    """Add a structure, change the role in it, end the first one after a confirmation."""
    members = load_directory(password="demo")
    nurse = members["ide.petit"]
    page = signed_in("coord")
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/annuaire/membres/{nurse.code}/modifier/")
    section = page.locator("#memberships")
    expect(section).to_contain_text("MSP des Tilleuls")
    expect(section.get_by_role("link", name="Retirer de cette structure")).to_have_count(0)
    assert problems_on(page) == []

    page.get_by_label("Structure", exact=True).select_option(label="Pharmacie de la Loire")
    page.get_by_role("button", name="Rattacher").click()
    expect(page.locator("#memberships")).to_contain_text("Pharmacie de la Loire")
    assert problems_on(page) == []

    page.get_by_label("Rôle dans Pharmacie de la Loire").select_option("admin")
    page.locator("#memberships tr", has_text="Pharmacie de la Loire").get_by_role(
        "button", name="Changer le rôle"
    ).click()
    expect(page.get_by_label("Rôle dans Pharmacie de la Loire")).to_have_value("admin")

    page.locator("#memberships tr", has_text="MSP des Tilleuls").get_by_role(
        "link", name="Retirer de cette structure"
    ).click()
    dialog = page.locator("dialog#confirm-dialog")
    expect(dialog).to_contain_text("Retirer Julie Petit de MSP des Tilleuls ?")
    assert problems_on(page) == []
    dialog.get_by_role("button", name="Oui, retirer de cette structure").click()
    expect(page.locator("#memberships tbody tr")).to_have_count(1)
    expect(page.locator("#memberships tbody")).not_to_contain_text("MSP des Tilleuls")
    assert problems_on(page) == []
    held = {m.organisation.name: m.role for m in nurse.memberships.select_related("organisation")}
    assert held == {"Pharmacie de la Loire": "admin"}
