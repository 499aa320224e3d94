"""Words a clinician reads without doubt: "Accuser réception" (not "Prendre en charge", which
says the patient is being treated), "Patient non venu", dd/mm/yyyy, "décembre 2026"."""

from __future__ import annotations

from datetime import date

import pytest
from django.template import Context, Template
from django.test import Client
from django.utils import translation

from liaison.models import LiaisonSheet
from liaison.outputs.indicators import Indicators, MonthRow, csv_lines, format_cell, month_name
from liaison.services import transitions
from worker.models import Notification
from worker.selectors import notification_text

pytestmark = pytest.mark.django_db


def test_acknowledging_receipt_is_said_so_everywhere(client: Client, demo, make_referral) -> None:
    sheet = make_referral()
    client.force_login(demo["hop.cardio"].user)
    before = client.get(f"/liaison/{sheet.code}/").content.decode()
    assert ">Accuser réception<" in before
    assert "rendre en charge" not in before
    transitions.transition_referral(actor=demo["hop.cardio"], sheet=sheet, action="receive")
    after = client.get(f"/liaison/{sheet.code}/").content.decode()
    assert "Accusé de réception → Réception accusée" in after  # the timeline
    assert "rise en charge" not in after
    told = Notification.objects.get(recipient=demo["dr.martin"], event="liaison.referral_received")
    assert "accusé réception de votre fiche de liaison" in notification_text(told)
    assert LiaisonSheet.Status.NO_SHOW.label == "Patient non venu"


def test_dates_read_dd_mm_yyyy_and_months_in_words() -> None:
    with translation.override("fr"):
        rendered = Template("{{ day }} {{ day|date }}").render(Context({"day": date(2026, 12, 7)}))
        assert rendered == "07/12/2026 07/12/2026"
        assert month_name("2026-12") == "décembre 2026"
        assert format_cell("month", "2026-12") == "décembre 2026"


def test_the_indicators_csv_keeps_sortable_months() -> None:
    row = MonthRow(**dict.fromkeys(MonthRow.__dataclass_fields__) | {"month": "2026-12"})
    table = Indicators(**dict.fromkeys(Indicators.__dataclass_fields__) | {"months": [row]})
    assert csv_lines(table)[1][0] == "2026-12"


def test_the_api_timeline_keeps_codes_and_adds_words(client_for, demo, make_referral) -> None:
    sheet = make_referral()
    transitions.transition_referral(actor=demo["hop.cardio"], sheet=sheet, action="receive")
    events = client_for(demo["dr.martin"]).get(f"/api/v1/liaison-sheets/{sheet.code}/events/")
    receipt = events.json()[-1]
    assert (receipt["action"], receipt["to_status"]) == ("receive", "received")
    assert (receipt["action_label"], receipt["to_status_label"]) == (
        "Accusé de réception",
        "Réception accusée",
    )


def test_accept_language_en_switches_the_liaison_pages_to_english(
    client: Client, demo, make_referral
) -> None:
    sheet = make_referral()
    client.force_login(demo["hop.cardio"].user)
    english = client.get(f"/liaison/{sheet.code}/", HTTP_ACCEPT_LANGUAGE="en")
    body = english.content.decode()
    assert '<html lang="en">' in body
    assert ">Acknowledge receipt<" in body
    assert "Receiving hospital service" not in body  # only in errors
    assert "Accuser réception" not in body
    french = client.get(f"/liaison/{sheet.code}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert ">Accuser réception<" in french


def test_errors_name_fields_in_english_too(client: Client, demo) -> None:
    client.force_login(demo["dr.martin"].user)
    response = client.post(
        "/liaison/nouvelle/", {"reason": "Dyspnée", "send": "1"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    body = response.content.decode()
    assert "Patient&#x27;s birth name: required to send." in body
    assert "Receiving hospital service: required to send." in body
