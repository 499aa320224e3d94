"""Preferences grouped by area, with sensible defaults and "appliquer à tout le groupe"
(issue #16): urgent by e-mail at once, the rest in the daily digest."""

from __future__ import annotations

import pytest
from django.test import Client

from directory.models import Member
from worker.events import get_event
from worker.models import NotificationPreference
from worker.selectors import channel_for, notification_preferences_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def martin(client: Client, demo: dict[str, Member]) -> Client:
    client.force_login(demo["dr.martin"].user)
    return client


def test_urgent_events_are_e_mailed_at_once_and_the_rest_waits_for_the_digest() -> None:
    urgent = [
        "liaison.referral_sent",
        "liaison.referral_declined",
        "liaison.referral_escalated",
        "messaging.urgent_message_received",
    ]
    routine = [
        "liaison.discharge_sent",
        "liaison.note_added",
        "protocols.version_published",
        "protocols.acknowledgement_reminder",
    ]
    assert {get_event(name).default_channel for name in urgent} == {"email"}
    assert {get_event(name).default_channel for name in routine} == {"digest"}


def test_the_events_are_grouped_by_area_in_a_fixed_order(demo: dict[str, Member]) -> None:
    areas = notification_preferences_of(demo["dr.martin"]).areas

    assert [str(group.area.label) for group in areas] == [
        "Liaison ville-hôpital",
        "Messagerie",
        "Protocoles",
        "Agenda de la CPTS",
        "Événements de l'application",
    ]
    assert all(
        p.event.name.startswith(group.area.prefix + ".") for group in areas for p in group.events
    )


def test_the_page_shows_the_groups_and_their_apply_buttons(martin: Client) -> None:
    body = martin.get("/notifications/preferences/").content.decode()

    for label in ("Liaison ville-hôpital", "Messagerie", "Protocoles", "Agenda de la CPTS"):
        assert f"<h3>{label}</h3>" in body
    assert body.count('name="apply_area"') == 5
    assert "Appliquer à tout le groupe" in body


def test_applying_a_channel_to_a_group_sets_every_event_of_it(
    martin: Client, demo: dict[str, Member]
) -> None:
    page = martin.get("/notifications/preferences/").context["form"]
    shown = dict(page.current)
    shown["messaging.message_received"] = "email"  # another area's change, kept

    response = martin.post(
        "/notifications/preferences/",
        {
            **{f"event__{name}": channel for name, channel in shown.items()},
            "area__protocols": "in_app",
            "apply_area": "protocols",
        },
        follow=True,
    )

    assert "s&#x27;applique maintenant à tout le groupe" in response.content.decode()
    member = demo["dr.martin"]
    protocol_events = [name for name in shown if name.startswith("protocols.")]
    assert {channel_for(member, name) for name in protocol_events} == {"in_app"}
    assert channel_for(member, "messaging.message_received") == "email"
    assert channel_for(member, "liaison.referral_sent") == "email"  # untouched default
    assert not NotificationPreference.objects.filter(
        member=member, event="liaison.referral_sent"
    ).exists()


def test_applying_a_group_without_a_channel_says_so_and_saves_nothing(
    martin: Client, demo: dict[str, Member]
) -> None:
    response = martin.post(
        "/notifications/preferences/", {"area__liaison": "", "apply_area": "liaison"}
    )

    assert response.status_code == 200
    assert "Choisissez le canal à appliquer à tout le groupe." in response.content.decode()
    assert not NotificationPreference.objects.filter(member=demo["dr.martin"]).exists()
