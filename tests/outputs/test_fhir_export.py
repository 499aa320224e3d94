"""The FHIR R4 document of a sheet: valid (fhir.resources R4B), self-contained, coded."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from liaison.demo import load_sheets
from liaison.expertise.fhir import expertise_bundle
from liaison.models import LiaisonSheet
from liaison.outputs import fhir_codes as codes
from liaison.outputs.fhir import bundle_for
from liaison.selectors import sheet_for_output
from security.models import AuditEntry
from tests.access import assert_hidden_from
from tests.outputs.conftest import MINIMAL_DISCHARGE

pytestmark = pytest.mark.django_db


def references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [ref for item in value.values() for ref in references(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in references(item)]
    return []


def assert_valid_document(bundle: dict[str, Any]) -> Bundle:
    """R4B-valid, a document with its Composition first, every reference resolved inside."""
    model = Bundle.model_validate(bundle)
    assert model.type == "document"
    assert model.identifier.system == codes.URN
    assert model.timestamp is not None
    assert model.entry[0].resource.get_resource_type() == "Composition"
    urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert len(urls) == len(set(urls))
    assert all(url.startswith("urn:uuid:") for url in urls)
    dangling = [ref for ref in references(bundle["entry"]) if ref not in urls]
    assert not dangling, dangling
    return model


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def section(bundle: dict[str, Any], code: str) -> dict[str, Any]:
    sections = bundle["entry"][0]["resource"]["section"]
    return next(s for s in sections if s["code"]["coding"][0]["code"] == code)


def by_url(bundle: dict[str, Any], url: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["fullUrl"] == url)


def test_a_complete_discharge_letter_is_a_valid_coded_document(full_letter: LiaisonSheet) -> None:
    bundle = bundle_for(full_letter)
    assert_valid_document(bundle)
    composition = bundle["entry"][0]["resource"]
    assert composition["type"]["coding"][0] == {
        "system": codes.LOINC,
        "code": "11490-0",
        "display": codes.DOCUMENT_TYPES["discharge"][1],
    }
    assert composition["status"] == "preliminary"  # results are awaited (R1112-1-2 II 5°)
    assert [s["code"]["coding"][0]["code"] for s in composition["section"]] == [
        "33557-0",
        "42349-1",
        "42545-4",
        "46264-8",
        "10183-2",
        "18610-6",
        "30954-2",
        "18776-5",
        "48765-2",
        "hospital_contact",
    ]
    assert all(
        s["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
        for s in composition["section"]
    )

    patient = resources(bundle, "Patient")[0]
    assert patient["identifier"][0]["system"] == codes.INS_NIR_TEST  # the ANS test INS
    assert patient["identifier"][0]["value"] == "279035121518989"
    practitioner = by_url(bundle, composition["author"][0]["reference"])
    assert {"system": codes.RPPS, "value": "10000000066"} in practitioner["identifier"]
    custodian = by_url(bundle, composition["custodian"]["reference"])
    hospital = by_url(bundle, custodian["partOf"]["reference"])
    assert hospital["identifier"][0]["system"] == codes.FINESS

    encounter = by_url(bundle, composition["encounter"]["reference"])
    assert encounter["period"] == {"start": "2026-11-02", "end": "2026-11-09"}
    assert encounter["hospitalization"]["admitSource"]["coding"][0]["code"] == "183452005"
    assert encounter["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] == "160849004"

    statements = [by_url(bundle, e["reference"]) for e in section(bundle, "10183-2")["entry"]]
    assert [s["resourceType"] for s in statements] == ["MedicationStatement"] * 3
    assert [s["extension"][0] for s in statements] == [
        {"url": codes.MEDICATION_CHANGE, "valueCode": change}
        for change in ("modified", "new", "continued")
    ]
    stopped = by_url(bundle, section(bundle, "18610-6")["entry"][0]["reference"])
    assert stopped["status"] == "stopped"
    assert stopped["statusReason"] == [{"text": "Remplacé par sacubitril/valsartan"}]
    allergies = [by_url(bundle, e["reference"]) for e in section(bundle, "48765-2")["entry"]]
    assert [a["resourceType"] for a in allergies] == ["AllergyIntolerance"] * 2
    assert allergies[1]["reaction"][0]["severity"] == "severe"  # "grave", as written, travels too
    stay = [by_url(bundle, e["reference"]) for e in section(bundle, "42545-4")["entry"]]
    assert {o["code"]["coding"][0]["code"] for o in stay} == {
        "MED-142",
        "MED-143",
        "MED-309",
        "MED-144",
        "MED-145",
        "MED-146",
        "MED-147",
    }
    extensions = {e["url"] for e in composition["extension"]}
    assert codes.IN_RESPONSE_TO in extensions
    assert codes.INFORMATION_RECIPIENT in extensions


def test_a_minimal_letter_has_only_its_filled_sections(minimal_letter: LiaisonSheet) -> None:
    bundle = bundle_for(minimal_letter)
    assert_valid_document(bundle)
    composition = bundle["entry"][0]["resource"]
    assert composition["status"] == "final"
    assert [s["code"]["coding"][0]["code"] for s in composition["section"]] == [
        "33557-0",
        "42349-1",
        "42545-4",
        "10183-2",
        "hospital_contact",
    ]
    none = section(bundle, "10183-2")
    assert "entry" not in none
    assert none["emptyReason"]["coding"][0]["code"] == "nilknown"  # "none", not "not filled"
    assert (
        "identifier" not in resources(bundle, "Patient")[0]
    )  # no INS without a qualified identity


def test_a_referral_uses_the_entry_letter_type_and_the_real_ins_system(
    full_referral: LiaisonSheet,
) -> None:
    full_referral.patient = {**full_referral.patient, "ins": "180012B01234521"}
    bundle = bundle_for(full_referral)
    assert_valid_document(bundle)
    composition = bundle["entry"][0]["resource"]
    assert composition["type"]["coding"][0]["code"] == "18761-7"
    assert resources(bundle, "Patient")[0]["identifier"][0]["system"] == codes.INS_NIR
    encounter = by_url(bundle, composition["encounter"]["reference"])
    assert encounter["priority"]["coding"][0] == {
        "system": codes.ACT_PRIORITY,
        "code": "UR",
        "display": "urgent",
    }
    assert encounter["status"] == "planned"
    contacts = resources(bundle, "Patient")[0]["contact"]
    assert [c["relationship"][0]["coding"][0]["code"] for c in contacts] == ["K", "ECON"]


def test_the_bundle_of_every_demo_sheet_validates(demo) -> None:
    assert load_sheets(demo) > 0
    for sheet in LiaisonSheet.objects.exclude(kind="expertise"):
        assert_valid_document(bundle_for(sheet_for_output(sheet)))
    # A tele-expertise request is a request and its answer, not a document (docs/teleexpertise.md)
    requests = LiaisonSheet.objects.filter(kind="expertise")
    assert requests.exists()
    for sheet in requests:
        Bundle.parse_obj(expertise_bundle(sheet_for_output(sheet)))


def test_exporting_twice_gives_the_same_entries(full_letter: LiaisonSheet) -> None:
    first, second = bundle_for(full_letter), bundle_for(full_letter)
    assert first["entry"] == second["entry"]


def test_the_api_export_is_fhir_json_and_audited(
    client_for, demo, full_letter: LiaisonSheet
) -> None:
    response = client_for(demo["ide.petit"]).get(
        f"/api/v1/liaison-sheets/{full_letter.code}/fhir/", HTTP_ACCEPT="application/fhir+json"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    assert_valid_document(response.json())
    assert (
        AuditEntry.objects.filter(
            action="liaison_sheet.fhir", target_code=full_letter.code, actor=demo["ide.petit"]
        ).count()
        == 1
    )


def test_the_export_is_hidden_from_outsiders(client_for, demo, full_letter: LiaisonSheet) -> None:
    url = f"/api/v1/liaison-sheets/{full_letter.code}/fhir/"
    assert_hidden_from(
        client_for, "get", url, [demo["hop.urgences"], demo["dr.bernard"], demo["coord"]]
    )


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("active", "active"),
        ("Actif", "active"),
        ("en cours", "active"),
        ("Ancienne", "inactive"),
        ("inactive", "inactive"),
        ("Résolue", "resolved"),
        ("guerie", "resolved"),
        ("resolved", "resolved"),
    ],
)
def test_a_known_allergy_status_wording_is_coded(make_letter, written: str, code: str) -> None:
    allergy = {"substance": "Pénicilline", "status": written}
    letter = make_letter({**MINIMAL_DISCHARGE, "allergies": [allergy]})
    bundle = bundle_for(letter)
    assert_valid_document(bundle)
    status = resources(bundle, "AllergyIntolerance")[0]["clinicalStatus"]
    assert status["coding"] == [{"system": codes.ALLERGY_CLINICAL, "code": code}]
    assert status["text"] == written


def test_an_allergy_status_in_other_words_is_a_note_not_an_uncoded_status(make_letter) -> None:
    """The required binding wants a code; FHIR's ait-1 wants a clinicalStatus: the allergy a
    letter lists stays "active" (as when no status is written) and the words go in a note."""
    allergy = {"substance": "Produits iodés", "status": "suspectée, à confirmer"}
    letter = make_letter({**MINIMAL_DISCHARGE, "allergies": [allergy]})
    bundle = bundle_for(letter)
    assert_valid_document(bundle)
    resource = resources(bundle, "AllergyIntolerance")[0]
    assert resource["clinicalStatus"] == {
        "coding": [{"system": codes.ALLERGY_CLINICAL, "code": "active"}]
    }
    assert resource["note"] == [{"text": "Statut indiqué : suspectée, à confirmer"}]


def test_every_entry_resource_has_a_french_narrative(full_letter: LiaisonSheet) -> None:
    """dom-6: a human-readable narrative, written with the labels of the form and the PDF."""
    bundle = bundle_for(full_letter)
    assert_valid_document(bundle)
    for entry in bundle["entry"][1:]:
        text = entry["resource"].get("text")
        assert text is not None, entry["resource"]["resourceType"]
        assert text["status"] == "generated"
        assert text["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
        assert text["div"].endswith("</div>")
    by_type = {
        entry["resource"]["resourceType"]: entry["resource"]["text"]["div"]
        for entry in bundle["entry"][1:]
    }
    assert "LEFÈVRE (usage MOREAU-CŒUR) Éloïse Marie" in by_type["Patient"]
    assert "Identité" in by_type["Patient"]
    allergy = resources(bundle, "AllergyIntolerance")[0]["text"]["div"]
    assert "<th>Substance</th><td>Pénicilline</td>" in allergy
    assert "<th>Gravité</th><td>modérée</td>" in allergy
    medication = resources(bundle, "MedicationStatement")[0]["text"]["div"]
    assert "<th>Médicament</th><td>Furosémide</td>" in medication
    assert "<th>Changement</th><td>Modifié</td>" in medication
    assert "<th>Début</th><td>09/11/2026</td>" in medication
    observations = " ".join(o["text"]["div"] for o in resources(bundle, "Observation"))
    assert "<th>Recherche de BMR/BHRe réalisée</th><td>Oui</td>" in observations
    encounter = resources(bundle, "Encounter")[0]["text"]["div"]
    assert "<th>Mode de sortie</th><td>Domicile</td>" in encounter
