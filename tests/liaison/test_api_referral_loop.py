"""The closed loop through the API: draft, send, receive, accept, discharge, read."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction

from liaison.models import LiaisonSheet, SheetEvent, SheetParticipant
from security.models import AuditEntry
from tests.liaison.conftest import TEST_INS, discharge_content, referral_body
from worker.models import Notification

pytestmark = pytest.mark.django_db
API = "/api/v1/liaison-sheets/"


@pytest.fixture
def gp_client(client_for, demo):
    return client_for(demo["dr.martin"])


def create(client, body):
    response = client.post(API, body, format="json")
    assert response.status_code == 201, response.json()
    return response


def test_it_runs_the_whole_loop(client_for, demo, cardiologie) -> None:
    gp, nurse, cardio = demo["dr.martin"], demo["ide.petit"], demo["hop.cardio"]
    draft = create(client_for(gp), referral_body(cardiologie, [nurse]))
    code, etag = draft.json()["id"], draft["ETag"]
    assert draft.json()["status"] == "draft"
    assert etag == '"1"'

    sent = client_for(gp).post(f"{API}{code}/send/", HTTP_IDEMPOTENCY_KEY="k-1")
    assert sent.status_code == 200, sent.json()
    assert sent.json()["status"] == "sent"
    assert Notification.objects.filter(recipient=cardio, event="liaison.referral_sent").exists()

    inbox = client_for(cardio).get(f"{API}?box=inbox").json()["results"]
    assert [row["id"] for row in inbox] == [code]
    assert inbox[0]["patient"]["birth_family_name"] == "Lefèvre"

    assert client_for(cardio).post(f"{API}{code}/receive/").json()["status"] == "received"
    accepted = client_for(cardio).post(f"{API}{code}/accept/", {"planned_date": "2026-11-02"})
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["planned_date"] == "2026-11-02"

    letter = client_for(cardio).post(f"{API}{code}/discharge/")
    assert letter.status_code == 201, letter.json()
    body = letter.json()
    assert body["kind"] == "discharge"
    assert body["referral"] == code
    assert body["patient"]["ins"] == TEST_INS
    assert set(body["recipients"]) == {str(gp.code), str(nurse.code)}
    assert [m["name"] for m in body["discharge_medications"]] == ["Furosémide", "Ramipril"]
    assert body["admission_date"] == "2026-11-02"

    edited = client_for(cardio).patch(
        f"{API}{body['id']}/", discharge_content(), format="json", HTTP_IF_MATCH=letter["ETag"]
    )
    assert edited.status_code == 200, edited.json()
    sent_letter = client_for(cardio).post(f"{API}{body['id']}/send/")
    assert sent_letter.status_code == 200, sent_letter.json()

    referral = LiaisonSheet.objects.get(code=code)
    assert referral.status == LiaisonSheet.Status.CLOSED
    assert Notification.objects.filter(recipient=nurse, event="liaison.discharge_sent").exists()

    nurse_view = client_for(nurse).get(f"{API}?box=inbox&kind=discharge").json()["results"]
    assert nurse_view[0]["unread"] is True
    client_for(nurse).post(f"{API}{body['id']}/read/")
    receipt = SheetParticipant.objects.get(sheet__code=body["id"], member=nurse)
    assert receipt.read_at is not None
    assert SheetParticipant.objects.get(sheet__code=body["id"], member=gp).read_at is None

    events = client_for(gp).get(f"{API}{code}/events/").json()
    assert [e["action"] for e in events] == ["send", "receive", "accept", "close"]
    assert AuditEntry.objects.filter(action="liaison_sheet.read", actor=nurse).exists()


def test_sending_without_required_sections_lists_every_missing_one(gp_client, cardiologie) -> None:
    draft = create(gp_client, {"kind": "referral", "patient": {"birth_family_name": "Durand"}})
    response = gp_client.post(f"{API}{draft.json()['id']}/send/")
    assert response.status_code == 400
    assert set(response.json()) == {
        "patient.given_names",
        "patient.birth_date",
        "patient.sex",
        "recipient_organisation",
        "urgency",
        "reason",
        "medications",
        "allergies",
    }
    assert LiaisonSheet.objects.get(code=draft.json()["id"]).status == "draft"


def test_none_known_is_an_answer_but_not_filled_is_not(gp_client, demo, cardiologie) -> None:
    body = referral_body(cardiologie, [], allergies=[], medications=[], medications_none=True)
    draft = create(gp_client, body).json()
    missing = gp_client.post(f"{API}{draft['id']}/send/").json()
    assert list(missing) == ["allergies"]
    patched = gp_client.patch(
        f"{API}{draft['id']}/", {"allergies_none_known": True}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert patched.status_code == 200
    assert gp_client.post(f"{API}{draft['id']}/send/").status_code == 200


def test_a_stale_edit_is_412_and_a_missing_if_match_is_428(gp_client, cardiologie) -> None:
    draft = create(gp_client, referral_body(cardiologie, []))
    url = f"{API}{draft.json()['id']}/"
    first = gp_client.patch(url, {"reason": "v2"}, format="json", HTTP_IF_MATCH='"1"')
    assert first.status_code == 200
    assert first["ETag"] == '"2"'
    stale = gp_client.patch(url, {"reason": "autre"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert gp_client.patch(url, {"reason": "x"}, format="json").status_code == 428
    assert LiaisonSheet.objects.get(code=draft.json()["id"]).content["reason"] == "v2"


def test_sending_twice_with_one_idempotency_key_sends_once(gp_client, demo, cardiologie) -> None:
    code = create(gp_client, referral_body(cardiologie, [])).json()["id"]
    first = gp_client.post(f"{API}{code}/send/", HTTP_IDEMPOTENCY_KEY="abc")
    again = gp_client.post(f"{API}{code}/send/", HTTP_IDEMPOTENCY_KEY="abc")
    assert (first.status_code, again.status_code) == (200, 200)
    assert "Idempotent-Replayed" not in first
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert SheetEvent.objects.filter(sheet__code=code, action="send").count() == 1
    assert (
        Notification.objects.filter(
            event="liaison.referral_sent", recipient=demo["hop.cardio"]
        ).count()
        == 1
    )
    other_key = gp_client.post(f"{API}{code}/send/", HTTP_IDEMPOTENCY_KEY="other")
    assert other_key.status_code == 409
    assert other_key.json()["status"] == "sent"


def test_creating_twice_with_one_idempotency_key_creates_once(gp_client, cardiologie) -> None:
    body = referral_body(cardiologie, [])
    first = gp_client.post(API, body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    again = gp_client.post(API, body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    assert first.json()["id"] == again.json()["id"]
    assert "Idempotent-Replayed" not in first
    assert again["Idempotent-Replayed"] == "true"
    assert LiaisonSheet.objects.count() == 1


def backends_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_send_retried_while_the_first_is_running_gets_the_first_answer(
    client_for, demo, make_referral
) -> None:
    """The client timed out and retried while its first send was still running.

    The first send is held in the middle of its transaction (after it moved the sheet, before
    it commits) by another transaction holding the rows it updates next, as a slow database
    would hold it. The retry must wait for it and answer what it answered.
    """
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: the retry can only come after the first commit")
    from tests.worker_process import wait_until

    gp, cardio = demo["dr.martin"], demo["hop.cardio"]
    draft = make_referral(send=False)
    rows_held, release_rows = threading.Event(), threading.Event()
    answers: dict[str, Any] = {}

    def hold_the_participant_rows() -> None:
        try:
            with transaction.atomic():
                list(SheetParticipant.objects.select_for_update().filter(sheet=draft))
                rows_held.set()
                assert release_rows.wait(timeout=30)
        finally:
            connection.close()

    def send(name: str) -> None:
        try:
            answers[name] = client_for(gp).post(
                f"{API}{draft.code}/send/", HTTP_IDEMPOTENCY_KEY="retry-me"
            )
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_participant_rows)
    holder.start()
    assert rows_held.wait(timeout=30)
    first = threading.Thread(target=send, args=("first",))
    first.start()  # moves the sheet, then waits for the participant rows
    assert wait_until(lambda: backends_waiting_on_a_lock() == 1, timeout=30)
    retry = threading.Thread(target=send, args=("retry",))
    retry.start()  # waits for the sheet row the first send holds
    assert wait_until(lambda: backends_waiting_on_a_lock() == 2, timeout=30)
    release_rows.set()
    for thread in (holder, first, retry):
        thread.join(timeout=30)

    assert answers["first"].status_code == 200, answers["first"].json()
    assert "Idempotent-Replayed" not in answers["first"]
    response = answers["retry"]
    assert response.status_code == 200, response.json()
    assert response["Idempotent-Replayed"] == "true"
    assert response.json() == answers["first"].json()
    assert SheetEvent.objects.filter(sheet=draft, action="send").count() == 1
    sent = Notification.objects.filter(event="liaison.referral_sent", recipient=cardio)
    assert sent.count() == 1


def test_a_key_reused_to_send_another_sheet_is_a_409(gp_client, make_referral) -> None:
    first, second = make_referral(send=False), make_referral(send=False)
    assert gp_client.post(f"{API}{first.code}/send/", HTTP_IDEMPOTENCY_KEY="k").status_code == 200

    reused = gp_client.post(f"{API}{second.code}/send/", HTTP_IDEMPOTENCY_KEY="k")

    assert reused.status_code == 409
    assert "clé d'idempotence" in reused.json()["detail"]
    assert LiaisonSheet.objects.get(pk=second.pk).status == LiaisonSheet.Status.DRAFT


def test_patient_search_goes_through_the_blind_index(client_for, demo, make_referral) -> None:
    make_referral()
    make_referral(
        patient={
            "birth_family_name": "Martin",
            "given_names": "Jean",
            "birth_date": "1950-01-01",
            "sex": "M",
        }
    )
    cardio = client_for(demo["hop.cardio"])
    by_ins = cardio.get(f"{API}?ins={TEST_INS}").json()["results"]
    by_name = cardio.get(f"{API}?family_name=LEFEVRE&birth_date=1979-03-15").json()["results"]
    by_used = cardio.get(f"{API}?family_name=moreau&birth_date=1979-03-15").json()["results"]
    wrong_date = cardio.get(f"{API}?family_name=Lefèvre&birth_date=1979-03-16").json()["results"]
    assert len(by_ins) == len(by_name) == len(by_used) == 1
    assert by_name[0]["patient"]["given_names"] == "Éloïse Marie"
    assert wrong_date == []
    assert cardio.get(f"{API}?family_name=Lefèvre").status_code == 400


@pytest.mark.parametrize(
    ("patient", "field"),
    [
        ({"identity_status": "VALI", "ins": TEST_INS}, "patient.ins"),
        ({"identity_status": "QUAL", "ins": "279035121518988"}, "patient.ins"),
        ({"sex": "X"}, "patient.sex"),
        ({"birth_date": "15/03/1979"}, "patient.birth_date"),
    ],
)
def test_it_validates_the_identity(gp_client, patient, field) -> None:
    response = gp_client.post(API, {"kind": "referral", "patient": patient}, format="json")
    assert response.status_code == 400
    assert field in response.json() or field.split(".")[1] in response.json().get("patient", {})


def test_it_refuses_keys_of_the_other_kind_and_non_hospital_recipients(gp_client, demo) -> None:
    wrong_key = gp_client.post(API, {"kind": "referral", "exit_mode": "home"}, format="json")
    assert wrong_key.status_code == 400
    assert "exit_mode" in wrong_key.json()
    pharmacy = demo["pharma.durand"].memberships.first().organisation
    wrong_recipient = gp_client.post(
        API, {"kind": "referral", "recipient_organisation": str(pharmacy.code)}, format="json"
    )
    assert wrong_recipient.status_code == 400
    assert "recipient_organisation" in wrong_recipient.json()


def test_discharge_lines_need_dose_and_duration_and_stops_a_reason(
    client_for, demo, make_referral
) -> None:
    referral = make_referral()
    cardio = client_for(demo["hop.cardio"])
    letter = cardio.post(f"{API}{referral.code}/discharge/").json()
    content = discharge_content(
        discharge_medications=[{"name": "Furosémide", "dose": "", "duration": ""}],
        stopped_medications=[{"name": "Ramipril"}],
    )
    cardio.patch(f"{API}{letter['id']}/", content, format="json", HTTP_IF_MATCH='"1"')
    response = cardio.post(f"{API}{letter['id']}/send/")
    assert response.status_code == 400
    assert set(response.json()) == {
        "discharge_medications[0].dose",
        "discharge_medications[0].duration",
        "stopped_medications[0].reason",
    }


def test_pending_results_make_the_letter_in_progress_until_a_new_version(
    client_for, demo, make_referral
) -> None:
    referral = make_referral()
    cardio = client_for(demo["hop.cardio"])
    letter = cardio.post(f"{API}{referral.code}/discharge/").json()
    cardio.patch(
        f"{API}{letter['id']}/",
        discharge_content(pending_results="Biopsie en cours"),
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    sent = cardio.post(f"{API}{letter['id']}/send/").json()
    assert sent["document_status"] == "in_progress"

    v2 = cardio.post(f"{API}{letter['id']}/revise/")
    assert v2.status_code == 201
    assert v2.json()["document_version"] == 2
    cardio.patch(
        f"{API}{v2.json()['id']}/",
        {
            "pending_results": "",
            "document_status": "final",
            "stay_summary": "Biopsie : pas de malignité.",
        },
        format="json",
        HTTP_IF_MATCH=v2["ETag"],
    )
    final = cardio.post(f"{API}{v2.json()['id']}/send/").json()
    assert final["document_status"] == "final"
    assert set(final["changes"]) >= {"pending_results", "stay_summary", "document_status"}
    gp_view = client_for(demo["dr.martin"]).get(f"{API}?box=inbox&kind=discharge").json()
    assert {row["document_version"] for row in gp_view["results"]} == {1, 2}
    assert cardio.post(f"{API}{letter['id']}/revise/").status_code == 409
