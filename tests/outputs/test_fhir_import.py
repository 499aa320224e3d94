"""POST /api/v1/liaison-sheets/from-fhir/: a FHIR document becomes a draft, or a 400 by path."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.http import QueryDict

from liaison import forms
from liaison.models import LiaisonSheet
from liaison.outputs import fhir_codes as codes
from liaison.outputs.fhir import bundle_for
from liaison.outputs.fhir_import import narrative_text
from liaison.services import drafts
from security.models import AuditEntry
from tests.outputs.conftest import MINIMAL_DISCHARGE, prune

pytestmark = pytest.mark.django_db
URL = "/api/v1/liaison-sheets/from-fhir/"
XHTML = '<div xmlns="http://www.w3.org/1999/xhtml">'


def post(client, bundle: dict[str, Any], **headers: str):
    return client.post(URL, json.dumps(bundle), content_type="application/fhir+json", **headers)


def imported(response) -> LiaisonSheet:
    assert response.status_code == 201, response.json()
    return LiaisonSheet.objects.get(code=response.json()["id"])


def section_index(bundle: dict[str, Any], code: str) -> int:
    sections = bundle["entry"][0]["resource"]["section"]
    return next(i for i, s in enumerate(sections) if s["code"]["coding"][0]["code"] == code)


def test_a_complete_letter_round_trips(client_for, demo, full_letter: LiaisonSheet) -> None:
    bundle = json.loads(json.dumps(bundle_for(full_letter)))
    copy_of = imported(post(client_for(demo["hop.cardio"]), bundle))
    assert copy_of.status == "draft"
    assert copy_of.kind == "discharge"
    assert copy_of.author == demo["hop.cardio"]
    assert prune(copy_of.patient) == prune(full_letter.patient)
    assert prune(copy_of.content) == prune(full_letter.content)
    assert copy_of.referral_id == full_letter.referral_id
    assert sorted(p.member_id for p in copy_of.participants.all()) == sorted(
        p.member_id for p in full_letter.participants.all()
    )
    assert AuditEntry.objects.filter(
        action="liaison_sheet.fhir_import", target_code=copy_of.code
    ).exists()


def test_a_complete_referral_and_a_minimal_letter_round_trip(
    client_for, demo, full_referral, minimal_letter
) -> None:
    referral = imported(
        post(client_for(demo["dr.martin"]), json.loads(json.dumps(bundle_for(full_referral))))
    )
    assert prune(referral.patient) == prune(full_referral.patient)
    assert prune(referral.content) == prune(full_referral.content)
    assert referral.recipient_organisation_id == full_referral.recipient_organisation_id
    assert {p.member_id for p in referral.participants.all()} == {
        p.member_id for p in full_referral.participants.all()
    }
    letter = imported(
        post(client_for(demo["hop.cardio"]), json.loads(json.dumps(bundle_for(minimal_letter))))
    )
    assert prune(letter.content) == prune(minimal_letter.content)
    assert letter.content["discharge_medications_none"] is True


def test_what_is_not_understood_is_listed_by_json_path(
    client_for, demo, full_letter: LiaisonSheet
) -> None:
    bundle = json.loads(json.dumps(bundle_for(full_letter)))
    composition = bundle["entry"][0]["resource"]
    medications = composition["section"][section_index(bundle, "10183-2")]
    first_line = next(
        i
        for i, e in enumerate(bundle["entry"])
        if e["fullUrl"] == medications["entry"][0]["reference"]
    )
    bundle["entry"][first_line]["resource"]["dosage"][0]["doseAndRate"] = [
        {"doseQuantity": {"value": 80, "unit": "mg"}}
    ]
    composition["section"].append(
        {
            "title": "Signes vitaux",
            "code": {"coding": [{"system": codes.LOINC, "code": "8716-3"}]},
            "text": {
                "status": "generated",
                "div": '<div xmlns="http://www.w3.org/1999/xhtml">TA 12/8</div>',
            },
        }
    )
    bundle["entry"].append(
        {
            "fullUrl": "urn:uuid:0d7c6a53-4d8e-4a57-9a3b-3f3c2c1f5e11",
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "Poids"},
                "valueString": "72 kg",
            },
        }
    )
    composition["encounter"] = {"reference": "urn:uuid:00000000-0000-4000-8000-000000000000"}
    before = LiaisonSheet.objects.count()

    response = post(client_for(demo["hop.cardio"]), bundle)

    assert response.status_code == 400
    errors = response.json()
    last = len(bundle["entry"]) - 1
    assert f"entry[{first_line}].resource.dosage[0].doseAndRate" in errors
    assert f"entry[0].resource.section[{len(composition['section']) - 1}].code" in errors
    assert f"entry[{last}]" in errors  # cited by nothing
    assert "entry[0].resource.encounter.reference" in errors
    assert LiaisonSheet.objects.count() == before


def test_it_reports_invalid_fhir_and_non_documents(
    client_for, demo, minimal_letter: LiaisonSheet
) -> None:
    client = client_for(demo["hop.cardio"])
    not_a_bundle = client.post(URL, {"resourceType": "Patient"}, format="json")
    assert not_a_bundle.status_code == 400
    assert "resourceType" in not_a_bundle.json()
    bundle = json.loads(json.dumps(bundle_for(minimal_letter)))
    bundle["entry"][1]["resource"]["favouriteColour"] = "bleu"
    invalid = post(client, bundle)
    assert invalid.status_code == 400
    assert "entry[1].resource.favouriteColour" in invalid.json()
    bundle = json.loads(json.dumps(bundle_for(minimal_letter)))
    bundle["type"] = "collection"
    assert "type" in post(client, bundle).json()


def test_dictionary_errors_point_to_their_place_in_the_bundle(
    client_for, demo, minimal_letter
) -> None:
    bundle = json.loads(json.dumps(bundle_for(minimal_letter)))
    encounter = next(
        i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "Encounter"
    )
    bundle["entry"][encounter]["resource"]["period"] = {"start": "2026-11-09", "end": "2026-11-02"}
    response = post(client_for(demo["hop.cardio"]), bundle)
    assert response.status_code == 400
    assert list(response.json()) == [f"entry[{encounter}].resource.period.end"]
    # Only a hospital service writes discharge letters: a GP importing one is told where.
    response = post(
        client_for(demo["dr.martin"]), json.loads(json.dumps(bundle_for(minimal_letter)))
    )
    assert response.status_code == 400
    assert "entry[0].resource.custodian" in response.json()


def test_a_letter_answering_a_referral_the_importer_cannot_see_is_refused(
    client_for, demo, full_letter
) -> None:
    bundle = json.loads(json.dumps(bundle_for(full_letter)))
    response = post(client_for(demo["hop.urgences"]), bundle)
    assert response.status_code == 400
    index = next(
        i
        for i, e in enumerate(bundle["entry"][0]["resource"]["extension"])
        if e["url"] == codes.IN_RESPONSE_TO
    )
    assert f"entry[0].resource.extension[{index}]" in response.json()


def test_a_retried_import_creates_one_draft(client_for, demo, minimal_letter: LiaisonSheet) -> None:
    client = client_for(demo["hop.cardio"])
    bundle = json.loads(json.dumps(bundle_for(minimal_letter)))
    first = post(client, bundle, HTTP_IDEMPOTENCY_KEY="import-1")
    again = post(client, bundle, HTTP_IDEMPOTENCY_KEY="import-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert "Idempotent-Replayed" not in first
    assert again["Idempotent-Replayed"] == "true"


HOSPITAL_BUNDLE: dict[str, Any] = {
    "resourceType": "Bundle",
    "identifier": {"system": "urn:oid:1.2.250.1.999.1", "value": "LDL-2026-0042"},
    "type": "document",
    "timestamp": "2026-11-09T17:30:00+01:00",
    "entry": [
        {
            "fullUrl": "https://dpi.example.org/fhir/Composition/c1",
            "resource": {
                "resourceType": "Composition",
                "id": "c1",
                "status": "final",
                "type": {"coding": [{"system": "http://loinc.org", "code": "11490-0"}]},
                "subject": {"reference": "Patient/p1"},
                "encounter": {"reference": "Encounter/e1"},
                "date": "2026-11-09T17:30:00+01:00",
                "author": [{"reference": "Practitioner/dr1"}],
                "title": "Lettre de liaison à la sortie",
                "section": [
                    {
                        "title": "Motif",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "42349-1"}]},
                        "text": {
                            "status": "generated",
                            "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>Pneumopathie</p></div>',
                        },
                    },
                    {
                        "title": "Synthèse",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "42545-4"}]},
                        "text": {
                            "status": "generated",
                            "div": f"{XHTML}<p>Antibiothérapie 7 jours.</p><p>Apyrexie à J2.</p>"
                            "</div>",
                        },
                    },
                    {
                        "title": "Traitements de sortie",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "10183-2"}]},
                        "text": {
                            "status": "generated",
                            "div": '<div xmlns="http://www.w3.org/1999/xhtml">Amoxicilline</div>',
                        },
                        "entry": [{"reference": "MedicationStatement/m1"}],
                    },
                ],
            },
        },
        {
            "fullUrl": "https://dpi.example.org/fhir/Patient/p1",
            "resource": {
                "resourceType": "Patient",
                "id": "p1",
                "identifier": [
                    {"system": "urn:oid:1.2.250.1.999.2", "value": "IPP-778"},
                    {
                        "use": "official",
                        "system": "urn:oid:1.2.250.1.213.1.4.8",
                        "value": "279035121518989",
                    },
                ],
                "extension": [
                    {
                        "url": codes.IDENTITY_RELIABILITY,
                        "extension": [
                            {
                                "url": "identityStatus",
                                "valueCoding": {
                                    "system": codes.IDENTITY_STATUS_SYSTEM,
                                    "code": "QUAL",
                                },
                            }
                        ],
                    },
                    {
                        # A qualified identity carries its birth place (RNIV strict traits).
                        "url": codes.BIRTH_PLACE,
                        "valueAddress": {
                            "extension": [
                                {
                                    "url": codes.INSEE_CODE,
                                    "valueCoding": {"system": codes.INSEE_COMMUNE, "code": "51215"},
                                }
                            ]
                        },
                    },
                ],
                "name": [{"use": "official", "family": "Nguyen", "given": ["Thi", "Hoa"]}],
                "gender": "female",
                "birthDate": "1979-03-30",  # the test INS says March 1979
            },
        },
        {
            "fullUrl": "https://dpi.example.org/fhir/Encounter/e1",
            "resource": {
                "resourceType": "Encounter",
                "id": "e1",
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "IMP",
                },
                "period": {
                    "start": "2026-11-02T08:00:00+01:00",
                    "end": "2026-11-09T16:00:00+01:00",
                },
            },
        },
        {
            "fullUrl": "https://dpi.example.org/fhir/Practitioner/dr1",
            "resource": {
                "resourceType": "Practitioner",
                "id": "dr1",
                "identifier": [{"system": codes.RPPS, "value": "10000000066"}],
            },
        },
        {
            "fullUrl": "https://dpi.example.org/fhir/MedicationStatement/m1",
            "resource": {
                "resourceType": "MedicationStatement",
                "id": "m1",
                "status": "active",
                "medicationReference": {"reference": "Medication/med1"},
                "subject": {"reference": "Patient/p1"},
                "dosage": [{"text": "1 g", "timing": {"code": {"text": "3/j"}}}],
            },
        },
        {
            "fullUrl": "https://dpi.example.org/fhir/Medication/med1",
            "resource": {
                "resourceType": "Medication",
                "id": "med1",
                "code": {"text": "Amoxicilline"},
            },
        },
    ],
}


def test_another_systems_discharge_letter_becomes_a_draft(client_for, demo) -> None:
    sheet = imported(post(client_for(demo["hop.cardio"]), copy.deepcopy(HOSPITAL_BUNDLE)))
    assert sheet.patient["ins"] == "279035121518989"
    assert sheet.patient["given_names"] == "Thi Hoa"
    assert sheet.content["reason"] == "Pneumopathie"
    assert sheet.content["stay_summary"] == "Antibiothérapie 7 jours.\nApyrexie à J2."
    assert sheet.content["admission_date"] == "2026-11-02"
    assert sheet.content["discharge_medications"] == [
        {"name": "Amoxicilline", "dose": "1 g", "frequency": "3/j"}
    ]
    assert sheet.content["document_status"] == "final"


def test_narrative_text_keeps_line_breaks() -> None:
    div = f"{XHTML}<p>a<br/>b  c</p><ul><li>d</li><li>e</li></ul></div>"
    assert narrative_text(div) == "a\nb  c\nd\ne"


def test_a_sheet_typed_in_the_web_form_round_trips(client_for, demo) -> None:
    """The form posts every field, most of them empty: empty values travel as nothing."""
    posted = QueryDict(mutable=True)
    posted.update({
        "patient.birth_family_name": "Cœur", "patient.given_names": "Françoise",
        "patient.birth_date": "1936-07-02", "patient.sex": "F", "urgency": "routine",
        "reason": "Œdèmes\r\ndes membres inférieurs", "medications-0-name": "Furosémide",
        "allergies_none_known": "on", "trusted_person.name": "",
        "social_context.lives_alone": "true",
    })  # fmt: skip
    patient, content = forms.parse("referral", posted)
    sheet = drafts.create_draft(
        actor=demo["dr.martin"], kind="referral", patient=patient, content=content
    )
    bundle = json.loads(json.dumps(bundle_for(LiaisonSheet.objects.get(pk=sheet.pk))))
    copy_of = imported(post(client_for(demo["dr.martin"]), bundle))
    assert prune(copy_of.patient) == prune(sheet.patient)
    expected = prune(sheet.content) | {"reason": "Œdèmes\ndes membres inférieurs"}  # XML line ends
    assert prune(copy_of.content) == expected


def test_an_unknown_resource_type_is_a_400_not_a_crash(client_for, demo) -> None:
    bundle = {"resourceType": "Bundle", "type": "document",
              "entry": [{"fullUrl": "urn:uuid:7d3f6a2e-1b2c-4d5e-8f90-a1b2c3d4e5f6",
                         "resource": {"resourceType": "LettreDeLiaison"}}]}  # fmt: skip
    response = post(client_for(demo["hop.cardio"]), bundle)
    assert response.status_code == 400
    assert list(response.json()) == ["entry[0].resource.resourceType"]


def test_allergy_statuses_round_trip_coded_or_in_a_note(client_for, demo, make_letter) -> None:
    allergies = [
        {"substance": "Pénicilline", "status": "Ancienne"},
        {"substance": "Produits iodés", "status": "suspectée, à confirmer"},
        {"substance": "Latex"},
    ]
    letter = make_letter({**MINIMAL_DISCHARGE, "allergies": allergies})
    copy_of = imported(
        post(client_for(demo["hop.cardio"]), json.loads(json.dumps(bundle_for(letter))))
    )
    assert copy_of.content["allergies"] == allergies
