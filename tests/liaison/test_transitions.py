"""The state machine: each forbidden transition is a 409 with the current state; each side
may only do its own actions."""

from __future__ import annotations

import pytest

from liaison.models import LiaisonSheet
from worker.models import Notification

pytestmark = pytest.mark.django_db
API = "/api/v1/liaison-sheets/"
SheetStatus = LiaisonSheet.Status


def act(client, sheet, action, body=None):
    return client.post(f"{API}{sheet.code}/{action.replace('_', '-')}/", body or {}, format="json")


def set_status(sheet: LiaisonSheet, status: str) -> LiaisonSheet:
    LiaisonSheet.objects.filter(pk=sheet.pk).update(status=status)
    sheet.refresh_from_db()
    return sheet


@pytest.mark.parametrize(
    ("status", "action", "who", "body"),
    [
        (SheetStatus.RECEIVED, "receive", "hop.cardio", {}),
        (SheetStatus.ACCEPTED, "receive", "hop.cardio", {}),
        (SheetStatus.ACCEPTED, "accept", "hop.cardio", {"planned_date": "2026-12-01"}),
        (SheetStatus.ACCEPTED, "decline", "hop.cardio", {"note": "non"}),
        (SheetStatus.ACCEPTED, "cancel", "dr.martin", {"note": "fait en ville"}),
        (SheetStatus.SENT, "no_show", "hop.cardio", {}),
        (SheetStatus.ACCEPTED, "reopen", "dr.martin", {"note": "à revoir"}),
        (SheetStatus.SENT, "close", "dr.martin", {}),
        (SheetStatus.CLOSED, "accept", "hop.cardio", {"planned_date": "2026-12-01"}),
        (SheetStatus.CANCELLED, "receive", "hop.cardio", {}),
        (SheetStatus.DECLINED, "cancel", "dr.martin", {"note": "fait en ville"}),
        (SheetStatus.CLOSED, "notes", "dr.martin", {"note": "trop tard"}),
        (SheetStatus.CLOSED, "discharge", "hop.cardio", {}),
    ],
)
def test_every_forbidden_transition_is_a_409(
    client_for, demo, make_referral, status, action, who, body
) -> None:
    sheet = set_status(make_referral(), status)
    response = act(client_for(demo[who]), sheet, action, body)
    assert response.status_code == 409, response.json()
    assert response.json()["status"] == status
    sheet.refresh_from_db()
    assert sheet.status == status


def test_sending_a_sent_sheet_is_a_409(client_for, demo, make_referral) -> None:
    response = act(client_for(demo["dr.martin"]), make_referral(), "send")
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("action", "who", "body"),
    [
        ("receive", "dr.martin", {}),
        ("accept", "dr.martin", {"planned_date": "2026-12-01"}),
        ("cancel", "hop.cardio", {}),
        ("discharge", "dr.martin", {}),
    ],
)
def test_each_side_does_only_its_own_actions(
    client_for, demo, make_referral, action, who, body
) -> None:
    response = act(client_for(demo[who]), make_referral(), action, body)
    assert response.status_code == 403


def test_accept_needs_a_date_and_decline_a_reason(client_for, demo, make_referral) -> None:
    sheet = make_referral()
    cardio = client_for(demo["hop.cardio"])
    assert "planned_date" in act(cardio, sheet, "accept").json()
    assert "note" in act(cardio, sheet, "decline").json()


def test_a_declined_referral_can_be_redirected(client_for, demo, make_referral, urgences) -> None:
    sheet = make_referral()
    response = act(
        client_for(demo["hop.cardio"]),
        sheet,
        "decline",
        {"note": "Relève de médecine interne", "redirect_to": str(urgences.code)},
    )
    assert response.json()["status"] == "declined"
    redirected = LiaisonSheet.objects.get(redirected_from=sheet)
    assert redirected.status == SheetStatus.SENT
    assert redirected.recipient_organisation == urgences
    assert redirected.patient == sheet.patient
    assert Notification.objects.filter(
        recipient=demo["hop.urgences"], event="liaison.referral_sent"
    ).exists()
    assert Notification.objects.filter(
        recipient=demo["dr.martin"], event="liaison.referral_declined"
    ).exists()


def test_no_show_then_reopen_or_close(client_for, demo, make_referral) -> None:
    cardio, gp = client_for(demo["hop.cardio"]), None
    sheet = make_referral()
    act(cardio, sheet, "accept", {"planned_date": "2026-11-20"})
    assert act(cardio, sheet, "no-show").json()["status"] == "no_show"
    gp = client_for(demo["dr.martin"])
    assert "note" in act(gp, sheet, "reopen").json()
    assert (
        act(gp, sheet, "reopen", {"note": "Nouveau rendez-vous demandé"}).json()["status"] == "sent"
    )
    cardio = client_for(demo["hop.cardio"])
    act(cardio, sheet, "accept", {"planned_date": "2026-11-27"})
    act(cardio, sheet, "no-show")
    gp = client_for(demo["dr.martin"])
    assert act(gp, sheet, "close").json()["status"] == "closed"


def test_the_sender_cancels_before_acceptance_and_the_service_is_told(
    client_for, demo, make_referral
) -> None:
    sheet = make_referral()
    gp = client_for(demo["dr.martin"])
    assert act(gp, sheet, "cancel", {"note": "Bilan fait en ville"}).json()["status"] == "cancelled"
    assert Notification.objects.filter(
        recipient=demo["hop.cardio2"], event="liaison.referral_cancelled"
    ).exists()


def test_notes_notify_the_other_side(client_for, demo, make_referral) -> None:
    sheet = make_referral()
    response = act(client_for(demo["hop.cardio"]), sheet, "notes", {"note": "Admis en USIC"})
    assert response.status_code == 201
    assert Notification.objects.filter(
        recipient=demo["dr.martin"], event="liaison.note_added"
    ).exists()
    assert act(client_for(demo["dr.martin"]), sheet, "notes", {"note": " "}).status_code == 400


def test_drafts_are_deleted_not_cancelled(client_for, demo, make_referral) -> None:
    draft = make_referral(send=False)
    gp = client_for(demo["dr.martin"])
    assert gp.delete(f"{API}{draft.code}/").status_code == 204
    assert not LiaisonSheet.objects.filter(pk=draft.pk).exists()
    sent = make_referral()
    assert gp.delete(f"{API}{sent.code}/").status_code == 409
