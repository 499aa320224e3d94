"""GET/PUT /api/v1/notifications/preferences/: a channel per event type, and quiet hours."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time

import pytest
from rest_framework.test import APIClient

from directory.models import Member
from worker.models import NotificationPreference, NotificationSettings

pytestmark = pytest.mark.django_db
ClientFor = Callable[[Member], APIClient]
URL = "/api/v1/notifications/preferences/"


def test_it_lists_every_event_with_its_default(
    client_for: ClientFor, demo: dict[str, Member]
) -> None:
    body = client_for(demo["dr.martin"]).get(URL).json()

    events = {item["event"]: item for item in body["events"]}
    assert events["notifications.welcome"]["channel"] == "in_app"
    assert events["notifications.test"] == {
        "event": "notifications.test",
        "description": "Notification de test (bouton de cette page)",
        "area": "notifications",
        "area_label": "Événements de l'application",
        "channel": "email",
        "default_channel": "email",
    }
    assert body["quiet_hours_start"] is None


def test_it_replaces_the_preferences(client_for: ClientFor, demo: dict[str, Member]) -> None:
    client = client_for(demo["dr.martin"])
    body = {
        "events": [
            {"event": "notifications.test", "channel": "digest"},
            {"event": "notifications.welcome", "channel": "in_app"},  # the default: not stored
        ],
        "quiet_hours_start": "20:00",
        "quiet_hours_end": "07:30",
    }

    response = client.put(URL, body, format="json")

    assert response.status_code == 200
    events = {item["event"]: item["channel"] for item in response.json()["events"]}
    assert events["notifications.test"] == "digest"
    assert response.json()["quiet_hours_start"] == "20:00"
    assert list(
        NotificationPreference.objects.filter(member=demo["dr.martin"]).values_list(
            "event", "channel"
        )
    ) == [("notifications.test", "digest")]
    settings = NotificationSettings.objects.get(member=demo["dr.martin"])
    assert (settings.quiet_hours_start, settings.quiet_hours_end) == (time(20), time(7, 30))

    # Left out, an event goes back to its default; quiet hours can be removed.
    response = client.put(
        URL, {"events": [], "quiet_hours_start": None, "quiet_hours_end": None}, format="json"
    )
    assert response.status_code == 200
    assert not NotificationPreference.objects.filter(member=demo["dr.martin"]).exists()
    assert response.json()["quiet_hours_end"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": [{"event": "nobody.knows", "channel": "email"}]}, "events"),
        ({"events": [{"event": "notifications.test", "channel": "pigeon"}]}, "events"),
        (
            {"events": [{"event": "notifications.test", "channel": "email"}] * 2},
            "events",
        ),
        ({"events": [], "quiet_hours_start": "20:00", "quiet_hours_end": None}, "quiet_hours"),
        ({"events": [], "quiet_hours_start": "20:00", "quiet_hours_end": "20:00"}, "quiet_hours"),
        (
            {"events": [], "quiet_hours_start": "25:00", "quiet_hours_end": None},
            "quiet_hours_start",
        ),
    ],
)
def test_it_refuses_invalid_preferences(
    client_for: ClientFor, demo: dict[str, Member], body: dict[str, object], field: str
) -> None:
    body = {"quiet_hours_start": None, "quiet_hours_end": None, **body}
    response = client_for(demo["dr.martin"]).put(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not NotificationPreference.objects.exists()


def test_preferences_are_per_member(client_for: ClientFor, demo: dict[str, Member]) -> None:
    NotificationPreference.objects.create(
        member=demo["ide.petit"], event="notifications.test", channel="in_app"
    )
    body = client_for(demo["dr.martin"]).get(URL).json()
    assert {item["event"]: item["channel"] for item in body["events"]}[
        "notifications.test"
    ] == "email"
