"""The identity's coherence, as the national identity-vigilance reference (RNIV) checks it.

Every rule is a 400 naming the field, in French, whichever app stores the identity (liaison
sheets and conversations both go through patients.identity.validated_patient) and whether
the identity arrives whole or one trait at a time (a PATCH is judged on the merged
identity). What the RNIV only asks to check is a warning that travels with the answer and
the page, never a refusal. DOMAIN.md Part C.2 states the rules.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils.timezone import localdate

from directory.identifiers import nir_key
from patients.identity import identity_errors
from tests.liaison.conftest import TEST_INS

pytestmark = pytest.mark.django_db
SHEETS = "/api/v1/liaison-sheets/"
CONVERSATIONS = "/api/v1/conversations/"
# The ANS test INS: woman (2), born in March (03) 1979 (79), in commune 51 215.
QUALIFIED = {
    "identity_status": "QUAL",
    "ins": TEST_INS,
    "birth_family_name": "Lefèvre",
    "given_names": "Éloïse Marie",
    "birth_date": "1979-03-15",
    "sex": "F",
    "birth_place_insee": "51215",
}
VALIDATED = {key: value for key, value in QUALIFIED.items() if key != "ins"} | {
    "identity_status": "VALI"
}


@pytest.fixture
def gp(client_for, demo):
    return client_for(demo["dr.martin"])


def create(client, patient: dict[str, Any]):
    return client.post(SHEETS, {"kind": "referral", "patient": patient}, format="json")


def refusal(response, field: str, *, labelled: bool = True) -> str:
    """The French message of a 400 that names `field` (by its key, and in words in the
    message: "Sexe du patient : ne concorde pas avec l'INS…"), without the field's name."""
    assert response.status_code == 400, response.json()
    body = response.json()
    assert field in body, body
    if not labelled:  # messaging has no catalogue of its fields yet
        return " ".join(body[field])
    reasons = [message.split(" : ", 1) for message in body[field]]
    assert all("patient" in label for label, _ in reasons), body
    return " ".join(reason[:1].upper() + reason[1:] for _, reason in reasons)


def test_a_coherent_qualified_identity_is_stored_without_warning(gp) -> None:
    response = create(gp, QUALIFIED)
    assert response.status_code == 201, response.json()
    assert response.json()["warnings"] == []
    assert response.json()["patient"]["birth_place_insee"] == "51215"


def test_a_birth_date_in_the_future_is_refused(gp) -> None:
    tomorrow = (localdate() + timedelta(days=1)).isoformat()
    message = refusal(create(gp, {"birth_date": tomorrow}), "patient.birth_date")
    assert "dans le futur" in message


def test_a_birth_date_before_1900_is_refused(gp) -> None:
    message = refusal(create(gp, {"birth_date": "1899-12-31"}), "patient.birth_date")
    assert "antérieure à 1900" in message
    assert create(gp, {"birth_date": "1900-01-01"}).status_code == 201


def test_a_qualified_identity_requires_an_ins(gp) -> None:
    patient = {key: value for key, value in QUALIFIED.items() if key != "ins"}
    message = refusal(create(gp, patient), "patient.ins")
    assert message == "Obligatoire pour une identité qualifiée."


@pytest.mark.parametrize("trait", ["birth_family_name", "given_names", "birth_date", "sex"])
@pytest.mark.parametrize("identity", [QUALIFIED, VALIDATED], ids=["QUAL", "VALI"])
def test_a_validated_or_qualified_identity_requires_the_strict_traits(
    gp, identity: dict[str, Any], trait: str
) -> None:
    patient = {key: value for key, value in identity.items() if key != trait}
    message = refusal(create(gp, patient), f"patient.{trait}")
    assert message.startswith("Obligatoire pour une identité ")


def test_a_validated_identity_requires_the_birth_place(gp) -> None:
    patient = {key: value for key, value in VALIDATED.items() if key != "birth_place_insee"}
    message = refusal(create(gp, patient), "patient.birth_place_insee")
    assert message == "Obligatoire pour une identité validée."
    # A provisional or recovered identity may lack it: nothing has been checked yet.
    for status in ("PROV", "RECUP"):
        assert create(gp, {**patient, "identity_status": status}).status_code == 201


