"""One French catalogue per liaison document: the words people read about a field.

The form, the error summaries, the API's messages, the sheet page and the PDF read the same
labels (liaison.catalogue); machine keys stay in the API's fields and never reach a page.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from liaison import catalogue
from liaison.documents import CONTENT_KEYS
from liaison.models import LiaisonSheet
from liaison.outputs.document import build_document
from patients.identity import PatientSerializer
from tests.liaison.conftest import discharge_content

pytestmark = pytest.mark.django_db
API = "/api/v1/liaison-sheets/"
# Nothing that looks like a machine path in what a person reads.
MACHINE_PATH = re.compile(r"\b[a-z]+_[a-z_]+(\[\d+\])?(\.[a-z_]+)?\b|\[\d+\]")


DURATION_MISSING = (
    "Traitement de sortie n° 1, durée : obligatoire pour envoyer, ou cocher « Au long cours »."
)


def test_every_key_of_part_a_has_a_french_label() -> None:
    for kind, keys in CONTENT_KEYS.items():
        known = {spec.key.split(".")[0] for spec in catalogue.fields_of(kind)}
        known |= set(catalogue.OTHER_FIELDS[kind])
        # document_status is derived from pending_results; its label is in OTHER_FIELDS.
        assert set(keys) <= known, set(keys) - known
        assert {f"patient.{key}" for key in PatientSerializer().fields} <= {
            spec.key for spec in catalogue.fields_of(kind)
        }


def test_a_path_is_named_in_words() -> None:
    assert catalogue.label_of("referral", "patient.birth_family_name") == (
        "Nom de naissance du patient"
    )
    assert catalogue.label_of("discharge", "discharge_medications[0].duration") == (
        "Traitement de sortie n° 1, durée"
    )
    assert catalogue.label_of("discharge", "follow_up.exam_requests[1].what") == (
        "Examen demandé n° 2, examen"
    )
    assert catalogue.label_of("discharge", "reason") == "Motif de l'hospitalisation"
    assert catalogue.label_of("referral", "reason") == "Motif"
    assert catalogue.label_of("referral", "recipient_organisation") == (
        "Service hospitalier destinataire"
    )
    assert catalogue.label_of("referral", "no_such_key") == ""


def test_nested_errors_become_paths_with_their_words() -> None:
    errors = {
        "medications": [{}, {"name": ["Ce champ est obligatoire."]}],
        "social_context": {"lives_alone": ["Booléen attendu."]},
        "unknown_key": ["Champ inconnu."],
    }
    assert catalogue.labelled_errors("referral", errors) == {
        "medications[1].name": ["Traitement n° 2, médicament : ce champ est obligatoire."],
        "social_context.lives_alone": ["Vit seul(e) : booléen attendu."],
        "unknown_key": ["Champ inconnu."],  # no label known: the message alone
    }


def test_the_form_error_summary_names_fields_in_words(client: Client, demo) -> None:
    client.force_login(demo["dr.martin"].user)
    response = client.post("/liaison/nouvelle/", {"reason": "Dyspnée", "send": "1"})
    assert response.status_code == 400
    summary = response.content.decode().split('class="card error-box"')[1].split("</div>")[0]
    assert "Nom de naissance du patient : obligatoire pour envoyer." in summary
    assert "Service hospitalier destinataire : obligatoire pour envoyer." in summary
    assert "Allergies : obligatoire pour envoyer." in summary
    assert "patient.birth_family_name" not in summary
    assert not MACHINE_PATH.search(re.sub(r"<[^>]+>", "", summary)), summary


def test_a_line_missing_its_duration_is_named_in_words(client_for, client: Client, demo) -> None:
    cardio = client_for(demo["hop.cardio"])
    content = discharge_content(discharge_medications=[{"name": "Bisoprolol", "dose": "2,5 mg"}])
    patient = {"birth_family_name": "Nguyen", "given_names": "Thi Hoa",
               "birth_date": "1958-05-30", "sex": "F"}  # fmt: skip
    created = cardio.post(
        API,
        {"kind": "discharge", "patient": patient, **content,
         "recipients": [str(demo["dr.martin"].code)]},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    refused = cardio.post(f"{API}{created.json()['id']}/send/")
    assert refused.status_code == 400
    # The API keeps the machine key and says the field in words in the message.
    assert refused.json() == {"discharge_medications[0].duration": [DURATION_MISSING]}
    client.force_login(demo["hop.cardio"].user)
    sheet = LiaisonSheet.objects.get(code=created.json()["id"])
    line = {"discharge_medications-0-name": "Bisoprolol", "discharge_medications-0-dose": "2,5 mg"}
    page = client.post(
        f"/liaison/{sheet.code}/modifier/", {"version": sheet.version, "send": "1", **line}
    )
    body = page.content.decode()
    assert DURATION_MISSING in body
    assert "discharge_medications[0]" not in body


def test_an_action_refused_for_a_missing_field_says_it_in_words(
    client: Client, demo, make_referral
) -> None:
    sheet = make_referral()
    client.force_login(demo["hop.cardio"].user)
    response = client.post(f"/liaison/{sheet.code}/action/decline/", {"note": ""}, follow=True)
    body = response.content.decode()
    # The confirmation comes back with its reason field marked, in words.
    assert response.status_code == 400
    assert "Indiquez le motif du refus." in body
    assert "Motif du refus" in body
    assert "note :" not in body


def test_sheets_show_the_sex_in_words(client: Client, demo, make_referral) -> None:
    sheet = make_referral()
    client.force_login(demo["hop.cardio"].user)
    body = client.get(f"/liaison/{sheet.code}/").content.decode()
    assert "— Féminin" in body
    assert "— F<" not in body
    assert "Féminin" in build_document(sheet).identity


def test_what_changed_between_versions_is_said_in_words() -> None:
    assert catalogue.key_label("discharge", "follow_up") == "Suites"
    assert catalogue.key_label("discharge", "stay_summary") == "Synthèse médicale du séjour"
    assert catalogue.key_label("discharge", "document_status") == "Statut du document"
