"""Starting conversations through the API, and every bad input it refuses with a clear 400."""

from __future__ import annotations

import uuid

import pytest

from directory.models import Organisation
from messaging.models import Conversation, Message, Participant
from security.models import AuditEntry
from tests.messaging.conftest import API, PATIENT

pytestmark = pytest.mark.django_db


def create(client, **body):
    return client.post(API, body, format="json")


def test_it_starts_a_conversation_with_a_first_message(client_for, gp, pharmacist) -> None:
    response = create(
        client_for(gp),
        subject="Traitement de sortie",
        participants=[str(pharmacist.code)],
        body="Le ramipril est-il arrêté ?",
        urgent=True,
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["subject"] == "Traitement de sortie"
    assert {p["member"]["id"] for p in data["participants"]} == {str(gp.code), str(pharmacist.code)}
    assert data["unread"] == 0  # the author's own message
    conversation = Conversation.objects.get(code=data["id"])
    message = Message.objects.get(conversation=conversation)
    assert message.body == "Le ramipril est-il arrêté ?"
    assert message.urgent
    assert AuditEntry.objects.filter(
        action="conversation.create", target_code=conversation.code
    ).exists()

    listed = client_for(pharmacist).get(API).json()
    assert listed["count"] == 1
    assert listed["results"][0]["unread"] == 1
    assert listed["results"][0]["urgent_unread"] == 1


def test_a_retried_creation_makes_one_conversation(client_for, gp, pharmacist) -> None:
    client = client_for(gp)
    body = {"subject": "Objet", "participants": [str(pharmacist.code)]}
    first = client.post(API, body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    again = client.post(API, body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert "Idempotent-Replayed" not in first
    assert again["Idempotent-Replayed"] == "true"
    assert Conversation.objects.count() == 1


def test_it_writes_to_a_shared_inbox(client_for, demo, gp) -> None:
    cardiologie = Organisation.objects.get(name="Cardiologie")
    response = create(
        client_for(gp),
        subject="Délai de rendez-vous",
        organisation_inbox=str(cardiologie.code),
        body="Quel délai ?",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["organisation_inbox"]["name"] == "Cardiologie"
    for username in ("hop.cardio", "hop.cardio2"):
        listed = client_for(demo[username]).get(API).json()
        assert [c["unread"] for c in listed["results"]] == [1], username
    assert client_for(demo["hop.urgences"]).get(API).json()["count"] == 0


def test_a_patient_conversation_is_kept_as_the_medical_record(client_for, gp, pharmacist) -> None:
    response = create(
        client_for(gp),
        subject="Mme Lefèvre : traitement",
        participants=[str(pharmacist.code)],
        patient=PATIENT,
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["subject"] == "Mme Lefèvre : traitement"
    assert data["patient"]["birth_family_name"] == "Lefèvre"
    assert data["retention_days"] == 20 * 365  # the legal floor of the medical record
    conversation = Conversation.objects.get(code=data["id"])
    assert conversation.subject == "Mme Lefèvre : traitement"
    assert conversation.ins_index


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "x"}, "participants"),  # nobody to write to
        ({"subject": "", "participants": ["{p}"]}, "subject"),
        (
            {"subject": "x", "participants": [str(uuid.UUID(int=7))]},
            "participants",
        ),  # unknown member
        ({"subject": "x", "participants": ["not-a-uuid"]}, "participants"),
        ({"subject": "x", "organisation_inbox": str(uuid.UUID(int=8))}, "organisation_inbox"),
        (
            {"subject": "x", "participants": ["{p}"], "liaison_sheet": str(uuid.UUID(int=9))},
            "liaison_sheet",
        ),
        (
            {"subject": "x", "participants": ["{p}"], "patient": {"birth_family_name": "Lefèvre"}},
            "patient.birth_date",
        ),
        (
            {
                "subject": "x",
                "participants": ["{p}"],
                "patient": {**PATIENT, "ins": "279035121518980"},
            },
            "patient.ins",
        ),
        (
            {"subject": "x", "participants": ["{p}"], "patient": PATIENT, "retention_days": 30},
            "retention_days",
        ),
        ({"subject": "x", "participants": ["{p}"], "body": "a" * 10_001}, "body"),
        ({"subject": "x", "participants": ["{p}"], "colour": "blue"}, "colour"),
    ],
)
def test_it_refuses_bad_input_with_a_clear_400(client_for, gp, pharmacist, body, field) -> None:
    body = {
        key: [pharmacist.code.hex if v == "{p}" else v for v in value]
        if isinstance(value, list)
        else value
        for key, value in body.items()
    }
    response = create(client_for(gp), **body)
    assert response.status_code == 400, response.json()
    errors = response.json()
    top = field.split(".")[0]
    assert field in errors or top in errors, errors
    assert not Conversation.objects.exists()


def test_an_organisation_without_members_is_no_inbox(client_for, gp) -> None:
    empty = Organisation.objects.get(name="Médecine interne")
    response = create(client_for(gp), subject="x", organisation_inbox=str(empty.code))
    assert response.status_code == 400
    assert "organisation_inbox" in response.json()


def test_a_conversation_about_a_sheet_needs_access_to_the_sheet(
    client_for, demo, gp, make_sheet
) -> None:
    sheet = make_sheet()
    outsider = client_for(demo["as.moreau"])
    refused = create(
        outsider, subject="x", participants=[str(gp.code)], liaison_sheet=str(sheet.code)
    )
    assert refused.status_code == 400
    assert "liaison_sheet" in refused.json()
    accepted = create(
        client_for(gp),
        subject="Suivi",
        participants=[str(demo["ide.petit"].code)],
        liaison_sheet=str(sheet.code),
    )
    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["liaison_sheet"] == str(sheet.code)
    assert accepted.json()["retention_days"] == 20 * 365
    assert Participant.objects.filter(conversation__code=accepted.json()["id"]).count() == 2
