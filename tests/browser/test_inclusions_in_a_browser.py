"""A délégué includes a patient in a protocol and records their exit, on a desktop and on a
phone (360 px), with axe on every page: the D4011-4-2 "patients inclus" (#16)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from directory.demo import load_directory
from protocols.demo import load_protocols
from protocols.models import Inclusion, Protocol
from tests.browser.reading import problems_on

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1366, 360], ids=["desktop", "phone"])
def test_a_delegate_includes_a_patient_and_records_the_exit(
    width: int, signed_in, live_server
) -> None:
    members = load_directory(password="demo")
    load_protocols(members)
    protocol = Protocol.objects.get(reference="NAT-CYSTITE")
    page = signed_in("ide.petit")
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/protocoles/{protocol.code}/")
    section = page.locator("#inclusions")
    expect(section.locator("#inclusion-counts")).to_contain_text("3 patients inclus")
    expect(section.locator("#my-inclusions")).to_contain_text("MOREL Anne")
    expect(section).not_to_contain_text("VIDAL")  # the pharmacist's patient: counts only
    assert problems_on(page) == []

    section.get_by_role("link", name="Inclure un patient").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inclure un patient")
    assert problems_on(page) == []
    page.get_by_label("Nom de naissance").fill("Girard")
    page.get_by_label("Date de naissance").fill("1960-02-14")
    page.get_by_role("button", name="Inclure ce patient").click()
    expect(page.locator("#err-p-given_names")).to_contain_text("Obligatoire pour inclure")
    expect(page.locator("#err_consent")).to_be_visible()
    expect(page.get_by_label("Nom de naissance")).to_have_value("Girard")  # nothing lost
    assert problems_on(page) == []

    page.get_by_label("Prénoms de naissance").fill("Paul")
    page.get_by_label("J'ai informé le patient du protocole").check()
    page.get_by_role("button", name="Inclure ce patient").click()
    expect(page.locator("#my-inclusions")).to_contain_text("GIRARD Paul")
    expect(page.locator("#inclusion-counts")).to_contain_text("4 patients inclus")
    assert problems_on(page) == []

    page.locator("#my-inclusions tr", has_text="GIRARD Paul").get_by_role(
        "link", name="Sortie du protocole"
    ).click()
    expect(page.locator("#included-patient")).to_contain_text("GIRARD")
    assert problems_on(page) == []
    page.get_by_label("Motif de sortie").select_option("referred")
    page.get_by_role("button", name="Enregistrer la sortie").click()
    expect(page.locator("#my-inclusions tr", has_text="GIRARD Paul")).to_contain_text(
        "Réorienté vers le médecin délégant"
    )
    assert problems_on(page) == []
    girard = Inclusion.objects.get(included_by=members["ide.petit"], end_reason="referred")
    assert girard.patient["given_names"] == "Paul"
