"""Destructive actions on a referral are confirmed first, and decline and cancel say why.

Without JavaScript the button leads to a confirmation page (GET shows it, POST does it);
static/js/confirm.js shows the same form in a <dialog> (tests/browser)."""

from __future__ import annotations

import pytest
from django.test import Client

from liaison.models import LiaisonSheet, SheetEvent

pytestmark = pytest.mark.django_db
API = "/api/v1/liaison-sheets/"


def page_of(client: Client, member, url: str) -> str:
    client.force_login(member.user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("who", "action", "title", "status"),
    [
        ("dr.martin", "cancel", "Annuler la demande ?", "sent"),
        ("hop.cardio", "decline", "Refuser la demande ?", "sent"),
        ("hop.cardio", "no_show", "Déclarer le patient non venu ?", "accepted"),
    ],
)
def test_the_button_leads_to_a_confirmation_that_changes_nothing(
    client: Client, demo, make_referral, who, action, title, status
) -> None:
    sheet = make_referral()
    LiaisonSheet.objects.filter(pk=sheet.pk).update(status=status)
    url = f"/liaison/{sheet.code}/action/{action}/"
    detail = page_of(client, demo[who], f"/liaison/{sheet.code}/")
    assert f'href="{url}" data-confirm-page' in detail
    assert f'action="{url}"' not in detail  # no one-click form any more
    confirm = page_of(client, demo[who], url)
    assert title in confirm
    assert f'<form method="post" action="{url}" class="confirm-form">' in confirm
    assert f'href="/liaison/{sheet.code}/" data-confirm-back' in confirm
    sheet.refresh_from_db()
    assert sheet.status == status


def test_cancelling_asks_for_the_reason_and_shows_it_in_the_timeline(
    client: Client, demo, make_referral
) -> None:
    sheet = make_referral()
    client.force_login(demo["dr.martin"].user)
    url = f"/liaison/{sheet.code}/action/cancel/"
    missing = client.post(url, {"note": "  "})
    assert missing.status_code == 400
    page = missing.content.decode()
    assert "Indiquez le motif de l&#x27;annulation." in page
    assert 'id="confirm-note" name="note" value="  "' in page
    assert 'aria-invalid="true" aria-describedby="confirm-note-error"' in page
    sheet.refresh_from_db()
    assert sheet.status == "sent"

    done = client.post(url, {"note": "Bilan fait en ville"})
    assert done.status_code == 302
    sheet.refresh_from_db()
    assert sheet.status == "cancelled"
    assert "Bilan fait en ville" in client.get(f"/liaison/{sheet.code}/").content.decode()
    client.force_login(demo["hop.cardio"].user)
    timeline = client.get(f"/liaison/{sheet.code}/").content.decode().split('id="timeline"')[1]
    assert "Bilan fait en ville" in timeline


def test_declining_needs_its_reason_too(client: Client, demo, make_referral) -> None:
    sheet = make_referral()
    client.force_login(demo["hop.cardio"].user)
    response = client.post(f"/liaison/{sheet.code}/action/decline/", {"note": ""})
    assert response.status_code == 400
    assert "Indiquez le motif du refus." in response.content.decode()
    assert not SheetEvent.objects.filter(sheet=sheet, action="decline").exists()


def test_the_api_refuses_a_cancel_without_reason_naming_the_field(
    client_for, demo, make_referral
) -> None:
    sheet = make_referral()
    response = client_for(demo["dr.martin"]).post(f"{API}{sheet.code}/cancel/", {}, format="json")
    assert response.status_code == 400
    # The API keeps the key and, as every liaison error, names the field in words.
    assert response.json() == {"note": ["Motif ou note : indiquez le motif de l'annulation."]}


def test_a_no_show_needs_no_reason(client: Client, demo, make_referral) -> None:
    sheet = make_referral()
    LiaisonSheet.objects.filter(pk=sheet.pk).update(status="accepted")
    client.force_login(demo["hop.cardio"].user)
    assert client.post(f"/liaison/{sheet.code}/action/no_show/").status_code == 302
    sheet.refresh_from_db()
    assert sheet.status == "no_show"


def test_others_see_no_confirmation_and_other_actions_have_no_page(
    client: Client, demo, make_referral
) -> None:
    sheet = make_referral()
    client.force_login(demo["pharma.durand"].user)
    assert client.get(f"/liaison/{sheet.code}/action/cancel/").status_code == 404
    client.force_login(demo["dr.martin"].user)
    assert client.get(f"/liaison/{sheet.code}/action/receive/").status_code == 405
