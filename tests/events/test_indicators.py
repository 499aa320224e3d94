"""The agenda's indicators: what counts as a health-social meeting, the CSV, the query count."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import time_machine
from django.test import Client
from django.utils.timezone import localdate

from events.indicators import event_indicators
from events.models import Event

pytestmark = pytest.mark.django_db


def test_the_demo_past_events_are_counted(full_demo) -> None:
    meeting = Event.objects.get(title__startswith="Rencontre médecins")
    training = Event.objects.get(title__startswith="Formation")
    month = meeting.starts_at.date().replace(day=1)
    indicators = event_indicators(month, training.starts_at.date())
    total = indicators.total
    # The meeting (GPs, nurse and a social worker) counts; the training had no social actor.
    assert total.health_social_meetings >= 1
    assert total.attended >= 7
    assert indicators.survey_answers >= 6
    assert all(score.mean is not None for score in indicators.satisfaction)


def test_the_csv_and_a_fixed_number_of_queries(full_demo, django_assert_num_queries) -> None:
    client = Client()
    client.force_login(full_demo["coord"].user)
    today = localdate()
    period = {"from": today.replace(year=today.year - 1).isoformat(), "to": today.isoformat()}
    with django_assert_num_queries(5):
        event_indicators(date.fromisoformat(period["from"]), today)
    response = client.get("/indicateurs/agenda.csv", period)
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Mois", "Événements", "Rencontres santé-social"]


def test_only_the_coordination_sees_the_csv(full_demo) -> None:
    client = Client()
    with time_machine.travel("2030-01-01T10:00:00+01:00", tick=True):
        client.force_login(full_demo["dr.martin"].user)
        assert client.get("/indicateurs/agenda.csv").status_code == 404
