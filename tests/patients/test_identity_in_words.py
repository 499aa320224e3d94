"""The identity status reads as words on every page (Provisoire, Récupérée, Validée,
Qualifiée), never as its code, and the INS shows only with a qualified identity."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from messaging.services import conversations
from tests.patients.test_identity_coherence import QUALIFIED, VALIDATED

pytestmark = pytest.mark.django_db
CODES = re.compile(r"\b(PROV|RECUP|VALI|QUAL)\b")


def page(client: Client, member, url: str) -> str:
    client.force_login(member.user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def identity_card(html: str) -> str:
    return html.split('class="card identity"', 1)[1].split("</section>", 1)[0]


@pytest.mark.parametrize(
    ("patient", "words"),
    [
        (
            {
                "birth_family_name": "Cœur",
                "given_names": "Françoise",
                "birth_date": "1936-07-02",
                "sex": "F",
            },
            "Provisoire",
        ),
        ({**VALIDATED, "identity_status": "RECUP"}, "Récupérée"),
        (VALIDATED, "Validée"),
        (QUALIFIED, "Qualifiée"),
    ],
)
def test_the_sheet_page_names_the_identity_status_in_words(
    client: Client, demo, make_referral, patient, words: str
) -> None:
    sheet = make_referral(patient=patient)
    html = page(client, demo["dr.martin"], f"/liaison/{sheet.code}/")
    card = identity_card(html)
    assert f"Identité : {words}" in card
    assert not CODES.search(html)
    assert ("INS 279035121518989" in card) == (words == "Qualifiée")
    assert "— F<" not in card
    assert "Féminin" in card or "Masculin" in card


def test_the_sheet_page_shows_the_points_to_check(client: Client, demo, make_referral) -> None:
    sheet = make_referral(patient={**QUALIFIED, "birth_place_insee": "45155"})
    card = identity_card(page(client, demo["dr.martin"], f"/liaison/{sheet.code}/"))
    assert "À vérifier : le lieu de naissance (45155) diffère de celui" in card


def test_the_draft_form_shows_the_points_to_check(client: Client, demo, make_referral) -> None:
    sheet = make_referral(send=False, patient={**QUALIFIED, "birth_place_insee": "45155"})
    html = page(client, demo["dr.martin"], f"/liaison/{sheet.code}/modifier/")
    assert "À vérifier : le lieu de naissance (45155)" in html


def test_the_conversation_page_names_the_identity_status_in_words(client: Client, demo) -> None:
    conversation = conversations.start_conversation(
        actor=demo["dr.martin"],
        subject="Retour à domicile",
        participants=[demo["pharma.durand"]],
        patient={**VALIDATED, "identity_status": "PROV"},
    )
    html = page(client, demo["dr.martin"], f"/messagerie/{conversation.code}/")
    facts = html.split('class="card conversation-facts"', 1)[1].split("</section>", 1)[0]
    assert "identité provisoire" in facts
    assert not CODES.search(facts)
