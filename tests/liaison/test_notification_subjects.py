"""A referral's notifications name the service it goes to and the day, never the patient
(issue #16); several referrals to one service fold into one line."""

from __future__ import annotations

import pytest
from django.utils.timezone import localdate

from liaison import events
from worker.models import Notification
from worker.selectors import notification_lines, notification_texts

pytestmark = pytest.mark.django_db


def test_a_referral_is_named_by_its_service_and_day(demo, make_referral) -> None:
    make_referral()
    received = Notification.objects.filter(
        event=events.REFERRAL_SENT, recipient=demo["hop.cardio"]
    ).select_related("actor")

    [text] = notification_texts(list(received), reader=demo["hop.cardio"])

    today = localdate().strftime("%d/%m/%Y")
    assert text.endswith(f"— Fiche de liaison pour Cardiologie du {today}")
    assert "Lefèvre" not in text
    assert "Moreau" not in text


def test_referrals_to_one_service_fold_into_one_line(demo, make_referral) -> None:
    make_referral(), make_referral()
    received = Notification.objects.filter(
        event=events.REFERRAL_SENT, recipient=demo["hop.cardio"]
    ).order_by("-created_at", "-pk")

    [line] = notification_lines(list(received), reader=demo["hop.cardio"])

    assert (line.count, line.text) == (2, "2 fiches de liaison pour Cardiologie")
