"""Agenda fixtures: event bodies and a helper to create through the API."""

from __future__ import annotations

from typing import Any

from directory.models import Member, Organisation

API = "/api/v1/events/"


def event_body(**overrides: Any) -> dict[str, Any]:
    """A meeting next month at the MSP, as the coordinator writes it."""
    body: dict[str, Any] = {
        "kind": "meeting",
        "title": "Rencontre médecins – travailleurs sociaux",
        "theme": "Précarité et accès aux soins",
        "place": "MSP des Tilleuls, salle de réunion",
        "starts_at": "2027-03-10T18:00:00+01:00",
        "ends_at": "2027-03-10T20:00:00+01:00",
        "capacity": 20,
        "sectors": ["medical", "social"],
    }
    body.update(overrides)
    return body


def msp() -> Organisation:
    return Organisation.objects.get(kind=Organisation.Kind.MSP)


def create(client: Any, body: dict[str, Any], **headers: Any) -> dict[str, Any]:
    response = client.post(API, body, format="json", **headers)
    assert response.status_code == 201, response.json()
    return response.json()


def persona(demo: dict[str, Member], name: str) -> Member:
    return demo[name]
