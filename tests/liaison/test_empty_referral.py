"""An empty new referral creates nothing: each empty "Envoyer" used to leave a blank draft."""

from __future__ import annotations

import pytest
from django.test import Client

from liaison.models import LiaisonSheet

pytestmark = pytest.mark.django_db

# What the empty form posts: blank inputs, the default selects, unanswered yes/no questions.
EMPTY_FORM = {
    "recipient_organisation": "",
    "patient.birth_family_name": "",
    "patient.given_names": "",
    "patient.birth_date": "",
    "patient.sex": "",
    "patient.identity_status": "PROV",
    "urgency": "",
    "reason": "",
    "medications-0-name": "",
    "social_context.lives_alone": "",
}


@pytest.mark.parametrize("button", ["send", "save"])
def test_an_empty_form_creates_no_draft_and_says_why(client: Client, demo, button) -> None:
    client.force_login(demo["dr.martin"].user)
    response = client.post("/liaison/nouvelle/", {**EMPTY_FORM, button: "1"})
    assert response.status_code == 400
    assert "La fiche est vide" in response.content.decode()
    assert not LiaisonSheet.objects.exists()


def test_an_empty_autosave_answers_400_in_json(client: Client, demo) -> None:
    client.force_login(demo["dr.martin"].user)
    response = client.post(
        "/liaison/nouvelle/", {**EMPTY_FORM, "save": "1"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    assert "La fiche est vide" in response.json()["detail"]
    assert not LiaisonSheet.objects.exists()


def test_one_typed_field_is_enough_for_a_draft(client: Client, demo) -> None:
    client.force_login(demo["dr.martin"].user)
    response = client.post("/liaison/nouvelle/", {**EMPTY_FORM, "reason": "Dyspnée", "save": "1"})
    assert response.status_code == 302
    assert LiaisonSheet.objects.get().content["reason"] == "Dyspnée"


def test_the_api_refuses_an_empty_referral_too(client_for, demo) -> None:
    response = client_for(demo["dr.martin"]).post(
        "/api/v1/liaison-sheets/", {"kind": "referral", "patient": {}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "empty_draft"
    assert not LiaisonSheet.objects.exists()


def test_the_api_keeps_a_draft_that_names_its_service(client_for, demo, cardiologie) -> None:
    response = client_for(demo["dr.martin"]).post(
        "/api/v1/liaison-sheets/",
        {"kind": "referral", "recipient_organisation": str(cardiologie.code)},
        format="json",
    )
    assert response.status_code == 201
