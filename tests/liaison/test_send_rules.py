"""The "required to send" rules of the discharge letter's recipients (DOMAIN.md Part A)."""

from __future__ import annotations

import pytest

from liaison.models import LiaisonSheet
from tests.liaison.conftest import discharge_content

pytestmark = pytest.mark.django_db
API = "/api/v1/liaison-sheets/"


def started_letter(client, referral: LiaisonSheet) -> tuple[str, str]:
    response = client.post(f"{API}{referral.code}/discharge/")
    assert response.status_code == 201, response.json()
    return response.json()["id"], response["ETag"]


def test_a_letter_answering_a_referral_must_be_sent_to_the_referring_doctor(
    client_for, demo, make_referral
) -> None:
    cardio = client_for(demo["hop.cardio"])
    code, etag = started_letter(cardio, make_referral())
    edited = cardio.patch(
        f"{API}{code}/",
        {**discharge_content(), "recipients": [str(demo["ide.petit"].code)]},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert edited.status_code == 200, edited.json()

    response = cardio.post(f"{API}{code}/send/")

    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == ["recipients"]
    assert "médecin adresseur" in errors["recipients"][0]
    assert LiaisonSheet.objects.get(code=code).status == LiaisonSheet.Status.DRAFT


def test_the_referring_doctor_among_others_is_enough(client_for, demo, make_referral) -> None:
    cardio = client_for(demo["hop.cardio"])
    code, etag = started_letter(cardio, make_referral())  # prefilled: dr.martin, ide.petit
    cardio.patch(f"{API}{code}/", discharge_content(), format="json", HTTP_IF_MATCH=etag)

    assert cardio.post(f"{API}{code}/send/").status_code == 200


def test_the_missing_referring_doctor_is_listed_with_every_other_missing_field(
    client_for, demo, make_referral
) -> None:
    cardio = client_for(demo["hop.cardio"])
    code, etag = started_letter(cardio, make_referral())
    cardio.patch(
        f"{API}{code}/",
        {"recipients": [str(demo["pharma.durand"].code)]},
        format="json",
        HTTP_IF_MATCH=etag,
    )

    errors = cardio.post(f"{API}{code}/send/").json()

    assert {"recipients", "discharge_date", "stay_summary"} <= set(errors)
    assert "hospital_contact" not in errors  # the doctor who started it signs it (prefilled)


def test_a_letter_without_referral_needs_only_one_recipient(client_for, demo) -> None:
    cardio = client_for(demo["hop.cardio"])
    patient = {"birth_family_name": "Nguyen", "given_names": "Thi Hoa",
               "birth_date": "1958-05-30", "sex": "F"}  # fmt: skip
    created = cardio.post(
        API,
        {"kind": "discharge", "patient": patient, **discharge_content(), "recipients": []},
        format="json",
    )
    assert created.status_code == 201, created.json()
    code = created.json()["id"]
    # The API keeps the machine key and names the field in words in the message.
    refused = cardio.post(f"{API}{code}/send/").json()
    assert refused["recipients"] == ["Destinataires : obligatoire pour envoyer."]

    cardio.patch(
        f"{API}{code}/",
        {"recipients": [str(demo["dr.bernard"].code)]},
        format="json",
        HTTP_IF_MATCH=created["ETag"],
    )
    assert cardio.post(f"{API}{code}/send/").status_code == 200
