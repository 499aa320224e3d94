"""A tele-expertise request exports like the sheets: print view, PDF, FHIR R4 (validated)."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.servicerequest import ServiceRequest

from tests.expertise.test_alerts_and_billing import answered
from tests.expertise.test_api_loop import sent_request

pytestmark = pytest.mark.django_db


def test_the_fhir_bundle_validates_and_carries_the_answer(
    client_for, demo, dermatologie, derm
) -> None:
    code = answered(client_for, demo["dr.martin"], derm, dermatologie)
    response = client_for(demo["dr.martin"]).get(f"/api/v1/liaison-sheets/{code}/fhir/")
    assert response.status_code == 200
    body = json.loads(
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    bundle = Bundle.parse_obj(body)
    assert bundle.type == "collection"
    kinds = [entry.resource.get_resource_type() for entry in bundle.entry]
    assert "ServiceRequest" in kinds
    assert "Communication" in kinds
    request = next(
        e.resource for e in bundle.entry if e.resource.get_resource_type() == "ServiceRequest"
    )
    answer = next(
        e.resource for e in bundle.entry if e.resource.get_resource_type() == "Communication"
    )
    assert isinstance(request, ServiceRequest)
    assert isinstance(answer, Communication)
    assert request.status == "completed"
    assert any("consentement" in (note.text or "") for note in request.note)
    assert answer.payload[0].contentString == "Bénin"


def test_a_request_not_answered_yet_has_no_communication(client_for, demo, dermatologie) -> None:
    code = sent_request(client_for, demo["dr.martin"], dermatologie)
    response = client_for(demo["dr.martin"]).get(f"/api/v1/liaison-sheets/{code}/fhir/")
    body = json.loads(
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    Bundle.parse_obj(body)
    assert "Communication" not in {e["resource"]["resourceType"] for e in body["entry"]}


def test_print_and_pdf_show_the_answer(client, client_for, demo, dermatologie, derm) -> None:
    code = answered(client_for, demo["dr.martin"], derm, dermatologie)
    client.force_login(demo["dr.martin"].user)
    page = client.get(f"/liaison/{code}/imprimer/").content.decode()
    assert "Avis du spécialiste" in page
    assert "Pas de consultation nécessaire" in page
    pdf = client.get(f"/liaison/{code}/pdf/")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Cache-Control"] == "no-store"
