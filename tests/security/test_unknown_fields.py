"""A key no endpoint reads is a 400 naming it, on every write: never a 200 that ignored it.

One mechanism (config/serializers.py): input serializers derive from StrictSerializer, nested
ones included; actions without a body, or whose body is only a file, call
reject_unknown_keys.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework import serializers

from config.serializers import StrictSerializer
from liaison.models import LiaisonSheet
from tests.liaison.conftest import cardiologie, make_referral, referral_body  # noqa: F401

pytestmark = pytest.mark.django_db

SHEETS = "/api/v1/liaison-sheets/"
UNKNOWN = "Champ inconnu."
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_patch_me_with_is_staff_is_refused(demo, client_for) -> None:
    gp = demo["dr.martin"]
    response = client_for(gp).patch("/api/v1/me/", {"is_staff": True}, format="json")
    assert response.status_code == 400
    assert response.json() == {"is_staff": [UNKNOWN]}
    gp.user.refresh_from_db()
    assert gp.user.is_staff is False


def test_unknown_keys_and_field_errors_come_together(demo, client_for) -> None:
    response = client_for(demo["dr.martin"]).patch(
        "/api/v1/me/", {"rpps": "123", "is_superuser": True, "phone": "06"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"rpps", "is_superuser"}
    assert demo["dr.martin"].phone != "06"


def test_a_draft_patch_refuses_what_only_creation_reads(
    demo,
    client_for,
    make_referral,  # noqa: F811
) -> None:
    sheet = make_referral(send=False)
    other = demo["dr.bernard"].memberships.first().organisation
    for key, value in (("sender_organisation", str(other.code)), ("kind", "discharge")):
        response = client_for(demo["dr.martin"]).patch(
            f"{SHEETS}{sheet.code}/", {key: value}, format="json", HTTP_IF_MATCH='"1"'
        )
        assert response.status_code == 400, key
        assert response.json() == {key: [UNKNOWN]}
    sheet.refresh_from_db()
    assert sheet.version == 1
    assert sheet.sender_organisation != other


def test_a_key_of_the_other_kind_of_document_is_refused(
    demo,
    client_for,
    cardiologie,  # noqa: F811
) -> None:
    body = referral_body(cardiologie, [], recipients=[str(demo["ide.petit"].code)])
    response = client_for(demo["dr.martin"]).post(SHEETS, body, format="json")
    assert response.status_code == 400
    assert "recipients" in response.json()
    assert not LiaisonSheet.objects.exists()


def test_an_unknown_key_inside_a_section_is_refused(
    demo,
    client_for,
    cardiologie,  # noqa: F811
) -> None:
    body = referral_body(cardiologie, [])
    body["medications"][0]["dosage"] = "2 fois par jour"
    body["patient"]["nom"] = "Lefèvre"
    response = client_for(demo["dr.martin"]).post(SHEETS, body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert errors["patient"] == {"nom": [UNKNOWN]}
    assert errors["medications"] == {"0": {"dosage": [UNKNOWN]}}, errors["medications"]
    assert not LiaisonSheet.objects.exists()


@pytest.mark.parametrize(
    ("member", "method", "url", "body"),
    [
        ("coord", "post", "/api/v1/organisations/", {"name": "X", "kind": "practice", "x": 1}),
        ("dr.martin", "put", "/api/v1/notifications/preferences/", {"events": [], "mute": True}),
        ("coord", "post", "/api/v1/themes/", {"name": "Plaies", "colour": "rouge"}),
        ("dr.martin", "post", "/api/v1/protocols/", {"kind": "local", "title": "T", "lang": "fr"}),
        ("dr.martin", "post", "/api/v1/conversations/", {"subject": "Hello", "cc": []}),
    ],
)
def test_every_app_refuses_unknown_keys(demo, client_for, member, method, url, body) -> None:
    response = getattr(client_for(demo[member]), method)(url, body, format="json")
    assert response.status_code == 400
    unknown = set(body) - {"name", "kind", "events", "title", "subject"}
    assert {key: response.json().get(key) for key in unknown} == {key: [UNKNOWN] for key in unknown}


def test_the_token_endpoint_refuses_unknown_keys(demo, api_client) -> None:
    response = api_client.post(
        "/api/v1/auth/token/",
        {"username": "dr.martin", "password": "demo", "scope": "admin"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"scope": [UNKNOWN]}


def test_an_action_without_a_body_refuses_one(
    demo,
    client_for,
    make_referral,  # noqa: F811
) -> None:
    sheet = make_referral(send=False)
    response = client_for(demo["dr.martin"]).post(
        f"{SHEETS}{sheet.code}/send/", {"urgent": True}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"urgent": [UNKNOWN]}
    sheet.refresh_from_db()
    assert sheet.status == LiaisonSheet.Status.DRAFT
    sent = client_for(demo["dr.martin"]).post(f"{SHEETS}{sheet.code}/send/")
    assert sent.status_code == 200, sent.json()


def test_an_upload_accepts_its_file_and_nothing_else(
    demo,
    client_for,
    make_referral,  # noqa: F811
    settings,
    tmp_path,
) -> None:
    settings.MEDIA_ROOT = tmp_path
    sheet = make_referral()
    url = f"{SHEETS}{sheet.code}/attachments/"
    client = client_for(demo["dr.martin"])
    refused = client.post(
        url,
        {"file": SimpleUploadedFile("cr.pdf", PDF), "title": "Compte rendu"},
        format="multipart",
    )
    assert refused.status_code == 400
    assert refused.json() == {"title": [UNKNOWN]}
    accepted = client.post(url, {"file": SimpleUploadedFile("cr.pdf", PDF)}, format="multipart")
    assert accepted.status_code == 201, accepted.json()


def test_a_message_with_files_still_goes_through(demo, client_for, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    client = client_for(demo["dr.martin"])
    conversation = client.post(
        "/api/v1/conversations/",
        {"subject": "Ordonnance", "participants": [str(demo["pharma.durand"].code)]},
        format="json",
    ).json()
    response = client.post(
        f"/api/v1/conversations/{conversation['id']}/messages/",
        {"body": "Ci-jointe", "attachments": [SimpleUploadedFile("o.pdf", PDF)]},
        format="multipart",
    )
    assert response.status_code == 201, response.json()


# --- The mechanism covers every input serializer -------------------------------------------

APPS = ["directory", "liaison", "messaging", "protocols", "worker", "security"]


def body_readers() -> list[tuple[str, str]]:
    """(module, expression) of every `X(data=request.data)` in the API modules."""
    found = []
    for app in APPS:
        for path in Path(app).rglob("*apis.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and any(
                    keyword.arg == "data" and ast.unparse(keyword.value) == "request.data"
                    for keyword in node.keywords
                ):
                    found.append((str(path), ast.unparse(node.func)))  # noqa: PERF401
    return found


def input_serializers() -> list[type[serializers.Serializer]]:
    classes = []
    for app in APPS:
        for path in Path(app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            module = importlib.import_module(".".join(path.with_suffix("").parts))
            for _name, cls in inspect.getmembers(module, inspect.isclass):
                if (
                    issubclass(cls, serializers.Serializer)
                    and cls.__module__ == module.__name__
                    and cls.__name__.endswith("Input")
                ):
                    classes.append(cls)
    return classes


def test_the_api_reads_bodies_only_through_input_serializers() -> None:
    readers = body_readers()
    assert readers
    for path, expression in readers:
        name = expression.rsplit(".", 1)[-1]
        assert name.endswith(("Input", "InputSerializer")) or name == "input_class", (
            f"{path}: {expression}(data=request.data) is not an *Input serializer"
        )


def nested_serializers(serializer: serializers.Serializer) -> list[serializers.Serializer]:
    nested = []
    for field in serializer.fields.values():
        child = field.child if isinstance(field, serializers.ListSerializer) else field
        if isinstance(child, serializers.Serializer):
            nested += [child, *nested_serializers(child)]
    return nested


def test_every_input_serializer_is_strict_at_every_level() -> None:
    from directory.apis import TokenObtainApi

    classes = [*input_serializers(), TokenObtainApi.InputSerializer]
    assert len(classes) > 20
    for cls in classes:
        assert issubclass(cls, StrictSerializer), cls
        for nested in nested_serializers(cls()):
            assert isinstance(nested, StrictSerializer), f"{cls.__name__}: {type(nested)}"
