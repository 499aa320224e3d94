"""monthly_message_counts: the coordinator indicators' figure, in one aggregate query."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from directory.models import Organisation
from messaging.selectors import monthly_message_counts
from messaging.services import conversations
from tests.messaging.conftest import say

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def at(*args: int) -> time_machine.travel:
    return time_machine.travel(datetime(*args, tzinfo=PARIS), tick=False)


def test_it_counts_messages_per_month(demo, start, django_assert_num_queries) -> None:
    with at(2026, 1, 31, 23, 30):  # still January in Paris, already February in UTC
        conversation = start(body="janvier")
    with at(2026, 3, 2, 10):
        say(demo["pharma.durand"], conversation, "mars")
        say(demo["dr.martin"], conversation, "mars encore")
        conversations.add_participant(
            actor=demo["dr.martin"], conversation=conversation, member=demo["ide.petit"]
        )  # an event, not a message
    with at(2026, 5, 1, 9):
        say(demo["dr.martin"], conversation, "hors période")
    with django_assert_num_queries(1):
        counts = monthly_message_counts(date(2026, 1, 1), date(2026, 4, 30))
    assert counts == {"2026-01": 1, "2026-02": 0, "2026-03": 2, "2026-04": 0}


def test_it_counts_only_an_organisation_s_conversations(demo, start) -> None:
    pharmacy = Organisation.objects.get(name="Pharmacie de la Loire")
    cardiologie = Organisation.objects.get(name="Cardiologie")
    with at(2026, 6, 10, 10):
        start(body="à la pharmacie")  # dr.martin ↔ pharma.durand
        start(to=("ide.petit",), body="entre collègues")
        start(to=(), organisation_inbox=cardiologie, body="au secrétariat")
    assert monthly_message_counts(date(2026, 6, 1), date(2026, 6, 30)) == {"2026-06": 3}
    assert monthly_message_counts(date(2026, 6, 1), date(2026, 6, 30), pharmacy) == {"2026-06": 1}
    assert monthly_message_counts(date(2026, 6, 1), date(2026, 6, 30), cardiologie) == {
        "2026-06": 1
    }
    assert monthly_message_counts(date(2026, 6, 15), date(2026, 7, 1)) == {
        "2026-06": 0,
        "2026-07": 0,
    }
