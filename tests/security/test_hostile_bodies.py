"""Hostile request bodies and parameters: refused with a 4xx that says why, never a 500.

Deep nesting (config/parsers.py), bodies over the limits (config/errors.py,
config/middleware.py), control characters (config/middleware.py). Unknown fields have their
own file, test_unknown_fields.py.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.exceptions import ParseError

from config.parsers import JSONParser, exceeds_depth
from liaison.models import LiaisonSheet
from liaison.outputs.fhir import bundle_for
from liaison.outputs.fhir_import import read_bundle
from liaison.services import drafts
from messaging.models import Conversation
from security.exceptions import FieldErrors
from tests.liaison.conftest import cardiologie, referral_body  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

SHEETS = "/api/v1/liaison-sheets/"
FHIR_IMPORT = "/api/v1/liaison-sheets/from-fhir/"
RELATIONS = ("kind", "recipient_organisation", "copy_to")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def nested_arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def web(member: Any) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


# --- Deeply nested JSON ------------------------------------------------------------------------

WRITES = [
    ("post", SHEETS),
    ("patch", "/api/v1/me/"),
    ("post", "/api/v1/conversations/"),
    ("put", "/api/v1/notifications/preferences/"),
    ("post", FHIR_IMPORT),
]


@pytest.mark.parametrize(("method", "url"), WRITES)
@pytest.mark.parametrize("body", [nested_arrays(5000), nested_objects(5000), nested_objects(65)])
def test_deeply_nested_json_is_a_400_naming_the_problem(
    demo, client_for, method: str, url: str, body: str
) -> None:
    client = client_for(demo["dr.martin"])
    response = getattr(client, method)(url, body, content_type="application/json")
    assert response.status_code == 400
    assert "imbriqué" in response.json()["detail"]
    assert not LiaisonSheet.objects.exists()


def test_the_token_endpoint_refuses_deep_json_too(api_client) -> None:
    response = api_client.post(
        "/api/v1/auth/token/", nested_arrays(3000), content_type="application/json"
    )
    assert response.status_code == 400
    assert "imbriqué" in response.json()["detail"]


def test_the_limit_is_a_setting_and_what_is_under_it_parses(settings) -> None:
    settings.JSON_MAX_DEPTH = 10
    parser = JSONParser()
    assert parser.parse(io.BytesIO(nested_objects(10).encode())) == json.loads(nested_objects(10))
    with pytest.raises(ParseError, match="10 niveaux"):
        parser.parse(io.BytesIO(nested_objects(11).encode()))
    assert not exceeds_depth([[{"a": []}]], 4)
    assert exceeds_depth([[{"a": [[]]}]], 4)


def fhir_bundle_with_nested_extensions(gp, service, levels: int) -> dict[str, Any]:
    """The FHIR export of a real referral, its Patient carrying nested extensions."""
    body = referral_body(service, [])
    sheet = drafts.create_draft(
        actor=gp,
        kind="referral",
        patient=body.pop("patient"),
        recipient_organisation=service,
        content={k: v for k, v in body.items() if k not in RELATIONS},
    )
    bundle = bundle_for(sheet)
    sheet.delete()
    extension: dict[str, Any] = {"url": "http://example.org/x", "valueString": "x"}
    for _ in range(levels):
        extension = {"url": "http://example.org/x", "extension": [extension]}
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    patient.setdefault("extension", []).append(extension)
    return bundle


def test_a_fhir_bundle_with_extensions_nested_hundreds_deep_is_a_400(
    demo,
    client_for,
    cardiologie,  # noqa: F811
) -> None:
    bundle = fhir_bundle_with_nested_extensions(demo["dr.martin"], cardiologie, 300)
    response = client_for(demo["hop.cardio"]).post(
        FHIR_IMPORT, json.dumps(bundle), content_type="application/fhir+json"
    )
    assert response.status_code == 400
    assert "imbriqué" in json.dumps(response.json(), ensure_ascii=False)
    assert not LiaisonSheet.objects.exists()


def test_the_fhir_reader_checks_depth_whoever_parsed_the_bundle(demo, cardiologie) -> None:  # noqa: F811
    bundle = fhir_bundle_with_nested_extensions(demo["dr.martin"], cardiologie, 300)
    with pytest.raises(FieldErrors) as raised:
        read_bundle(bundle)
    assert "imbriqué" in raised.value.fields["(bundle)"][0]


def test_a_narrative_nested_thousands_deep_is_the_senders_error(demo, cardiologie) -> None:  # noqa: F811
    bundle = fhir_bundle_with_nested_extensions(demo["dr.martin"], cardiologie, 0)
    composition = bundle["entry"][0]["resource"]
    section = composition["section"][0]
    depth = 5000
    section["text"]["div"] = (
        '<div xmlns="http://www.w3.org/1999/xhtml">' + "<span>" * depth + "x" + "</span>" * depth
    ) + "</div>"
    with pytest.raises(FieldErrors):
        read_bundle(bundle)


# --- Bodies over the size limits --------------------------------------------------------------


def test_an_api_body_over_the_memory_limit_is_a_json_413(demo, client_for, cardiologie) -> None:  # noqa: F811
    body = referral_body(cardiologie, [], reason="x" * 3_000_000)  # default limit: 2.5 MiB
    response = client_for(demo["dr.martin"]).post(SHEETS, body, format="json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "request_too_large"
    assert "volumineuse" in response.json()["detail"]
    assert not LiaisonSheet.objects.exists()


def test_an_api_form_with_too_many_fields_is_a_json_413(demo, client_for, settings) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    fields = "&".join(f"f{i}=1" for i in range(100))
    response = client_for(demo["dr.martin"]).patch(
        "/api/v1/me/", fields, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_an_upload_over_the_request_limit_is_a_413_before_it_is_read(
    demo, client_for, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.REQUEST_MAX_BODY_BYTES = 10_000
    gp = demo["dr.martin"]
    conversation = client_for(gp).post(
        "/api/v1/conversations/",
        {"subject": "Ordonnance", "participants": [str(demo["pharma.durand"].code)]},
        format="json",
    )
    assert conversation.status_code == 201, conversation.json()
    upload = SimpleUploadedFile("gros.pdf", PDF + b"0" * 20_000, content_type="application/pdf")
    response = client_for(gp).post(
        f"/api/v1/conversations/{conversation.json()['id']}/messages/",
        {"body": "voir pièce jointe", "attachments": [upload]},
        format="multipart",
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_a_web_form_over_the_limit_is_a_french_413_that_saves_nothing(demo, cardiologie) -> None:  # noqa: F811
    form = {
        "recipient_organisation": str(cardiologie.code),
        "patient.birth_family_name": "Lefèvre",
        "patient.birth_date": "1979-03-15",
        "reason": "x" * 3_000_000,
        "send": "1",
    }
    response = web(demo["dr.martin"]).post("/liaison/nouvelle/", form)
    assert response.status_code == 413
    page = response.content.decode()
    assert "trop volumineux" in page
    assert "rien n'a été enregistré" in page
    assert not LiaisonSheet.objects.exists()


def test_a_web_upload_over_the_limit_saves_nothing(demo, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.REQUEST_MAX_BODY_BYTES = 10_000
    response = web(demo["dr.martin"]).post(
        "/messagerie/nouvelle/",
        {
            "participants": [str(demo["pharma.durand"].code)],
            "subject": "Ordonnance",
            "body": "Ci-jointe",
            "attachments": [SimpleUploadedFile("gros.pdf", PDF + b"0" * 20_000)],
        },
    )
    assert response.status_code == 413
    assert "trop volumineux" in response.content.decode()
    assert not Conversation.objects.exists()


# --- Control characters ------------------------------------------------------------------------


@pytest.mark.parametrize("character", ["%00", "%01", "%1B", "%7F", "%0B"])
def test_a_control_character_in_a_query_parameter_is_a_400(demo, character: str) -> None:
    response = web(demo["dr.martin"]).get(f"/messagerie/destinataires/?q=Mar{character}tin")
    assert response.status_code == 400
    page = response.content.decode()
    assert "« Recherche »" in page
    assert "« q »" not in page  # a person reads words, never the parameter's key


def test_a_control_character_in_a_parameter_name_is_a_400(demo) -> None:
    response = web(demo["dr.martin"]).get("/annuaire/?q%00=Martin")
    assert response.status_code == 400


def test_tabs_and_line_breaks_stay_allowed(demo) -> None:
    response = web(demo["dr.martin"]).get("/messagerie/destinataires/?q=Mar%09tin%0D%0A")
    assert response.status_code == 200


def test_an_api_query_parameter_with_a_control_character_is_a_json_400(demo, client_for) -> None:
    response = client_for(demo["dr.martin"]).get("/api/v1/protocols/?q=soins%01palliatifs")
    assert response.status_code == 400
    assert "contrôle" in response.json()["q"][0]


def test_a_nul_in_a_form_field_is_a_400_naming_it_and_saves_nothing(demo, cardiologie) -> None:  # noqa: F811
    form = {
        "recipient_organisation": str(cardiologie.code),
        "patient.birth_family_name": "Lef\x00èvre",
        "reason": "Dyspnée\r\n\tà l'effort",
    }
    response = web(demo["dr.martin"]).post("/liaison/nouvelle/", form)
    assert response.status_code == 400
    page = response.content.decode()
    assert "« un champ de la page »" in page
    assert "birth_family_name" not in page
    assert "« reason »" not in page  # CR, LF and tab are legitimate in a text area
    assert not LiaisonSheet.objects.exists()


def test_a_multipart_form_field_is_checked_as_well(demo, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    response = web(demo["dr.martin"]).post(
        "/messagerie/nouvelle/",
        {
            "participants": [str(demo["pharma.durand"].code)],
            "subject": "Ordonnance\x00",
            "attachments": [SimpleUploadedFile("ordonnance.pdf", PDF)],
        },
    )
    assert response.status_code == 400
    assert "« Objet »" in response.content.decode()
    assert not Conversation.objects.exists()


def test_the_refusal_pages_carry_the_security_headers(demo) -> None:
    response = web(demo["dr.martin"]).get("/messagerie/destinataires/?q=%00")
    assert response.status_code == 400
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
