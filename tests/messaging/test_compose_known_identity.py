"""The composer starts a message from a patient the member already wrote about.

"Reprendre l'identité d'un patient" is the new referral's lookup (liaison's one
`identity_lookup`): the identity of the most recent sheet the member sees, found by INS or by
birth name with the birth date, prefills the composer's patient block; a sheet the member does
not see gives nothing; every search is audited as a list read, without the values searched.
"""

from __future__ import annotations

import pytest

from security.models import AuditEntry
from tests.liaison.conftest import TEST_INS

pytestmark = pytest.mark.django_db
URL = "/messagerie/nouvelle/"


def _page(client, member, **query) -> str:
    client.force_login(member.user)
    response = client.get(URL, query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_composer_offers_the_lookup(client, demo) -> None:
    html = _page(client, demo["dr.martin"])
    assert "<summary>Reprendre l'identité d'un patient</summary>" in html
    assert 'name="patient.given_names" value=""' in html


@pytest.mark.parametrize(
    "query",
    [
        {"ins": "2 79 03 51 215 189 89"},
        {"family_name": "Lefèvre", "birth_date": "1979-03-15"},
        {"family_name": "MOREAU", "birth_date": "1979-03-15"},
    ],
)
def test_a_visible_sheet_prefills_the_patient_block(client, demo, make_referral, query) -> None:
    sheet = make_referral()
    html = _page(client, demo["dr.martin"], **query)
    assert "Identité reprise de la fiche du" in html
    assert sheet.created_at.strftime("%d/%m/%Y") in html
    assert 'id="p-given_names" name="patient.given_names" value="Éloïse Marie"' in html
    assert 'id="p-birth_date" name="patient.birth_date" value="1979-03-15"' in html
    assert 'id="p-birth_place_insee" name="patient.birth_place_insee" value="51215"' in html
    assert f'name="patient.ins" value="{TEST_INS}"' in html
    assert '<option value="QUAL" selected>' in html
    assert '<details class="patient" open>' in html


def test_a_sheet_the_member_cannot_see_gives_nothing(client, demo, make_referral) -> None:
    make_referral()
    for username in ("hop.urgences", "pharma.durand", "coord"):
        html = _page(client, demo[username], ins=TEST_INS)
        assert "Aucune fiche visible sur ce patient" in html, username
        assert "Éloïse" not in html, username
        assert "Lefèvre" not in html, username
    # The copied nurse sees the sheet: the same search finds the patient.
    assert "Éloïse Marie" in _page(client, demo["ide.petit"], ins=TEST_INS)


def test_a_name_without_its_birth_date_asks_for_it(client, demo, make_referral) -> None:
    make_referral()
    before = AuditEntry.objects.filter(action="liaison_sheet.list").count()
    html = _page(client, demo["dr.martin"], family_name="Lefèvre")
    assert "La recherche par nom se fait avec la date de naissance." in html
    assert "Éloïse" not in html
    assert AuditEntry.objects.filter(action="liaison_sheet.list").count() == before


def test_the_search_is_audited_without_the_values_searched(client, demo, make_referral) -> None:
    make_referral()
    _page(client, demo["dr.martin"], family_name="Lefèvre", birth_date="1979-03-15")
    entry = AuditEntry.objects.filter(action="liaison_sheet.list").last()
    assert entry is not None
    assert entry.actor_id == demo["dr.martin"].pk
    assert entry.extra["source"] == "web_compose_known_identity"
    assert entry.extra["patient_search"] == ["family_name", "birth_date"]
    assert "Lef" not in str(entry.extra)
    assert "1979" not in str(entry.extra)


def test_the_lookup_keeps_the_page_s_fiche_parameter(client, demo) -> None:
    # A sheet the member cannot see (here: none) leaves the composer blank, fiche kept.
    html = _page(client, demo["dr.martin"], fiche="not-a-sheet")
    assert '<input type="hidden" name="fiche" value="not-a-sheet">' in html


def test_a_composer_about_a_sheet_has_no_lookup(client, demo, make_referral) -> None:
    sheet = make_referral()
    html = _page(client, demo["dr.martin"], fiche=str(sheet.code), ins=TEST_INS)
    assert "identity-lookup" not in html
    assert not AuditEntry.objects.filter(
        action="liaison_sheet.list", extra__source="web_compose_known_identity"
    ).exists()
