"""Finding a colleague by what one knows of them: a profession, a service, a name with or
without its accents, in the directory (page and API) and in the message composer."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def names(response) -> set[str]:
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return {row.get("name") or f"{row['given_name']} {row['family_name']}" for row in rows}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("infirmier", {"Julie Petit"}),
        ("Infirmière", {"Julie Petit"}),  # the feminine, with its accent
        ("INFIRMIERE", {"Julie Petit"}),
        ("cardiologie", {"Sophie Lambert", "Nadia Garnier"}),  # the service (and a specialty)
        ("CARDIO", {"Sophie Lambert", "Nadia Garnier"}),
        ("secrétaire cardiologie", {"Nadia Garnier"}),  # every word must match
        ("pharmacienne", {"Marc Durand"}),
        ("helene", {"Hélène Bernard"}),  # a name typed without its accents
        ("ÉLISE", {"Élise Fontaine"}),
        ("centre hospitalier gien urgences", {"Paul Rousseau"}),  # the service's hospital
    ],
)
def test_the_composer_finds_people_by_profession_service_or_name(
    client: Client, demo, query, expected
) -> None:
    client.force_login(demo["dr.martin"].user)
    response = client.get("/messagerie/destinataires/", {"q": query})
    assert names(response) == expected


def test_the_directory_api_searches_the_same_way(client_for, demo) -> None:
    client = client_for(demo["dr.martin"])
    found = client.get("/api/v1/members/", {"search": "infirmière"})
    assert names(found) == {"Julie Petit"}
    found = client.get("/api/v1/members/", {"search": "Cardiologie"})
    assert names(found) == {"Sophie Lambert", "Nadia Garnier"}
    found = client.get("/api/v1/organisations/", {"search": "medecine INTERNE"})
    assert [row["name"] for row in found.json()["results"]] == ["Médecine interne"]


def test_the_directory_page_searches_the_same_way(client: Client, demo) -> None:
    client.force_login(demo["dr.martin"].user)
    page = client.get("/annuaire/", {"q": "infirmiere"}).content.decode()
    assert "PETIT Julie" in page
    assert "MARTIN Claire" not in page
    page = client.get("/annuaire/", {"q": "cardiologie"}).content.decode()
    assert "LAMBERT Sophie" in page
    assert "GARNIER Nadia" in page
    assert "PETIT Julie" not in page
