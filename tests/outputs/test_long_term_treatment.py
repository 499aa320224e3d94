"""A discharge treatment "au long cours" needs no duration: a box in the form, a field in the
API, and the PDF and FHIR say "au long cours"."""

from __future__ import annotations

import io
import json

import pytest
from django.test import Client
from pypdf import PdfReader

from liaison.models import LiaisonSheet
from liaison.outputs import fhir_codes as codes
from liaison.outputs.fhir import bundle_for
from liaison.outputs.pdf import render_pdf
from liaison.services import drafts, transitions
from security.exceptions import FieldErrors
from tests.outputs.conftest import MINIMAL_DISCHARGE, MINIMAL_PATIENT, prune

pytestmark = pytest.mark.django_db

APIXABAN = {"name": "Apixaban", "dose": "5 mg", "frequency": "2/j", "long_term": True}
LETTER = {
    **{k: v for k, v in MINIMAL_DISCHARGE.items() if k != "discharge_medications_none"},
    "discharge_medications": [APIXABAN],
}


def draft_letter(demo, content) -> LiaisonSheet:
    return drafts.create_draft(
        actor=demo["hop.cardio"],
        kind="discharge",
        patient=MINIMAL_PATIENT,
        content=content,
        participants=[demo["dr.martin"]],
    )


def test_a_long_term_line_is_sent_without_a_duration(demo, make_letter) -> None:
    letter = make_letter(LETTER)
    assert letter.status == "sent"
    assert letter.content["discharge_medications"] == [APIXABAN]


def test_a_line_without_duration_nor_long_term_is_refused_naming_it(demo) -> None:
    line = {k: v for k, v in APIXABAN.items() if k != "long_term"}
    letter = draft_letter(demo, {**LETTER, "discharge_medications": [line]})
    with pytest.raises(FieldErrors) as refused:
        transitions.send_sheet(actor=demo["hop.cardio"], sheet=letter)
    assert refused.value.fields == {
        "discharge_medications[0].duration": [
            "Obligatoire pour envoyer, ou cocher « Au long cours »."
        ]
    }


def test_au_long_cours_typed_as_the_duration_is_the_box_ticked(demo) -> None:
    line = {k: v for k, v in APIXABAN.items() if k != "long_term"} | {"duration": "Au long cours"}
    letter = draft_letter(demo, {**LETTER, "discharge_medications": [line]})
    assert letter.content["discharge_medications"] == [APIXABAN]


def test_the_api_takes_and_gives_long_term(client_for, demo) -> None:
    body = {"kind": "discharge", "patient": MINIMAL_PATIENT, **LETTER}
    body["recipients"] = [str(demo["dr.martin"].code)]
    created = client_for(demo["hop.cardio"]).post("/api/v1/liaison-sheets/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["discharge_medications"][0]["long_term"] is True


def test_the_form_has_the_box_and_keeps_it(client: Client, demo) -> None:
    letter = draft_letter(demo, {"reason": "Syncope"})
    client.force_login(demo["hop.cardio"].user)
    url = f"/liaison/{letter.code}/modifier/"
    assert 'name="discharge_medications-__index__-long_term"' in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "version": letter.version,
            "discharge_medications-0-name": "Apixaban",
            "discharge_medications-0-dose": "5 mg",
            "discharge_medications-0-long_term": "true",
            "discharge_medications-1-name": "Furosémide",
            "discharge_medications-1-duration": "1 mois",
            "save": "1",
        },
    )
    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.content["discharge_medications"] == [
        {"name": "Apixaban", "dose": "5 mg", "long_term": True},
        {"name": "Furosémide", "duration": "1 mois"},
    ]
    page = client.get(url).content.decode()
    assert (
        'name="discharge_medications-0-long_term" aria-label="Au long cours" value="true" checked'
        in page
    )
    assert (
        'name="discharge_medications-1-long_term" aria-label="Au long cours" value="true">' in page
    )


def test_the_pdf_the_page_and_fhir_say_au_long_cours(
    client: Client, client_for, demo, make_letter
) -> None:
    letter = make_letter(LETTER)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(render_pdf(letter))).pages)
    assert "au long cours" in text
    assert "Au long cours" not in text  # no column of its own: it is the line's duration

    client.force_login(demo["dr.martin"].user)
    page = client.get(f"/liaison/{letter.code}/").content.decode()
    assert '<td data-label="Durée">au long cours</td>' in page

    bundle = json.loads(json.dumps(bundle_for(letter)))
    [statement] = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationStatement"
    ]
    assert {"url": codes.MEDICATION_DURATION, "valueString": "au long cours"} in statement[
        "extension"
    ]
    assert "au long cours" in statement["text"]["div"]

    response = client_for(demo["hop.cardio"]).post(
        "/api/v1/liaison-sheets/from-fhir/",
        json.dumps(bundle),
        content_type="application/fhir+json",
    )
    assert response.status_code == 201, response.json()
    imported = LiaisonSheet.objects.get(code=response.json()["id"])
    assert prune(imported.content["discharge_medications"]) == [APIXABAN]
