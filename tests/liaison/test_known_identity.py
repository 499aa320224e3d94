"""Find a patient you already wrote about, and start a new document from their identity.

The identity comes from the most recent sheet the member already sees, found through the
blind indexes (INS, or a name with the birth date): nobody browses the CPTS's patients, so a
member who sees no sheet about the patient gets the same 404 as for a patient never seen.
"""

from __future__ import annotations

import pytest

from security.models import AuditEntry
from tests.liaison.conftest import TEST_INS

pytestmark = pytest.mark.django_db
URL = "/api/v1/liaison-sheets/known-identity/"


def test_the_author_finds_the_identity_by_ins_or_by_name_and_birth_date(
    client_for, demo, make_referral
) -> None:
    sheet = make_referral()
    gp = client_for(demo["dr.martin"])
    for query in (
        {"ins": "2 79 03 51 215 189 89"},
        {"family_name": "LEFEVRE", "birth_date": "1979-03-15"},
        {"family_name": "Moreau", "birth_date": "1979-03-15"},
    ):
        response = gp.get(URL, query)
        assert response.status_code == 200, response.json()
        assert response.json()["sheet"] == str(sheet.code)
        assert response.json()["patient"]["ins"] == TEST_INS
        assert response.json()["patient"]["given_names"] == "Éloïse Marie"
    entry = AuditEntry.objects.filter(action="liaison_sheet.list").last()
    assert entry is not None
    assert TEST_INS not in str(entry.extra)


def test_the_most_recent_visible_sheet_gives_the_identity(client_for, demo, make_referral) -> None:
    make_referral()
    newer = make_referral(reason="Contrôle")
    response = client_for(demo["dr.martin"]).get(URL, {"ins": TEST_INS})
    assert response.json()["sheet"] == str(newer.code)


def test_a_member_who_sees_no_sheet_about_the_patient_finds_nothing(
    client_for, demo, make_referral
) -> None:
    make_referral()
    for username in ("pharma.durand", "hop.urgences", "coord"):
        response = client_for(demo[username]).get(URL, {"ins": TEST_INS})
        assert response.status_code == 404, username
    # The recipient service and the copied nurse see the sheet, so they find the patient.
    for username in ("hop.cardio", "ide.petit"):
        assert client_for(demo[username]).get(URL, {"ins": TEST_INS}).status_code == 200


def test_a_search_names_a_patient(client_for, demo) -> None:
    gp = client_for(demo["dr.martin"])
    assert "ins" in gp.get(URL).json()
    assert "birth_date" in gp.get(URL, {"family_name": "Lefèvre"}).json()
    assert gp.get(URL, {"family_name": "Lefèvre", "birth_date": "1979-03-16"}).status_code == 404


def test_the_new_referral_form_takes_the_identity_back(client, demo, make_referral) -> None:
    make_referral()
    client.force_login(demo["dr.martin"].user)
    html = client.get("/liaison/nouvelle/", {"ins": TEST_INS}).content.decode()
    assert "Identité reprise de la fiche du" in html
    assert 'value="Éloïse Marie"' in html
    assert 'value="51215"' in html
    blank = client.get("/liaison/nouvelle/").content.decode()
    assert "Reprendre l&#x27;identité" in blank or "Reprendre l'identité" in blank
    assert 'value="Éloïse Marie"' not in blank


def test_the_new_referral_form_finds_nothing_the_member_does_not_see(
    client, demo, make_referral
) -> None:
    make_referral()
    client.force_login(demo["hop.urgences"].user)
    html = client.get(
        "/liaison/nouvelle/", {"family_name": "Lefèvre", "birth_date": "1979-03-15"}
    ).content.decode()
    assert "Aucune fiche visible sur ce patient" in html
    assert "Éloïse" not in html
