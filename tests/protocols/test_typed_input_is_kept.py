"""Nothing typed is lost on the protocol and guide pages.

A form error brings the page back with every field as it was typed and names what is wrong;
a double click or a retried request never makes a second protocol.
"""

from __future__ import annotations

import re
from datetime import time

import pytest
from django.test import Client

from protocols.guide import selectors as guide_selectors
from protocols.models import Protocol
from tests.protocols.conftest import content, first_version

pytestmark = pytest.mark.django_db


def web(member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


def input_value(page: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', page)
    return match.group(1) if match else None


# --- the guide entry --------------------------------------------------------------------------


def test_a_bad_office_hours_row_keeps_every_change_and_names_the_row(demo, themes) -> None:
    member = demo["as.moreau"]
    client = web(member)
    url = f"/guide/membres/{member.code}/"
    response = client.post(
        url,
        {
            "themes": ["personnes-agees"],
            "note-personnes-agees": "Aide aux aidants",
            "hours-0-weekday": "1",
            "hours-0-starts_at": "09:00",
            "hours-0-ends_at": "12:00",
            "hours-0-location": "Mairie",
            # Row 2 left blank; row 3 ends before it starts.
            "hours-2-weekday": "3",
            "hours-2-starts_at": "14:00",
            "hours-2-ends_at": "11:00",
            "hours-2-location": "Centre social",
        },
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "Permanence n° 3" in page
    assert "La fin doit suivre le début" in page
    assert "Permanence n° 1 :" not in page
    assert input_value(page, "note-personnes-agees") == "Aide aux aidants"
    assert re.search(r'name="themes" value="personnes-agees" checked', page)
    assert input_value(page, "hours-0-location") == "Mairie"
    assert input_value(page, "hours-0-starts_at") == "09:00"
    assert input_value(page, "hours-2-location") == "Centre social"
    assert input_value(page, "hours-2-ends_at") == "11:00"
    # Nothing saved: the entry is all or nothing.
    links, hours = guide_selectors.member_guide(member)
    assert list(links) == []
    assert list(hours) == []


def test_the_entry_page_shows_saved_hours_in_its_inputs(demo, themes) -> None:
    member = demo["as.moreau"]
    client = web(member)
    url = f"/guide/membres/{member.code}/"
    client.post(
        url,
        {
            "hours-0-weekday": "4",
            "hours-0-starts_at": "08:30",
            "hours-0-ends_at": "10:00",
            "hours-0-location": "Mairie",
        },
    )
    page = client.get(url).content.decode()
    assert input_value(page, "hours-0-starts_at") == "08:30"
    assert input_value(page, "hours-0-location") == "Mairie"
    _links, hours = guide_selectors.member_guide(member)
    assert [(h.weekday, h.starts_at) for h in hours] == [(4, time(8, 30))]


# --- the protocol editor ----------------------------------------------------------------------


def test_submitting_without_a_reviewer_keeps_the_review_date(demo, make_protocol) -> None:
    protocol = make_protocol(review_date=None)
    version = first_version(protocol)
    url = f"/protocoles/{protocol.code}/versions/1/modifier/"
    posted = {key: value for key, value in content().items() if key != "review_date" and value}
    response = web(demo["coord"]).post(
        url,
        {**posted, "revision": str(version.revision), "review_date": "2027-03-01", "submit": "1"},
    )

    assert response.status_code in (400, 409)
    page = response.content.decode()
    assert input_value(page, "review_date") == "2027-03-01"
    # The draft kept it too, so the next submit does not fail on the date.
    version.refresh_from_db()
    assert version.review_date.isoformat() == "2027-03-01"


def test_a_new_protocol_with_an_error_keeps_its_review_date_and_creation_key(demo) -> None:
    client = web(demo["coord"])
    page = client.get("/protocoles/nouveau/").content.decode()
    key = input_value(page, "creation_key")
    assert key
    response = client.post(
        "/protocoles/nouveau/",
        {"title": "", "kind": "local", "review_date": "2027-03-01", "creation_key": key},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert input_value(page, "review_date") == "2027-03-01"
    assert input_value(page, "creation_key") == key


# --- one protocol per form ------------------------------------------------------------------


def test_a_double_click_on_create_makes_one_draft(demo) -> None:
    client = web(demo["coord"])
    key = input_value(client.get("/protocoles/nouveau/").content.decode(), "creation_key")
    form = {"title": "Plaies chroniques", "kind": "local", "creation_key": key}
    first = client.post("/protocoles/nouveau/", form)
    second = client.post("/protocoles/nouveau/", form)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Protocol.objects.filter(title="Plaies chroniques").count() == 1


def test_two_forms_opened_separately_make_two_drafts(demo) -> None:
    client = web(demo["coord"])
    for _ in range(2):
        key = input_value(client.get("/protocoles/nouveau/").content.decode(), "creation_key")
        client.post(
            "/protocoles/nouveau/", {"title": "Plaies", "kind": "local", "creation_key": key}
        )
    assert Protocol.objects.filter(title="Plaies").count() == 2


def test_the_api_replays_a_retried_creation(demo, client_for) -> None:
    api = client_for(demo["coord"])
    body = {"kind": "local", "title": "Dénutrition"}
    first = api.post("/api/v1/protocols/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/protocols/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201, first.json()
    assert "Idempotent-Replayed" not in first
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Protocol.objects.filter(title="Dénutrition").count() == 1


# --- actions with a CPTS-wide effect ask first ------------------------------------------------


def test_retiring_a_protocol_asks_for_confirmation_first(demo, published) -> None:
    version = published()
    protocol = version.protocol
    client = web(demo["coord"])
    url = f"/protocoles/{protocol.code}/versions/{version.number}/action/retire/"

    asked = client.post(url)
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "Retirer le protocole « " in page
    assert "Oui, retirer le protocole" in page
    protocol.refresh_from_db()
    assert protocol.status == Protocol.Status.PUBLISHED

    done = client.post(url, {"confirmed": "1"})
    assert done.status_code == 302
    protocol.refresh_from_db()
    assert protocol.status == Protocol.Status.RETIRED


def test_removing_a_participant_asks_for_confirmation_first(demo, published) -> None:
    from protocols.services import participation

    protocol = published().protocol
    registered, _created = participation.register_participant(
        actor=demo["ide.petit"],
        protocol=protocol,
        member=demo["ide.petit"],
        role="delegate",
        training_declared=True,
        training_details="Formation suivie",
    )
    client = web(demo["coord"])
    url = f"/protocoles/{protocol.code}/participants/"

    asked = client.post(url, {"end": str(registered.code)})
    assert asked.status_code == 200
    page = asked.content.decode()
    assert demo["ide.petit"].display_name in page
    assert f'name="end" value="{registered.code}"' in page
    registered.refresh_from_db()
    assert registered.ended_at is None

    client.post(url, {"end": str(registered.code), "confirmed": "1"})
    registered.refresh_from_db()
    assert registered.ended_at is not None
