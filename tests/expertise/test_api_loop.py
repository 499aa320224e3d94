"""The tele-expertise loop through the API, its errors (400/409/412), retries and access."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from liaison.models import ExpertiseRequest, SheetEvent
from security.models import AuditEntry
from tests.access import assert_hidden_from
from tests.expertise.conftest import API, PHOTO, request_body
from worker.models import Notification

pytestmark = pytest.mark.django_db


def create(client: Any, body: dict[str, Any], **headers: Any) -> Any:
    response = client.post(API, body, format="json", **headers)
    assert response.status_code == 201, response.json()
    return response


def sent_request(client_for: Any, gp: Any, service: Any, **overrides: Any) -> str:
    code = create(client_for(gp), request_body(service, **overrides)).json()["id"]
    response = client_for(gp).post(f"{API}{code}/send/")
    assert response.status_code == 200, response.json()
    return code


def test_the_whole_loop(client_for, demo, dermatologie, derm) -> None:
    """GP asks with a photo, dermatologist takes, asks for more, GP completes, dermatologist
    answers "no consultation needed", GP acknowledges."""
    gp = demo["dr.martin"]
    draft = create(client_for(gp), request_body(dermatologie), HTTP_IDEMPOTENCY_KEY="c-1")
    body = draft.json()
    code = body["id"]
    assert body["kind"] == "expertise"
    assert body["status"] == "draft"
    assert body["question"].startswith("Lésion pigmentée")
    photo = SimpleUploadedFile("lesion.png", PHOTO, content_type="image/png")
    attached = client_for(gp).post(
        f"/api/v1/liaison-sheets/{code}/attachments/", {"file": photo}, format="multipart"
    )
    assert attached.status_code == 201, attached.json()

    sent = client_for(gp).post(f"{API}{code}/send/", HTTP_IDEMPOTENCY_KEY="s-1")
    assert sent.status_code == 200, sent.json()
    expertise = sent.json()["expertise"]
    assert sent.json()["status"] == "sent"
    assert expertise["consent_by"]["id"] == str(gp.code)
    assert expertise["due_at"] is not None
    assert Notification.objects.filter(recipient=derm, event="liaison.expertise_sent").exists()

    inbox = client_for(derm).get(f"{API}?box=inbox").json()
    assert [row["id"] for row in inbox] == [code]

    taken = client_for(derm).post(f"{API}{code}/take/")
    assert taken.status_code == 200, taken.json()
    assert taken.json()["expertise"]["taken_by"]["id"] == str(derm.code)

    asked = client_for(derm).post(f"{API}{code}/ask-more/", {"note": "Taille de la lésion ?"})
    assert asked.json()["status"] == "more_info_requested"
    etag = asked["ETag"]

    completed = client_for(gp).post(
        f"{API}{code}/resend/",
        {"content": {"comment": "8 mm, bords irréguliers"}, "note": "Mesurée ce jour"},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert completed.status_code == 200, completed.json()
    assert completed.json()["status"] == "sent"
    assert completed.json()["comment"] == "8 mm, bords irréguliers"
    assert completed.json()["patient"]["birth_family_name"] == "Lefèvre"

    assert client_for(derm).post(f"{API}{code}/take/").json()["status"] == "taken"
    answered = client_for(derm).post(
        f"{API}{code}/answer/",
        {"opinion": "Naevus atypique bénin", "recommended_actions": "Surveillance à 6 mois",
         "consultation_needed": "not_needed"},
        format="json",
    )  # fmt: skip
    assert answered.status_code == 200, answered.json()
    answer = answered.json()["expertise"]["answer"]
    assert answer["consultation_needed"] is False
    assert answer["opinion"] == "Naevus atypique bénin"

    read = client_for(gp).get(f"{API}{code}/")
    assert read.json()["expertise"]["answer_read_at"] is not None
    closed = client_for(gp).post(f"{API}{code}/acknowledge/")
    assert closed.json()["status"] == "closed"

    events = list(SheetEvent.objects.filter(sheet__code=code).values_list("action", flat=True))
    assert events == ["send", "take", "ask_more", "resend", "take", "answer", "acknowledge"]
    assert AuditEntry.objects.filter(action="liaison_sheet.answer").count() == 1
    detail = ExpertiseRequest.objects.get(sheet__code=code)
    assert detail.patient_key
    assert detail.answered_by == derm
    assert detail.consultation == "not_needed"
    # The answer is stored encrypted: the opinion is not in the row's clear text.
    with connection.cursor() as cursor:
        cursor.execute("SELECT answer FROM liaison_expertiserequest WHERE id = %s", [detail.pk])
        assert "Naevus" not in str(cursor.fetchone()[0])


def test_creating_twice_with_one_key_gives_one_request(client_for, demo, dermatologie) -> None:
    gp = demo["dr.martin"]
    first = create(client_for(gp), request_body(dermatologie), HTTP_IDEMPOTENCY_KEY="k")
    again = client_for(gp).post(API, request_body(dermatologie), format="json",
                                HTTP_IDEMPOTENCY_KEY="k")  # fmt: skip
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"


def test_sending_without_consent_lists_what_is_missing(client_for, demo, dermatologie) -> None:
    gp = demo["dr.martin"]
    body = request_body(dermatologie, patient_consent=False, question="")
    code = create(client_for(gp), body).json()["id"]
    response = client_for(gp).post(f"{API}{code}/send/")
    assert response.status_code == 400
    fields = response.json()["fields"] if "fields" in response.json() else response.json()
    assert {"patient_consent", "question"} <= set(fields)


def test_a_forbidden_transition_is_a_409(client_for, demo, dermatologie, derm) -> None:
    gp = demo["dr.martin"]
    code = sent_request(client_for, gp, dermatologie)
    # Answering before taking, acknowledging before any answer.
    response = client_for(derm).post(
        f"{API}{code}/answer/", {"opinion": "x", "consultation_needed": "routine"}, format="json"
    )
    assert response.status_code == 409, response.json()
    assert client_for(gp).post(f"{API}{code}/acknowledge/").status_code == 409


def test_a_colleague_cannot_take_it_twice(client_for, demo, dermatologie, derm, derm2) -> None:
    code = sent_request(client_for, demo["dr.martin"], dermatologie)
    assert client_for(derm).post(f"{API}{code}/take/").status_code == 200
    again = client_for(derm2).post(f"{API}{code}/take/")
    assert again.status_code == 409


def test_the_requester_cannot_take_and_the_expert_cannot_resend(
    client_for, demo, dermatologie, derm
) -> None:
    gp = demo["dr.martin"]
    code = sent_request(client_for, gp, dermatologie)
    assert client_for(gp).post(f"{API}{code}/take/").status_code == 403
    assert client_for(derm).post(f"{API}{code}/cancel/", {"note": "x"}).status_code == 403


def test_missing_answer_fields_are_a_400(client_for, demo, dermatologie, derm) -> None:
    code = sent_request(client_for, demo["dr.martin"], dermatologie)
    client_for(derm).post(f"{API}{code}/take/")
    response = client_for(derm).post(f"{API}{code}/answer/", {}, format="json")
    assert response.status_code == 400
    assert {"opinion", "consultation_needed"} <= set(str(response.json()).split("'"))
    assert client_for(derm).post(f"{API}{code}/ask-more/", {}).status_code == 400


def test_a_stale_resend_is_a_412(client_for, demo, dermatologie, derm) -> None:
    gp = demo["dr.martin"]
    code = sent_request(client_for, gp, dermatologie)
    client_for(derm).post(f"{API}{code}/take/")
    client_for(derm).post(f"{API}{code}/ask-more/", {"note": "Photo floue"})
    response = client_for(gp).post(f"{API}{code}/resend/", {}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert client_for(gp).post(f"{API}{code}/resend/", {}, format="json").status_code == 428


def test_decline_with_a_suggested_service(client_for, demo, dermatologie, derm) -> None:
    gp = demo["dr.martin"]
    code = sent_request(client_for, gp, dermatologie)
    cardio = demo["hop.cardio"].memberships.first().organisation
    assert client_for(derm).post(f"{API}{code}/decline/", {}).status_code == 400
    response = client_for(derm).post(
        f"{API}{code}/decline/", {"note": "Hors spécialité", "suggested_organisation":
                                  str(cardio.code)}, format="json")  # fmt: skip
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "declined"
    assert response.json()["expertise"]["suggested_organisation"]["name"] == "Cardiologie"


def test_the_requester_cancels(client_for, demo, dermatologie, derm) -> None:
    gp = demo["dr.martin"]
    code = sent_request(client_for, gp, dermatologie)
    response = client_for(gp).post(f"{API}{code}/cancel/", {"note": "Vue en consultation"})
    assert response.json()["status"] == "cancelled"


def test_a_referral_from_the_answer_in_one_click(client_for, demo, dermatologie, derm) -> None:
    gp = demo["dr.martin"]
    code = sent_request(client_for, gp, dermatologie)
    client_for(derm).post(f"{API}{code}/take/")
    client_for(derm).post(f"{API}{code}/answer/", {"opinion": "Exérèse à prévoir",
                          "consultation_needed": "soon"}, format="json")  # fmt: skip
    response = client_for(gp).post(f"{API}{code}/referral/")
    assert response.status_code == 201, response.json()
    referral = response.json()
    assert referral["kind"] == "referral"
    assert referral["status"] == "draft"
    assert "Exérèse à prévoir" in referral["reason"]
    assert client_for(gp).get(f"{API}{code}/").json()["expertise"]["referral"] == referral["id"]


ENDPOINTS = [
    ("get", ""), ("post", "send/"), ("post", "take/"), ("post", "ask-more/"),
    ("post", "resend/"), ("post", "answer/"), ("post", "decline/"), ("post", "cancel/"),
    ("post", "acknowledge/"), ("post", "referral/"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "suffix"), ENDPOINTS)
def test_every_endpoint_hides_the_request_from_outsiders(
    client_for, demo, dermatologie, derm, method, suffix
) -> None:
    code = sent_request(client_for, demo["dr.martin"], dermatologie)
    # dr.leroy and ide.petit work in the requester's MSP (its sheets are theirs to see);
    # dr.derm works in the expert service the request was sent to.
    inside = {"dr.martin", "dr.leroy", "ide.petit", "dr.derm"}
    outsiders = [member for login, member in demo.items() if login not in inside]
    assert len(outsiders) >= 7
    assert_hidden_from(client_for, method, f"{API}{code}/{suffix}", outsiders)


def test_the_context_is_prefilled_from_what_the_requester_wrote(
    client_for, demo, dermatologie, cardiologie
) -> None:
    """History, treatments and allergies of the GP's referral about the same patient."""
    from tests.liaison.conftest import referral_body

    gp = demo["dr.martin"]
    referral = client_for(gp).post(
        "/api/v1/liaison-sheets/", referral_body(cardiologie, []), format="json"
    )
    assert referral.status_code == 201
    body = request_body(dermatologie)
    del body["medical_history"]
    created = create(client_for(gp), body).json()
    assert created["medical_history"] == "HTA, diabète de type 2"
    assert [line["name"] for line in created["medications"]] == ["Furosémide", "Ramipril"]
    assert created["allergies"][0]["substance"] == "Pénicilline"


def test_the_expert_worklist_is_ordered_by_urgency_then_due_date(
    client_for, demo, dermatologie, derm
) -> None:
    gp = demo["dr.martin"]
    routine = sent_request(client_for, gp, dermatologie, urgency="routine")
    urgent = sent_request(client_for, gp, dermatologie, urgency="urgent")
    later_urgent = sent_request(client_for, gp, dermatologie, urgency="urgent")
    rows = client_for(derm).get(f"{API}?box=inbox").json()
    assert [row["id"] for row in rows] == [urgent, later_urgent, routine]
    mine = client_for(gp).get(f"{API}?box=outbox").json()
    assert {row["id"] for row in mine} == {routine, urgent, later_urgent}
    assert client_for(derm).get(f"{API}?box=outbox").json() == []