def test_the_ins_sex_digit_agrees_with_the_sex(gp) -> None:
    message = refusal(create(gp, {**QUALIFIED, "sex": "M"}), "patient.sex")
    assert "Ne concorde pas avec l'INS" in message
    assert "féminin" in message
    # "Inconnu" is not a contradiction.
    assert create(gp, {**QUALIFIED, "sex": "U"}).status_code == 201


@pytest.mark.parametrize("birth_date", ["1979-04-15", "1980-03-15", "1879-03-15"])
def test_the_ins_year_and_month_agree_with_the_birth_date(gp, birth_date: str) -> None:
    message = refusal(create(gp, {**QUALIFIED, "birth_date": birth_date}), "patient.birth_date")
    assert "Ne concorde pas avec l'INS" in message or "1900" in message


def test_an_ins_whose_month_is_not_a_real_month_is_not_compared() -> None:
    """Months 20-42 or 50+ stand for an unknown month (DOMAIN.md C.2)."""
    body = "2793351215189"  # month 33: unknown
    ins = f"{body}{nir_key(body):02d}"
    assert identity_errors({**QUALIFIED, "ins": ins, "birth_date": "1979-07-01"}) == {}
    assert "birth_date" in identity_errors({**QUALIFIED, "birth_date": "1979-07-01"})


def test_a_patch_is_judged_on_the_merged_identity(gp) -> None:
    created = create(gp, QUALIFIED)
    url = f"{SHEETS}{created.json()['id']}/"
    wrong = gp.patch(url, {"patient": {"sex": "M"}}, format="json", HTTP_IF_MATCH='"1"')
    assert "Ne concorde pas avec l'INS" in refusal(wrong, "patient.sex")
    right = gp.patch(
        url, {"patient": {"used_family_name": "Moreau"}}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert right.status_code == 200, right.json()


@pytest.mark.parametrize("code", ["5121", "512155", "2C004", "00123", "20004", "51 21"])
def test_a_malformed_birth_place_code_is_refused(gp, code: str) -> None:
    patient = {"birth_family_name": "Garçon", "birth_place_insee": code}
    message = refusal(create(gp, patient), "patient.birth_place_insee")
    assert "Code INSEE du lieu de naissance invalide" in message


@pytest.mark.parametrize(
    ("code", "stored"),
    [("2A004", "2A004"), ("2b033", "2B033"), ("99134", "99134"), ("97411", "97411")],
)
def test_corsica_overseas_and_abroad_birth_places_are_accepted(gp, code: str, stored: str) -> None:
    response = create(gp, {"birth_family_name": "Garçon", "birth_place_insee": code})
    assert response.status_code == 201, response.json()
    assert response.json()["patient"]["birth_place_insee"] == stored


def test_a_birth_place_other_than_the_ins_one_is_a_warning_not_an_error(gp, client) -> None:
    response = create(gp, {**QUALIFIED, "birth_place_insee": "45155"})
    assert response.status_code == 201, response.json()
    warning = {
        "field": "patient.birth_place_insee",
        "message": "À vérifier : le lieu de naissance (45155) diffère de celui qu'indique "
        "l'INS (51215).",
    }
    assert response.json()["warnings"] == [warning]
    assert gp.get(f"{SHEETS}{response.json()['id']}/").json()["warnings"] == [warning]


def test_messaging_refuses_the_same_incoherent_identity(client_for, demo) -> None:
    client = client_for(demo["dr.martin"])
    body = {
        "subject": "Retour à domicile",
        "participants": [str(demo["pharma.durand"].code)],
        "patient": {**QUALIFIED, "sex": "M"},
    }
    assert "Ne concorde pas avec l'INS" in refusal(
        client.post(CONVERSATIONS, body, format="json"), "patient.sex", labelled=False
    )
    body["patient"] = {**QUALIFIED, "birth_place_insee": "45155"}
    created = client.post(CONVERSATIONS, body, format="json")
    assert created.status_code == 201, created.json()
    assert [w["field"] for w in created.json()["warnings"]] == ["patient.birth_place_insee"]
