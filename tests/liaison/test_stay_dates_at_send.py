"""A sent discharge letter reports a stay that happened (issue #15, §1 "Stay dates").

A draft may carry a planned discharge date (the letter is prepared before the patient
leaves), but sending it states a done fact: a future admission or discharge date, or a
discharge before the admission, is a 400 naming the field at send, in French. A draft
saved before a rule existed is judged again when it is sent, and so is its identity.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils.timezone import localdate

from liaison.models import LiaisonSheet
from tests.liaison.conftest import discharge_content

pytestmark = pytest.mark.django_db
API = "/api/v1/liaison-sheets/"
FUTURE_WORDS = "ne peut être dans le futur (une lettre de sortie rapporte un séjour qui a eu lieu)."


@pytest.fixture
def cardio(client_for, demo):
    return client_for(demo["hop.cardio"])


@pytest.fixture
def letter(cardio, make_referral) -> dict:
    """A discharge letter draft answering dr.martin's referral, every field filled."""
    referral = make_referral()
    started = cardio.post(f"{API}{referral.code}/discharge/").json()
    saved = cardio.patch(
        f"{API}{started['id']}/", discharge_content(), format="json", HTTP_IF_MATCH='"1"'
    )
    assert saved.status_code == 200, saved.json()
    return saved.json()


def save(cardio, letter: dict, **content) -> None:
    response = cardio.patch(
        f"{API}{letter['id']}/", content, format="json", HTTP_IF_MATCH=f'"{letter["version"]}"'
    )
    assert response.status_code == 200, response.json()  # a draft may hold a planned date


def test_a_future_discharge_date_is_saved_in_a_draft_but_not_sent(cardio, letter) -> None:
    tomorrow = (localdate() + timedelta(days=1)).isoformat()
    save(cardio, letter, discharge_date=tomorrow)
    response = cardio.post(f"{API}{letter['id']}/send/")
    assert response.status_code == 400
    assert response.json() == {"discharge_date": [f"Date de sortie : {FUTURE_WORDS}"]}
    assert LiaisonSheet.objects.get(code=letter["id"]).status == LiaisonSheet.Status.DRAFT


def test_a_future_admission_date_is_not_sent(cardio, letter) -> None:
    tomorrow = (localdate() + timedelta(days=1)).isoformat()
    save(cardio, letter, admission_date=tomorrow, discharge_date=tomorrow)
    response = cardio.post(f"{API}{letter['id']}/send/")
    assert response.status_code == 400
    assert response.json() == {
        "admission_date": [f"Date d'entrée : {FUTURE_WORDS}"],
        "discharge_date": [f"Date de sortie : {FUTURE_WORDS}"],
    }


def test_a_stay_that_ends_today_is_sent(cardio, letter) -> None:
    save(cardio, letter, discharge_date=localdate().isoformat())
    assert cardio.post(f"{API}{letter['id']}/send/").status_code == 200


def test_a_discharge_before_the_admission_is_not_sent(cardio, letter) -> None:
    """Drafts refuse it since the liaison issue; one stored otherwise is refused at send."""
    sheet = LiaisonSheet.objects.get(code=letter["id"])
    sheet.content = {
        **sheet.content,
        "admission_date": "2026-11-09",
        "discharge_date": "2026-11-02",
    }
    sheet.save(update_fields=["content"])
    response = cardio.post(f"{API}{letter['id']}/send/")
    assert response.status_code == 400
    assert response.json() == {
        "discharge_date": ["Date de sortie : la sortie ne peut précéder l'entrée."]
    }


def test_an_identity_stored_before_the_rniv_rules_is_judged_at_send(
    client_for, demo, make_referral
) -> None:
    draft = make_referral(send=False)
    draft.patient = {**draft.patient, "sex": "M"}  # the test INS says a woman
    draft.save(update_fields=["patient"])
    response = client_for(demo["dr.martin"]).post(f"{API}{draft.code}/send/")
    assert response.status_code == 400
    assert "Sexe du patient : ne concorde pas avec l'INS" in " ".join(
        response.json()["patient.sex"]
    )
